"""The real CDS Hooks Sandbox, in headless Chromium, against ``cds-service serve`` and a local FHIR server.

What a tester sees: patient-view and an immunoglobulin order (injected as ``../shared/tools/cds-hooks-sandbox``'s
README says) render the decision card first, the whole card at most 700 pixels tall at the Sandbox's 724-pixel card
width (issue 28: one screen), its suggestions and links inside the 1600x1000 window without scrolling, with no
console error caused by us; Dismiss with an override reason and a suggestion click reach the feedback table. Screenshots
go to ``test-artifacts/sandbox/`` (kept by CI beside the test report).

Needs Debian's ``chromium``, PyPI ``playwright`` (never ``playwright install``) and ``../shared``. Plain
``make test`` skips with the reason when one is missing; ``.ci/run`` installs them and sets
``CDS_TEST_REQUIRE_SANDBOX=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from commands.upload import upload_fixtures
from storage import AuditStore, Database
from tests.cases import AS_OF, CASES, case_dir
from tests.conftest import REPORT
from tests.fhir_server import FhirStore, running_fhir_server, serving
from tests.live_server import LiveService, start, stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = ROOT.parent / "shared" / "tools" / "cds-hooks-sandbox" / "build"
ARTIFACTS = ROOT / "test-artifacts" / "sandbox"
VIEWPORT = {"width": 1600, "height": 1000}
MAX_CARD_HEIGHT = 700
"""The whole decision card, in pixels (issue 28)."""
HEIGHTS: dict[str, tuple[float, float]] = {}
"""Card height and the bottom of its last suggestion or link button, per case: all reported at the end."""
SANDBOX_NOISE = (
    "Could not retrieve any services at discovery endpoint",  # the Sandbox's built-in default discovery URL
    "styles.css",
    "favicon",
    "Failed to load resource: the server responded with a status of 404",
    # A SMART link (the evidence page) makes the Sandbox register a launch context at the FHIR server's HSPC
    # `_services/smart/Launch` API; a plain FHIR server (ours here, as most) has none, and the Sandbox says so.
    "_services/smart/Launch",
    "Cannot grab launch context from the FHIR server endpoint",
)

pytestmark = pytest.mark.e2e


def _missing() -> str | None:
    if not SANDBOX.joinpath("index.html").exists():
        return f"the CDS Hooks Sandbox build is not at {SANDBOX} (../shared absent)"
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "PyPI playwright is not installed"
    return None


_MISSING = _missing()
if _MISSING is not None:
    if os.environ.get("CDS_TEST_REQUIRE_SANDBOX") == "1":
        raise RuntimeError(f"CDS_TEST_REQUIRE_SANDBOX=1 but {_MISSING}")
    pytestmark = [pytest.mark.e2e, pytest.mark.skip(reason=_MISSING)]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with serving(functools.partial(_QuietHandler, directory=str(SANDBOX))) as base:
        yield base


@pytest.fixture(scope="module")
def fhir_url() -> Iterator[str]:
    store = FhirStore(page_size=1000)
    with running_fhir_server(store) as base:
        upload_fixtures(base, ROOT / "fixtures" / "golden")
        yield base


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, str]]:
    directory = tmp_path_factory.mktemp("sandbox-service")
    database = f"sqlite:///{directory / 'audit.sqlite3'}"
    # The evidence page enabled, so that every card carries its SMART link as in a hospital (its launch is tested
    # in tests/test_smart_launch.py; the Sandbox here only shows it).
    evidence = {
        "CDS_SMART_CLIENT_ID": "sid-igrt-evidence",
        "CDS_SMART_REDIRECT_URI": "https://cds.example.dk/evidence/callback",
        "CDS_FHIR_SERVER_ALLOWLIST": "https://ehr.example.dk/fhir",
    }
    live = start({"DATABASE_URL": database, "CDS_CORS_ORIGINS": "*", **evidence}, directory / "service.log", workers=1)
    wait_ready(live)
    try:
        yield live, database
    finally:
        stop(live)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, sandbox_url: str, fhir_url: str, service_url: str, patient: str, hook: str) -> Any:
    screen = {"patient-view": "patient-view", "order-select": "rx-view", "order-sign": "rx-sign"}[hook]
    page = browser.new_page(viewport=VIEWPORT)
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: m.type == "error" and page.console_errors.append(f"{m.text} [{m.location.get('url', '')}]"),  # type: ignore[attr-defined]
    )
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(
        f"{sandbox_url}/?fhirServiceUrl={quote(fhir_url, safe='')}&patientId={patient}"
        f"&serviceDiscoveryURL={quote(service_url + '/cds-services', safe='')}&hook={hook}&screen={screen}"
    )
    return page


def _cards(page: Any, *, timeout: float = 30) -> Any:
    cards = page.locator('[class*="decision-card"]')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cards.count() and "Medicinrådet" in cards.first.inner_text():
            time.sleep(0.5)  # let the last card of the answer render
            return cards
        time.sleep(0.2)
    pytest.fail(f"no card rendered; console: {page.console_errors}")


def _our_console_errors(page: Any) -> list[str]:
    """Console errors except the Sandbox's own offline noise (its default discovery host, styles, favicon)."""
    ours = []
    for error in page.console_errors:
        if any(noise in error for noise in SANDBOX_NOISE) or "ERR_NAME_NOT_RESOLVED" in error:
            continue  # a host outside this machine: the Sandbox's built-in defaults, never the service under test
        ours.append(error)
    return ours


