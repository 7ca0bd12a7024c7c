"""`make demo`: the synthetic patients on a local FHIR server, dated relative to today, and the service reading them.

1. Starts the local FHIR test server (``tests/fhir_server.py``, CORS on, no token) on ``FHIR_PORT`` (8081) and
   uploads every fixture patient with its dates moved so that it looks today as it did on its fixture date
   (``commands.upload.shift_dates``): the demo gives the golden cards on any day.
2. Starts ``cds-service serve`` on ``PORT`` (8080): authentication off, CORS open, allowed to fetch from that server,
   evaluating as of today (or ``--today``), audit in ``var/demo/``.
3. Replays every golden case against it with its prefetch removed (so the service fetches from the FHIR server, as
   with a real EHR) and its draft orders dated like the data, and prints each patient with the card it shows, ✓ where
   that is the golden card. A case whose card depends on the season (the summer pause) is shown but not promised.
4. Prints the discovery and FHIR URLs and a link per patient for the CDS Hooks Sandbox: the public one, or a local
   build given by ``SANDBOX_URL`` (e.g. ``../shared/tools/cds-hooks-sandbox/build`` served on a port).

``--check`` stops after step 3 with exit status 1 if any promised card is not shown (``tests/test_demo.py``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commands.upload import (  # noqa: E402
    DEFAULT_FIXTURES,
    case_as_of,
    draft_orders_renamed,
    shift_dates,
    upload_fixtures,
)
from tests.fhir_server import FhirStore, running_fhir_server  # noqa: E402

PUBLIC_SANDBOX = "https://sandbox.cds-hooks.org/"
SEASONAL_RULES = (
    "continue-standard",
    "stop-standard",
    "pause-standard",
    "continue-safety",
    "individual-assessment-safety",
)
"""The standard course's rules count winter days on IgRT and pause in summer (Opsummering, Kriterier for seponering),
and a safety check overrules such a stop or pause: their card depends on the time of year, so it is promised only
within ``SEASON_SLACK_DAYS`` of the fixture's day."""
SEASON_SLACK_DAYS = 14
SCREENS = {"patient-view": "patient-view", "order-select": "rx-view", "order-sign": "rx-sign"}


@dataclass(frozen=True)
class Replay:
    """One golden case replayed: what the golden file promises and what the service answered."""

    service: str
    case: str
    patient_id: str
    promised: str
    shown: str
    summary: str
    seasonal: bool

    @property
    def ok(self) -> bool:
        """The golden decision (status, recommendation, rule); the summary's dates move with the data."""
        return self.seasonal or self.promised == self.shown


