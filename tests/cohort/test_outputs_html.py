"""The worklist page (``summary.html``, ``cohort.worklist_html``): its sections in order, the rows to act on in urgency
order with the date that matters and overdue marks, evidence links only where a page is written, everything from the
export escaped, long tables cut with a pointer to the CSV."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from cohort import worklist_html
from cohort.actions import action_column, actions, key_date
from cohort.inventory import Inventory, TypeCount
from cohort.since import changes_since
from cohort.worklist_html import render
from tests.cohort.test_outputs_display import AS_OF, outline, page, row

DAY = timedelta(days=1)


def triage_rows() -> list:
    """One row of each kind, listed in an order that is not the page's."""
    return [
        row("cont", "continue", stop_due=AS_OF + 40 * DAY),
        row("miss", "insufficient-data", missing=("measure IgG, IgA and IgM",)),
        row("cons", "consider", next_follow_up=AS_OF + 10 * DAY),
        row("start-late", "start", window_end=AS_OF - 30 * DAY),  # after the window: no start-by date
        row("start-open", "start", window_end=AS_OF + 5 * DAY),
        row("start-soon", "start", window_end=AS_OF + 1 * DAY),
        row("stop-today", "stop", stop_due=AS_OF),
        row("stop-late", "stop", stop_due=AS_OF - 3 * DAY),
        row("stop-later", "stop", stop_due=AS_OF - 1 * DAY),
        row("start-quiet", "start", patient_view_card=False),
        row("indiv", "individual-assessment"),
        row("pause", "pause"),
        row("gone", "deceased", rule="no-recommendation-patient-deceased", display="DEAD-1"),
        row("unrel", "not-relevant", rule="", display="UNREL-1"),
    ]


def test_the_sections_come_in_the_issues_order() -> None:
    html = render(page(triage_rows()))
    parsed = outline(html)
    assert parsed.sections == ["act", "counts", "changes", "input", "run"]
    assert html.index('<section id="act">') < html.index("<table") < html.index("<svg")  # patients before plots


def test_the_rows_to_act_on_come_most_urgent_first() -> None:
    parsed = outline(render(page(triage_rows())))
    shown = [r["cells"][0] for r in parsed.rows]
    assert shown == [
        "MRN-stop-late",  # stop: the longest overdue first
        "MRN-stop-later",
        "MRN-stop-today",
        "MRN-start-soon",  # start: the window closing first
        "MRN-start-open",
        "MRN-start-late",  # no date: last of its group
        "MRN-cons",
        "MRN-miss",
    ]
    assert [action_column(r) for r in triage_rows()][:3] == ["", "4-data-missing", "3-consider"]


@pytest.mark.parametrize(
    ("recommendation", "dates", "expected"),
    [
        ("stop", {"stop_due": AS_OF - DAY}, (AS_OF - DAY, "stop due", 1)),
        ("stop", {"stop_due": AS_OF}, (AS_OF, "stop due", 0)),
        ("stop", {"stop_due": AS_OF + DAY}, (AS_OF + DAY, "stop due", 0)),
        ("start", {"window_end": AS_OF}, (AS_OF, "start by", 0)),
        ("start", {"window_end": AS_OF - DAY}, (None, "", 0)),
        ("start", {"window_end": AS_OF - DAY, "next_follow_up": AS_OF - 2 * DAY}, (AS_OF - 2 * DAY, "follow up", 2)),
        ("consider", {"next_follow_up": AS_OF + DAY, "window_end": AS_OF + DAY}, (AS_OF + DAY, "follow up", 0)),
        ("insufficient-data", {}, (None, "", 0)),
    ],
    ids=[
        "stop-overdue",
        "stop-due-today",
        "stop-tomorrow",
        "window-last-day",
        "window-closed",
        "follow-up-late",
        "consider-follow-up",
        "no-date",
    ],  # fmt: skip
)
def test_the_date_that_matters_and_overdue(recommendation: str, dates: dict, expected: tuple) -> None:
    [action] = actions([row("p", recommendation, **dates)], as_of=AS_OF)
    assert (action.due, action.date_label, action.days_overdue) == expected
    assert key_date(action.row, as_of=AS_OF) == expected[:2]


def test_overdue_rows_are_marked_and_others_not() -> None:
    parsed = outline(render(page(triage_rows())))
    marked = {r["cells"][0]: ("overdue" in r["classes"], r["cells"][2]) for r in parsed.rows}
    assert marked["MRN-stop-late"] == (True, "stop due 2026-11-17 overdue 3 d")
    assert marked["MRN-stop-today"] == (False, "stop due 2026-11-20")
    assert marked["MRN-start-soon"] == (False, "start by 2026-11-21")
    assert marked["MRN-start-late"] == (False, "no date")
    assert sum(overdue for overdue, _ in marked.values()) == 2