def _measure(card: Any, name: str) -> tuple[float, float]:
    """The card's height and the page y of the bottom of its last button (what must be seen unscrolled).

    The buttons are the card's suggestions and links (the Sandbox renders both as buttons), not the Sandbox's own
    Dismiss controls; 0 for a card without any.
    """
    box = card.bounding_box()
    buttons = card.get_by_role("button")
    bottoms = [
        b["y"] + b["height"]
        for i in range(buttons.count())
        if "dismiss" not in (buttons.nth(i).inner_text() + (buttons.nth(i).get_attribute("aria-label") or "")).lower()
        and (b := buttons.nth(i).bounding_box())
    ]
    measured = (float(box["height"]), float(max(bottoms, default=0.0)))
    HEIGHTS[name] = measured
    return measured


SUGGESTIONS_WITHIN_CARD = 600
"""Order screens: the Sandbox's own order form fills the first ~430 px above the card, so there the suggestions and
links must end within this many pixels of the card's top (seen without scrolling once the card is in view)."""


def _suggestions_seen(card: Any, bottom: float, *, screen: str) -> bool:
    """Whether the suggestions and links are seen without scrolling: inside the window in patient-view (the card is
    at the top, as in an EHR's CDS panel); within ``SUGGESTIONS_WITHIN_CARD`` of the card's top below the Sandbox's
    order form."""
    if bottom == 0.0:
        return True  # no buttons
    if screen == "patient-view":
        return bottom <= VIEWPORT["height"]
    return bool(bottom - card.bounding_box()["y"] <= SUGGESTIONS_WITHIN_CARD)


@pytest.fixture(scope="module", autouse=True)
def _print_tallest() -> Iterator[None]:
    """After the module: each card's height and where its suggestions and links end, tallest first, in the summary.

    The lines go to ``tests.conftest.REPORT``, printed at the end of every run (CI too).
    """
    yield
    if HEIGHTS:
        ranked = sorted(HEIGHTS.items(), key=lambda item: -item[1][0])
        name, (height, bottom) = ranked[0]
        REPORT.append(
            f"sandbox: tallest card {height:.0f} px ({name}); its suggestions and links end at y = {bottom:.0f} px"
        )
        REPORT.extend(
            f"sandbox:   {h:4.0f} px, "
            + (f"suggestions and links end at y = {b:4.0f} px" if b else "no buttons")
            + f": {n}"
            for n, (h, b) in ranked
        )


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_INJECT_MEDICATION = """
(medication) => {
  const root = document.getElementById('root');
  const key = Object.keys(root).find(k => k.startsWith('__reactContainer$') || k.startsWith('_reactRootContainer'));
  let fiber = root[key];
  if (fiber && fiber._internalRoot) fiber = fiber._internalRoot.current;
  const seen = new Set();
  const stack = [fiber];
  while (stack.length) {
    const node = stack.pop();
    if (!node || seen.has(node)) continue;
    seen.add(node);
    const store = node.memoizedProps && node.memoizedProps.store;
    if (store && typeof store.dispatch === 'function') {
      store.dispatch({type: 'STORE_USER_CHOSEN_MEDICATION', medication});
      return true;
    }
    stack.push(node.child, node.sibling);
  }
  return false;
}
"""
PRIVIGEN = {"id": "1658662", "name": "immune globulin G, human 100 MG/ML Injectable Solution [Privigen]"}
"""What a tester picks with devtools: an RxNorm-style immunoglobulin concept (the picker offers none)."""


