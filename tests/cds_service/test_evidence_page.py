"""The evidence page (cds_service.evidence): self-contained, escaped, identifier-free, the card's decision, in Danish
and English, and a timeline whose parts follow the patient's data."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from cds_service.cards.actions import evidence_link
from cds_service.cards.i18n import translator
from cds_service.evidence import EvidenceContext, evidence_page, explain_request, words
from cds_service.evidence.story import IggUse, story
from cds_service.evidence.svg import assert_self_contained
from cds_service.http.app import load_settings
from cds_service.invocation import invoke
from cds_service.settings import Settings
from cds_service.wire.definitions import find
from cds_service.wire.requests import parse_hook_request
from decision import Decision
from guideline.parameters import describe
from tests import factories as f
from tests.cases import CASES, case_dir
from tests.golden_case import Case

AS_OF = date(2026, 11, 20)
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({"AUTH": "off"})


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _request(case: Case) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    return body


def _decide(body: dict[str, Any], service_id: str, settings: Settings, as_of: date = AS_OF) -> Decision:
    service = find(service_id)
    assert service is not None
    answer = invoke(service, parse_hook_request(body, hook=service.hook), settings, as_of=as_of)
    assert answer.decision is not None, answer.outcome
    return answer.decision


def _golden(name: str, settings: Settings) -> tuple[Decision, date]:
    case = _case(name)
    as_of = date.fromisoformat(case.as_of)
    return _decide(_request(case), case.service, settings, as_of), as_of


def _explain(name: str, settings: Settings, **options: Any) -> str:
    case = _case(name)
    service = find(case.service)
    assert service is not None
    request = parse_hook_request(_request(case), hook=service.hook)
    language = options.pop("language", "en")
    return explain_request(
        service, request, settings, as_of=date.fromisoformat(case.as_of), language=language, **options
    )


def svg_of(page: str) -> ET.Element:
    """The page's one inline SVG, parsed."""
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)
    assert len(found) == 1, f"{len(found)} <svg> elements"
    return ET.fromstring(found[0])


def svg_ids(page: str) -> set[str]:
    return {e.get("id") or "" for e in svg_of(page).iter()}


class _Text(HTMLParser):
    """Collects the text of chosen elements (h1, h2, ...) in document order."""

    def __init__(self, tags: set[str]) -> None:
        super().__init__()
        self.tags, self.open = tags, 0
        self.found: list[str] = []
        self._parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.tags:
            self.open += 1
            self._parts = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.tags and self.open:
            self.open -= 1
            self.found.append(" ".join("".join(self._parts).split()))

    def handle_data(self, data: str) -> None:
        if self.open:
            self._parts.append(data)


def texts(page: str, *tags: str) -> list[str]:
    parser = _Text(set(tags))
    parser.feed(page)
    return list(parser.found)


def test_page_is_one_self_contained_html5_document(settings: Settings) -> None:
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of, style_nonce="n0nce-123")
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert page.rstrip().endswith("</html>")
    # CSP default-src 'none'; style-src 'nonce-…': one nonce'd <style>, nothing fetched, nothing run.
    assert re.findall(r"<style[^>]*>", page) == ['<style nonce="n0nce-123">']
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "@font-face", "javascript:"):
        assert forbidden not in page.lower(), forbidden
    assert not re.search(r"\son\w+\s*=", page), "an event-handler attribute"
    assert not re.search(r"""\bsrc\s*=""", page)
    assert not re.search(r"url\((?!#)", page), "CSS or SVG url() to something outside the page"
    hrefs = [h for h in re.findall(r'\bhref="([^"]*)"', page) if not h.startswith("#")]  # in the SVG: its own
    assert hrefs and all(h == settings.guideline_url or h == settings.addendum_url for h in hrefs), hrefs
    assert "@page { size: A4" in page and "@media print" in page
    assert_self_contained(re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)[0])


