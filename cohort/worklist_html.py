"""``summary.html``: the worklist page a clinician acts on, rendered by Jinja2 (``cohort/templates/worklist.html.j2``).

One self-contained page (one inline ``<style>``, inline SVG charts, no script, nothing fetched; every value from the
export autoescaped), in this order (issue 30 §6):

1. **To act on**: the patients to act on, most urgent first (``cohort.actions``: stop, overdue first; start;
   consider; data missing), each with its display (``cohort.display``: never the FHIR id alone), the action in
   clinical words and the rule, the date that matters (overdue ones marked), the missing data, and a relative link to
   ``evidence/<id>.html`` when the run writes evidence pages (``evidence_href``). At most ``MAX_ROWS`` rows; the page
   says how many more are in ``worklist.csv``.
2. **Counts**: evaluated, on the worklist, with a card, not relevant, deceased (counts only: those patients are not
   listed), and the charts (patients with a card per recommendation and per population, stops due per month).
3. **What changed since the last run** (``cohort.since``), when there was one.
4. **Input**: the inventory (``cohort.inventory``: types, lines read and skipped and why, files, the manifest's error
   files), resources not evaluated, unreadable lines (the first ``MAX_BAD_LINES``).
5. **Run**: input, FHIR base and the export's ``transactionTime``, ``as_of``, settings that differ from the defaults,
   guideline and service versions, engine, duration, notes (e.g. no ``worklist.parquet``).

The file keeps its name, ``summary.html``: the command, the docs and sites' links already name it, and one page (not a
second ``worklist.html`` beside it) cannot disagree with itself. Its ``<section id="run">`` is the only part that
differs between engines and runs of the same export (duration, engine).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cohort.actions import ORDER, Action, actions
from cohort.bulk import BadLine
from cohort.evaluation import WorklistRow
from cohort.ids import is_fhir_id
from cohort.inventory import Inventory
from cohort.since import KINDS, Change
from guideline.calendar import add_calendar_months

TEMPLATE = "worklist.html.j2"
MAX_ROWS = 500
"""Rows to act on shown on the page (the rest are in ``worklist.csv``)."""
MAX_CHANGES = 500
"""Changes since the previous run shown on the page (all are in ``changes-since-previous.csv``)."""
MAX_BAD_LINES = 200
"""Unreadable lines listed on the page."""
EVIDENCE_DIR = "evidence"
"""Where ``commands.worklist_pages`` writes the evidence pages, relative to the output directory."""
CHIPS = {
    "stop": "attempt to stop IgRT",
    "start": "start IgRT",
    "consider": "consider IgRT",
    "data-missing": "data missing",
}
"""The action codes (``cohort.actions.ORDER``) as the page's tally says them."""
_ENVIRONMENT = Environment(
    loader=PackageLoader("cohort", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def evidence_href(patient_id: str) -> str | None:
    """Return ``evidence/<id>.html``, the page's path relative to the output directory; ``None`` for a non-FHIR id.

    The one definition of the file name: ``commands.worklist_pages`` writes the pages under it.
    """
    return f"{EVIDENCE_DIR}/{quote(patient_id, safe='')}.html" if is_fhir_id(patient_id) else None


@dataclass(frozen=True)
class RunDetails:
    """How the run was made, for the page's last section (plain text, escaped when shown).

    ``settings``: ``(name, default, this run's value)`` of each setting that differs from the defaults;
    ``compared``: the same for ``--compare-settings`` (this run's value, compared value); ``engine``: e.g.
    ``"local, 2 processes"``; ``seconds``: reading and evaluating, before the outputs were written.
    """

    input: str
    fhir_base: str
    transaction_time: str
    guideline_version: str
    service_version: str
    engine: str
    seconds: float
    display: str
    settings: tuple[tuple[str, str, str], ...] = ()
    compared: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = ()
    shown_by: str = "a pseudonym"
    """The header's short form of ``display``: ``"their <system> identifier (else a pseudonym)"`` or a pseudonym."""


@dataclass(frozen=True)
class Page:
    """Everything the page shows.

    ``rows``: every patient evaluated, in worklist order; ``previous_run``: whether there was one to compare with
    (``changes`` then lists what changed); ``changed``: patients a compare changed; ``parquet``: ``worklist.parquet``
    was written.
    """

    rows: Sequence[WorklistRow]
    counts: dict[str, int]
    as_of: date
    run: RunDetails
    bad_lines: Sequence[BadLine] = ()
    inventory: Inventory = field(default_factory=Inventory)
    without_patient: int = 0
    other_server: int = 0
    evidence_pages: bool = False
    previous_run: bool = False
    changes: Sequence[Change] = ()
    changed: int | None = None
    parquet: bool = False


def render(page: Page) -> str:
    """Return the page's HTML (see the module docstring)."""
    to_act = actions(list(page.rows), as_of=page.as_of)
    shown = [row for row in page.rows if row.patient_view_card]
    stop_due = Counter(row.stop_due.replace(day=1) for row in page.rows if row.stop_due is not None)
    months = [add_calendar_months(page.as_of.replace(day=1), n) for n in range(12)]
    overdue = sum(1 for row in page.rows if row.stop_due is not None and row.stop_due < page.as_of)
    per_action = Counter(a.code for a in to_act)
    return _ENVIRONMENT.get_template(TEMPLATE).render(
        page=page,
        as_of=page.as_of.isoformat(),
        groups=_groups(to_act[:MAX_ROWS]),
        acting=len(to_act),
        hidden=max(0, len(to_act) - MAX_ROWS),
        per_action=[(code, CHIPS[code], per_action.get(code, 0)) for code in ORDER],
        totals=per_action,
        overdue_actions=Counter(a.code for a in to_act if a.overdue),
        overdue=overdue,
        href=evidence_href if page.evidence_pages else _no_href,
        by_recommendation=_bars(sorted(Counter(r.recommendation for r in shown).items(), key=lambda kv: -kv[1])),
        by_population=_bars(
            sorted(Counter(f"population {r.population}" if r.population else "no population" for r in shown).items())
        ),
        per_month=_bars([(m.strftime("%Y-%m"), stop_due.get(m, 0)) for m in months]),
        changes=list(page.changes[:MAX_CHANGES]),
        changes_hidden=max(0, len(page.changes) - MAX_CHANGES),
        change_counts=[(words, sum(1 for c in page.changes if c.kind == kind)) for kind, words in KINDS.items()],
        bad_lines=[str(b) for b in page.bad_lines[:MAX_BAD_LINES]],
        bad_hidden=max(0, len(page.bad_lines) - MAX_BAD_LINES),
    )


def write_page(page: Page, path: Path) -> None:
    """Write ``render(page)`` to ``path`` (UTF-8)."""
    path.write_text(render(page), encoding="utf-8")


@dataclass(frozen=True)
class _Bar:
    label: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class _Chart:
    bars: tuple[_Bar, ...]
    height: int


def _bars(items: Sequence[tuple[str, int]]) -> _Chart | None:
    """A horizontal bar chart's geometry (drawn as inline SVG by the template); ``None`` when there is nothing."""
    if not items:
        return None
    top = max(count for _, count in items) or 1
    bars = tuple(
        _Bar(label, count, 4 + 22 * index, 0 if count == 0 else max(2, round(360 * count / top)))
        for index, (label, count) in enumerate(items)
    )
    return _Chart(bars, 22 * len(items) + 4)


def _groups(shown: Sequence[Action]) -> list[tuple[str, str, list[Action]]]:
    """The shown actions by action code, in ``ORDER``: ``(code, words, actions)``, empty groups left out."""
    grouped: dict[str, list[Action]] = {}
    for action in shown:
        grouped.setdefault(action.code, []).append(action)
    return [(code, grouped[code][0].words, grouped[code]) for code in ORDER if code in grouped]


def _no_href(patient_id: str) -> Any:
    return None