def _shown_cases() -> list[Any]:
    """Golden cases whose expected answer has cards (the quiet, 412 and no-order cases show none by design)."""
    shown = []
    for case in CASES:
        expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))
        # One live service has one evaluation date: cases of another date are seen in their golden files.
        if expected["status"] == 200 and expected["body"].get("cards") and case.as_of == AS_OF:
            shown.append(case)
    return shown


@pytest.mark.parametrize("case", _shown_cases(), ids=lambda c: f"{c.service.removeprefix('sid-igrt-')}/{c.name}")
def test_every_golden_case_shows_one_decision_card_within_the_size_target(
    browser: Any, sandbox_url: str, fhir_url: str, service: tuple[LiveService, str], case: Any
) -> None:
    """patient-view cases as they are; order cases as a tester orders Privigen for the same patient."""
    live, _ = service
    request = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    patient, hook = request["context"]["patientId"], request["hook"]
    hook = "patient-view" if hook == "patient-view" else "order-select"
    page = _open(browser, sandbox_url, fhir_url, live.base, patient, hook)
    try:
        if hook == "order-select":
            _inject(page, PRIVIGEN)
        cards = _cards(page)
        shot = _shot(page, f"{case.service.removeprefix('sid-igrt-')}-{case.name}")
        height, bottom = _measure(cards.first, f"{hook} {case.name}")
        print(
            f"sandbox: {hook} {case.name}: {cards.count()} card(s), {height:.0f} px tall, "
            f"suggestions and links end at y = {bottom:.0f} px ({shot.name})"
        )
        assert cards.count() == 1, shot
        assert height <= MAX_CARD_HEIGHT, shot
        assert _suggestions_seen(cards.first, bottom, screen=hook), shot
        assert _our_console_errors(page) == [], _our_console_errors(page)
    finally:
        page.close()


def _inject(page: Any, medication: dict[str, str]) -> None:
    page.wait_for_function("() => !!document.getElementById('root')")
    # 45 s: on a CI machine running the load and fuzz tests beside it, the Sandbox once took longer than 20 s to
    # load the patient and discovery, and the order was never seen (a card appeared in every local rerun).
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        # The Sandbox fires order-select once the patient and discovery are loaded; before that the store may be
        # there but the service list empty, so retry until a card shows.
        assert page.evaluate(_INJECT_MEDICATION, medication) is True
        # Our card, not any card-like element: one CI run saw an early element end this loop before the order was
        # seen, and no hook call came after it.
        if page.locator('[class*="decision-card"]', has_text="Medicinrådet").count():
            return
        time.sleep(1)


def test_order_select_of_an_immunoglobulin_renders_the_decision_first_and_feedback_is_recorded(
    browser: Any, sandbox_url: str, fhir_url: str, service: tuple[LiveService, str]
) -> None:
    live, database = service
    page = _open(browser, sandbox_url, fhir_url, live.base, "sid-pop2-window", "order-select")
    try:
        _inject(page, PRIVIGEN)
        cards = _cards(page)
        shot = _shot(page, "order-select-privigen")
        first = cards.first.inner_text()
        assert cards.count() == 1 and "Start IgRT" in first, shot
        height, bottom = _measure(cards.first, "order-select Privigen")
        print(f"sandbox: order-select Privigen: {cards.count()} card, {height:.0f} px, buttons end at {bottom:.0f}")
        assert height <= MAX_CARD_HEIGHT and _suggestions_seen(cards.first, bottom, screen="order-select"), shot
        card_uuids = _issued_cards(database)
        # A suggestion click: accepted feedback.
        cards.first.get_by_role("button", name="Order serum IgG").click()
        _wait_for_feedback(database, "accepted")
        # Dismiss with an override reason (the second order-select fires anew after the click; use the new card).
        cards = _cards(page)
        cards.first.get_by_role("button", name="select dismiss reason").click()
        page.get_by_role("menuitem").filter(has_text="Clinical judgement").first.click()
        feedback = _wait_for_feedback(database, "overridden")
        assert feedback.override_reason_code == "clinical-judgement"
        assert {f.card_uuid for f in AuditStore(Database(database)).feedback()} <= _issued_cards(database) | card_uuids
        _shot(page, "order-select-after-feedback")
        assert _our_console_errors(page) == []
    finally:
        page.close()


def _issued_cards(database: str) -> set[str]:
    return {d.card_uuid for d in AuditStore(Database(database)).decisions(limit=1000) if d.card_uuid}


def _wait_for_feedback(database: str, outcome: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [f for f in AuditStore(Database(database)).feedback() if f.outcome == outcome]
        if found:
            return found[0]
        time.sleep(0.2)
    pytest.fail(f"no {outcome} feedback reached the feedback table")
