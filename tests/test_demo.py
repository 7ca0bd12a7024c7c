"""`make demo` keeps its promise on any day: each patient shows its golden card (``scripts/demo.py --check``).

Run as a real process, as a newcomer runs it: the local FHIR server, the fixtures dated relative to the given day,
``cds-service serve``, and every golden case replayed through the FHIR fallback. On a day far from the fixtures'
time of year, the standard course's season-dependent cards are shown but not promised (and said so).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.live_server import free_port

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("today", [date.today().isoformat(), "2027-07-15"], ids=["today", "mid-summer"])
def test_the_demo_shows_every_promised_card(today: str) -> None:
    env = {**os.environ, "PORT": str(free_port()), "FHIR_PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "scripts/demo.py", "--check", "--today", today],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "✗" not in out
    assert f"http://127.0.0.1:{env['PORT']}/cds-services" in out and f"http://127.0.0.1:{env['FHIR_PORT']}/fhir" in out
    assert "sid-pop2-window" in out and "start (start-pop2-window)" in out
    assert "https://sandbox.cds-hooks.org/?fhirServiceUrl=" in out
    promised = out.strip().splitlines()[-1]
    assert promised.endswith("promised cards shown.") and int(promised.split()[0]) >= 29


@pytest.mark.parametrize("variable", ["PORT", "FHIR_PORT"])
def test_a_busy_port_stops_the_demo_with_one_line_naming_its_variable(variable: str) -> None:
    """`make demo` while `make serve` holds 8080 must not replay against the wrong server."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        ports = {"PORT": str(free_port()), "FHIR_PORT": str(free_port()), variable: str(busy.getsockname()[1])}
        done = subprocess.run(
            [sys.executable, "scripts/demo.py", "--check"],
            cwd=ROOT,
            env={**os.environ, **ports},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{variable}=" in lines[0] and ports[variable] in lines[0]