def test_the_timeline_svg_is_accessible_and_inline(settings: Settings) -> None:
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    root = svg_of(page)
    assert root.get("role") == "img"
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG_NS}title", f"{SVG_NS}desc")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "IgRT timeline"
    assert desc.text is not None and desc.text.startswith("IgRT timeline from 2024-11-20 to ")
    assert "1 IgG result (1 result read by the decision)" in desc.text
    assert "1 CAR-T or bsAb start (T0)" in desc.text
    assert root.get("width") is None and root.get("viewBox")  # scales with the page
    assert root.find(f".//{SVG_NS}style") is None and root.find(f".//{SVG_NS}metadata") is None
    # Text stays text (svg.fonttype none): the labels are <text> elements a reader can select and translate.
    labels = {"".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")}
    assert {"today", "T0 CAR-T", "stop by", "2026-10"} <= labels


def test_pop2_window_timeline_parts(settings: Settings) -> None:
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    ids = svg_ids(evidence_page(decision, settings=settings, language="en", as_of=as_of))
    assert {"igg-points", "iga-points", "igm-points", "threshold-4", "threshold-6", "window", "t0", "t0-marker"} <= ids
    assert {"today", "stop-date", "igrt-order"} <= ids
    assert not ids & {"igg-not-used", "igrt-course", "infection", "reference-low", "no-data"}


@pytest.mark.parametrize(
    ("name", "present", "label"),
    [
        ("igg-not-own-after-icans-ivig", {"igg-not-used", "immunomodulation", "own-igg-from"}, "not own IgG"),
        ("preliminary-low-igg-insufficient-data", {"igg-not-used", "igg-earlier"}, "preliminary"),
        ("restart-low-igg-in-washout-start", {"igg-upper-bound"}, None),
        ("standard-on-igrt-stop-attempt", {"igrt-course", "stop-date", "stop-window"}, None),
        ("pop2-after-window-severe-infection-start", {"infection", "therapy", "igg-points"}, None),
        ("igg-samples-during-infection-insufficient-data", {"igg-during-infection", "infection"}, None),
    ],
)
def test_timeline_draws_what_the_data_implies(
    settings: Settings, name: str, present: set[str], label: str | None
) -> None:
    decision, as_of = _golden(name, settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of)
    assert present <= svg_ids(page)
    if label is not None:
        labels = {"".join(t.itertext()) for t in svg_of(page).iter(f"{SVG_NS}text")}
        assert label in labels


def test_not_used_igg_say_why(settings: Settings) -> None:
    decision, as_of = _golden("igg-not-own-after-icans-ivig", settings)
    drawn = story(decision, parameters=settings.parameters, as_of=as_of)
    igg = [p for p in drawn.labs if p.use is not None]
    # The IgG drawn 10 days after high-dose IVIG for ICANS is cited (to say it cannot decide): not "used".
    assert [p.use for p in igg] == [IggUse.NOT_OWN]


def test_age_related_reference_low_is_drawn_where_it_decided(settings: Settings) -> None:
    pid = "ev-reference-low"
    resources = [
        f.patient(pid, "1950-05-05"),
        f.condition(pid, "cll", "DC911", "Kronisk lymfatisk leukæmi af B-celle type", "2020-01-01"),
        f.condition(
            pid, "pn-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-07-01", encounter="a1"
        ),
        f.admission(pid, "a1", "2026-07-01", "2026-07-06", diagnosis="pn-1"),
        f.condition(
            pid, "pn-2", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-10-01", encounter="a2"
        ),
        f.admission(pid, "a2", "2026-10-01", "2026-10-05", diagnosis="pn-2"),
        f.lab(pid, "igg-1", "igg", 6.4, "2026-11-10", low=7.0),
    ]
    body = f.hook_request("patient-view", pid, resources, instance="33333333-3333-4333-8333-000000000001")
    decision = _decide(body, "sid-igrt-patient-view", settings)
    assert decision.finding is not None and decision.finding.recommendation == "consider"
    page = evidence_page(decision, settings=settings, language="en", as_of=AS_OF)
    assert {"reference-low", "infection", "igg-points"} <= svg_ids(page)
    assert "age-related reference low 7 g/L" in page


def test_ehr_text_is_escaped_and_no_identifier_is_shown(settings: Settings) -> None:
    pid = "ev-escape-0612489999"
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    resources = [
        f.patient(pid, "1958-04-02", family="Hansen<b>", given="Kirsten"),
        f.condition(pid, "dlbcl", "DC833", f"Lymfom {hostile}", "2025-11-03", category="problem-list-item"),
        f.administration(pid, "axicel", "L01XL03", f"Yescarta {hostile}", "2026-08-31"),
        f.lab(pid, "igg-1", "igg", 3.1, "2026-10-30"),
    ]
    body = f.hook_request("patient-view", pid, resources, instance="33333333-3333-4333-8333-000000000002")
    decision = _decide(body, "sid-igrt-patient-view", settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=AS_OF)
    assert "&lt;script&gt;" in page  # the EHR's text is shown, as text
    assert "<script" not in page and "<img" not in page and "onerror=" not in page.replace("onerror=alert", "")
    for identifier in (
        pid,
        "Hansen",
        "Kirsten",
        "0204589999",
        "Observation/",
        "Condition/",
        "MedicationAdministration/",
    ):
        assert identifier not in page, identifier
    assert "68 years" in page


def test_data_not_used_is_named_in_words(settings: Settings) -> None:
    decision, as_of = _golden("preliminary-low-igg-insufficient-data", settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of)
    section = page[page.index('id="h-not-used"') :]
    assert "<li>Lab result: IgG 3.8 g/L of " in section and "is preliminary" in section
    assert "Observation" not in section


def test_settings_are_in_words_with_their_values(settings: Settings) -> None:
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of)
    section = page[page.index('id="h-settings"') : page.index('id="h-source"')]
    assert f'{describe("igg_recent_max_age_days")}</td><td class="value">90<' in section
    assert "igg_recent_max_age_days" not in page  # no setting names
    assert ">yes<" in section  # booleans in words