def main(argv: list[str] | None = None) -> int:
    """Run the demo (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="evaluate as of this date")
    parser.add_argument("--check", action="store_true", help="replay, print, and exit (1 if a promise is not kept)")
    args = parser.parse_args(argv)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    fhir_port = int(os.environ.get("FHIR_PORT", "8081"))
    for variable, number in (("PORT", port), ("FHIR_PORT", fhir_port)):
        if not _port_free(host, number):
            # Another server there (make serve, say) would answer the replays instead: a demo of the wrong service.
            print(
                f"demo: port {number} on {host} is in use; stop what runs there or choose another with {variable}=...",
                file=sys.stderr,
            )
            return 2
    with running_fhir_server(FhirStore(page_size=50), port=fhir_port) as fhir:
        summary = upload_fixtures(fhir, DEFAULT_FIXTURES, today=args.today)
        print(
            f"FHIR server   {fhir}  ({summary.resources} resources, {len(summary.patients)} patients, dated "
            f"relative to {args.today})"
        )
        service = _start_service(host, port, fhir, args.today)
        try:
            base = f"http://{host}:{port}"
            _wait_ready(base, service)
            print(f"Discovery     {base}/cds-services")
            cases = [path for path in sorted(DEFAULT_FIXTURES.glob("*/*")) if _answered(path)]
            replays = [_replay(base, fhir, path, args.today) for path in cases]
            _print_table(replays, base, fhir)
            kept = all(r.ok for r in replays)
            print(
                f"\n{sum(r.ok and not r.seasonal for r in replays)} of {sum(not r.seasonal for r in replays)} "
                f"promised cards shown{'' if kept else ' (see ✗ above)'}."
            )
            if args.check:
                return 0 if kept else 1
            print("\nServing until Ctrl-C.")
            service.wait()
            return 0 if kept else 1
        except KeyboardInterrupt:
            return 0 if kept else 1
        finally:
            _stop(service)


def _port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a connection of a previous run in TIME_WAIT is no server; a listener still is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _start_service(host: str, port: int, fhir: str, today: date) -> subprocess.Popen[bytes]:
    directory = ROOT / "var" / "demo"
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CDS_AUTH": "off",
        "CDS_CORS_ORIGINS": "*",
        "CDS_FHIR_SERVER_ALLOWLIST": fhir,
        "CDS_FHIR_ALLOW_HTTP": "true",
        "CDS_FIXED_DATE": today.isoformat(),
        "DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="cds-demo-metrics-"),
    }
    log = (directory / "service.log").open("wb")
    command = [sys.executable, "-m", "commands.cli", "serve", "--host", host, "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)


def _wait_ready(base: str, service: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited; see {ROOT / 'var' / 'demo' / 'service.log'}")
        try:
            if requests.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not become ready within 60 s")


def _stop(service: subprocess.Popen[bytes]) -> None:
    if service.poll() is None:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=30)


def _replay(base: str, fhir: str, case_directory: Path, today: date) -> Replay:
    """Post the case without its prefetch (the service fetches it) and with its draft orders dated like the data."""
    request = json.loads((case_directory / "request.json").read_text(encoding="utf-8"))
    expected = json.loads((case_directory / "expected.json").read_text(encoding="utf-8"))
    days = (today - case_as_of(case_directory)).days
    body = copy.deepcopy(request)
    body.pop("prefetch", None)
    if "draftOrders" in body["context"]:
        prefetch = request.get("prefetch") or {}
        drafts = draft_orders_renamed(body["context"]["draftOrders"], prefetch, body["context"]["patientId"])
        body["context"]["draftOrders"] = shift_dates(drafts, days)
    body["fhirServer"] = fhir
    body["fhirAuthorization"] = {"access_token": "demo", "token_type": "Bearer", "expires_in": 3600, "scope": "x"}
    service = case_directory.parent.name
    response = requests.post(f"{base}/cds-services/{service}", json=body, timeout=30)
    shown, summary = _describe(response.status_code, response.json())
    return Replay(
        service=service,
        case=case_directory.name,
        patient_id=str(request["context"]["patientId"]),
        promised=_describe(expected["status"], expected["body"])[0],
        shown=shown,
        summary=summary,
        seasonal=_seasonal(expected, case_as_of(case_directory), today),
    )


def _seasonal(expected: dict[str, Any], as_of: date, today: date) -> bool:
    """Whether the golden card depends on the season and today is in another part of the year than its fixture."""
    cards = expected["body"].get("cards") or []
    rule = str(cards[0].get("extension", {}).get("sid-igrt", {}).get("rule", "")) if cards else ""
    apart = abs(today.timetuple().tm_yday - as_of.timetuple().tm_yday)
    return rule.startswith(SEASONAL_RULES) and min(apart, 365 - apart) > SEASON_SLACK_DAYS


def _answered(case_directory: Path) -> bool:
    """Cases answered 200: a 412 case is about a request with neither prefetch nor FHIR access, not a patient."""
    return bool(json.loads((case_directory / "expected.json").read_text(encoding="utf-8"))["status"] == 200)


def _describe(status: int, body: dict[str, Any]) -> tuple[str, str]:
    """Return ``(decision, summary)``: the decision as recommendation and rule, and the card's summary."""
    if status != 200:
        return f"HTTP {status}", ""
    cards = body.get("cards") or []
    if not cards:
        return "no card (quiet)", ""
    decision = cards[0].get("extension", {}).get("sid-igrt", {})
    return f"{decision.get('recommendation')} ({decision.get('rule')})", str(cards[0]["summary"])


def _print_table(replays: list[Replay], base: str, fhir: str) -> None:
    sandbox = os.environ.get("SANDBOX_URL", PUBLIC_SANDBOX)
    print(f"Sandbox       {sandbox}  (set SANDBOX_URL for a local build)\n")
    for hook in ("patient-view", "order-select", "order-sign"):
        rows = [r for r in replays if r.service.endswith(hook)]
        print(f"== {hook} ==")
        for r in rows:
            mark = "~" if r.seasonal else ("✓" if r.ok else "✗")
            print(f"{mark} {r.patient_id:<24} {r.shown}{': ' + r.summary if r.summary else ''}")
            if not r.ok:
                print(f"  {'':<24} promised: {r.promised} (fixtures/golden/{r.service}/{r.case})")
            if r.seasonal:
                print(f"  {'':<24} (standard course: depends on the season; golden: {r.promised})")
            if hook == "patient-view" and not r.promised.startswith("no card"):
                query = (
                    f"?fhirServiceUrl={quote(fhir, safe='')}&patientId={r.patient_id}"
                    f"&serviceDiscoveryURL={quote(base + '/cds-services', safe='')}&hook=patient-view"
                    f"&screen={SCREENS[hook]}"
                )
                print(f"  {'':<24} {sandbox.rstrip('/')}/{query}")
        print()


if __name__ == "__main__":
    raise SystemExit(main())