def test_patients_not_acted_on_are_counts_only() -> None:
    html = render(page(triage_rows()))
    for hidden in ("DEAD-1", "UNREL-1", "MRN-cont", "MRN-start-quiet", "MRN-indiv", "MRN-pause"):
        assert hidden not in html, hidden
    assert "<li>1 not relevant" in html and "<li>1 deceased" in html
    assert "To act on: 8 patients" in html


def test_everything_from_the_export_is_escaped() -> None:
    hostile = '<script>alert("x")</script>&amp;'
    rows = [
        row("p1", "stop", stop_due=AS_OF - DAY, display=hostile, rule="<b>rule</b>", missing=("<img src=x onerror=1>",))
    ]
    inventory = Inventory(
        types=(TypeCount("<svg onload=1>", lines=1, read=1),), manifest_errors=("<iframe>",), notes=("<x>",)
    )
    html = render(page(rows, inventory=inventory, evidence_pages=True))
    parsed = outline(html)
    assert set(parsed.tags) <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav", "a", "section", "ul",
        "li", "b", "table", "thead", "tbody", "tr", "th", "td", "span", "code", "svg", "text", "rect",
    }  # fmt: skip
    assert parsed.rows[0]["cells"][0] == hostile  # shown as text, exactly
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;amp;" in html
    assert "<img" not in html and "<iframe" not in html and "<svg onload" not in html


def test_evidence_links_only_where_a_page_is_written() -> None:
    rows = [row("fhir-id.1", "stop", stop_due=AS_OF), row("not a/fhir id", "start"), row("x" * 65, "consider")]
    with_pages = outline(render(page(rows, evidence_pages=True)))
    assert [r["links"] for r in with_pages.rows] == [["evidence/fhir-id.1.html"], [], []]
    assert [r["cells"][0] for r in with_pages.rows][1:] == [
        "MRN-not a/fhir id no evidence page",
        f"MRN-{'x' * 65} no evidence page",
    ]
    without = outline(render(page(rows)))
    assert all(not r["links"] for r in without.rows)
    assert not [link for link in without.links if not link.startswith("#")]  # nothing else linked or fetched


def test_a_long_list_is_cut_and_points_to_the_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worklist_html, "MAX_ROWS", 5)
    rows = [row(f"p{i:02d}", "start", window_end=AS_OF + i * DAY) for i in range(8)]
    html = render(page(rows))
    parsed = outline(html)
    assert [r["cells"][0] for r in parsed.rows] == [f"MRN-p{i:02d}" for i in range(5)]
    assert "To act on: 8 patients" in html and "Start IgRT: 5 shown of 8" in html
    assert re.search(r"the other 3 are in\s+<code>worklist.csv</code>", html)


def test_the_changes_section_follows_the_previous_run() -> None:
    rows = [row("p1", "stop", stop_due=AS_OF), row("p2", "start")]
    first = render(page(rows))
    assert "No previous run to compare with" in first
    previous = {"p1": replace(rows[0], recommendation="continue", rule="continue-standard"), "p2": rows[1]}
    later = render(page(rows, previous_run=True, changes=changes_since(previous, rows)))
    section = later[later.index('<section id="changes">') : later.index('<section id="input">')]
    assert "<b>1</b> stop now due" in section and "continue-standard -&gt; stop-rule" in section
    assert "MRN-p2" not in section
    same = render(page(rows, previous_run=True, changes=[]))
    assert "No patient's decision changed since the last run." in same


def test_the_input_and_run_sections() -> None:
    inventory = Inventory(
        types=(TypeCount("Observation", lines=10, read=4, skipped_prefilter=5), TypeCount("Claim", 3, 0, 3)),
        files=2,
        bytes_read=12345,
        manifest_outputs=2,
        manifest_errors=("OperationOutcome error.ndjson: 2 issues",),
    )
    html = render(page([row("p1")], inventory=inventory, without_patient=2, other_server=1))
    section = html[html.index('<section id="input">') : html.index('<section id="run">')]
    assert "13 lines, of which 8 were not parsed" in section and "12,345 bytes" in section
    assert '<td>Observation</td><td class="n">10</td><td class="n">4</td>' in section
    assert "OperationOutcome error.ndjson: 2 issues" in section
    assert "<li>2 name no patient" in section and "<li>1 name a patient on another server" in section
    run = html[html.index('<section id="run">') :]
    for fact in ("/exports/2026-11-20", "2026-11-19T23:00:00Z", "local, 2 processes", "1.2 s", "0.1.0", "urn:mrn"):
        assert fact in run, fact


def test_dates_in_the_page_are_iso() -> None:
    assert isinstance(AS_OF, date) and "as of 2026-11-20" in render(page([row("p1")]))