def test_card_context_is_shown_and_a_different_decision_is_flagged(settings: Settings) -> None:
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    same = EvidenceContext(
        "sid-igrt-order-select", "c0ffee00-0000-4000-8000-000000000001", "start-pop2-window", "start"
    )
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of, card_context=same)
    assert "Opened from the card: recommendation start; rule start-pop2-window; service sid-igrt-order-select" in page
    assert "The card said" not in page
    # The card's own link names the same decision: the page reads it as the card wrote it.
    assert decision.finding is not None
    link = evidence_link(
        "https://cds.example.dk", service_id="sid-igrt-order-select", card="c-1", finding=decision.finding
    )
    read = EvidenceContext.from_app_context(link["appContext"])
    assert read == EvidenceContext("sid-igrt-order-select", "c-1", "start-pop2-window", "start")
    other = EvidenceContext(rule="stop-pop2-short-course", recommendation="stop<b>")
    page = evidence_page(decision, settings=settings, language="en", as_of=as_of, card_context=other)
    notice = texts(page, "p")
    assert any(
        t.startswith("The card said: stop<b> This page decides on the data as they are now: Start IgRT.")
        for t in notice
    )
    assert "stop&lt;b&gt;" in page and "stop<b>" not in page


def test_app_context_is_read_tolerantly() -> None:
    context = EvidenceContext("sid-igrt-patient-view", "u-1", "continue-standard", "continue")
    assert EvidenceContext.from_app_context(context.app_context()) == context
    # What the card's link writes (cds_service.cards.actions.evidence_link).
    link = '{"card":"u-1","recommendation":"continue","rule":"continue-standard","service":"sid-igrt-patient-view"}'
    assert context.app_context() == link and EvidenceContext.from_app_context(link) == context
    assert EvidenceContext.from_app_context({"rule": "x" * 500, "other": 1}) == EvidenceContext(rule="x" * 100)
    for junk in ("not json", "[1, 2]", "{}", b"\xff", None, 42, {"rule": 7}):
        assert EvidenceContext.from_app_context(junk) is None


def test_danish_page_has_no_english_headings(settings: Settings) -> None:
    """Every heading, the decision line, the timeline's title and its lane labels are translated (catalog: da)."""
    decision, as_of = _golden("pop2-window-igg-below-4-start", settings)
    english = evidence_page(decision, settings=settings, language="en", as_of=as_of)
    danish = evidence_page(decision, settings=settings, language="da", as_of=as_of)
    assert danish.startswith('<!doctype html>\n<html lang="da">')
    pairs = list(zip(texts(english, "h1", "h2", "title"), texts(danish, "h1", "h2", "title"), strict=True))
    assert len(pairs) >= 9
    for en, da in pairs:
        assert en != da, f"untranslated heading {en!r}"
    lanes = [translator("da")(m) for m in (words.LANE_IMMUNOGLOBULIN, words.LANE_INFECTIONS, words.TODAY)]
    danish_labels = {"".join(t.itertext()) for t in svg_of(danish).iter(f"{SVG_NS}text")}
    assert set(lanes) <= danish_labels and "today" not in danish_labels and "Infections" not in danish_labels
    assert "3,1 g/L" in danish  # Danish numbers


def test_no_decision_pages_say_why(settings: Settings) -> None:
    # An order hook without an immunoglobulin order (and without prefetch): no decision and nothing to draw.
    page = _explain("unrelated-order-quiet", settings)
    assert texts(page, "h1") == ["No decision on IgRT."]
    assert "The request holds no immunoglobulin order" in page and "no patient data to evaluate" in page
    assert "<svg" not in page
    # Only immunomodulatory orders: the patient-view evaluation of the same data, said so at the top.
    page = _explain("immunomodulation-icans-reason-no-card", settings)
    assert "Every immunoglobulin order in the request is for immunomodulation" in page
    assert {"window", "t0", "igg-points"} <= svg_ids(page)  # the record's story; the draft order is not IgRT


def test_a_quiet_decision_says_no_card_was_shown(settings: Settings) -> None:
    page = _explain("pop2-not-indicated-patient-view-quiet", settings)
    assert "No card was shown for this decision" in page
    assert texts(page, "h1") == ["Do not start IgRT on these data; consider targeted antibiotic prophylaxis."]


def test_rendering_is_deterministic_and_thread_safe(settings: Settings) -> None:
    cases = [
        _golden(name, settings)
        for name in ("pop2-window-igg-below-4-start", "standard-on-igrt-stop-attempt", "igg-not-own-after-icans-ivig")
    ]

    def render(index: int) -> str:
        decision, as_of = cases[index % len(cases)]
        return evidence_page(decision, settings=settings, language=("en", "da")[index % 2], as_of=as_of)

    alone = [render(i) for i in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(render, list(range(6)) * 3))
    assert together == alone * 3
