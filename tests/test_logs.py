"""Logs an operator can read (issue 18): ``CDS_LOG_FORMAT`` json|text, ``CDS_LOG_LEVEL``, ISO 8601 UTC times,
start-up warnings once per instance (not once per gunicorn worker), a bad setting stops start-up in one line.
Against the real server process (``cds-service serve``, two workers)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.live_server import running_service

pytestmark = pytest.mark.e2e
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _service_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "cds_service" in line]


def test_text_logs_for_a_person_with_utc_times_and_each_warning_once(tmp_path: Path) -> None:
    env = {"CDS_LOG_FORMAT": "text", "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"}
    with running_service(env, tmp_path / "service.log", workers=2) as live:
        requests.get(f"{live.base}/cds-services", timeout=5)
        log = live.log_text()
    warnings = [line for line in log.splitlines() if "CDS_AUTH=off: ANY caller is trusted" in line]
    assert len(warnings) == 1, warnings  # the instance says it once, not each of its two workers
    lines = _service_lines(log)
    assert lines and all(UTC_TIME.match(line.split(" ", 1)[0]) for line in lines), lines[:3]
    assert any(" INFO    cds_service.requests: request " in line and "status=200" in line for line in lines)


def test_json_logs_for_production_with_utc_times(tmp_path: Path) -> None:
    env = {"CDS_LOG_FORMAT": "json", "CDS_LOG_LEVEL": "WARNING", "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"}
    with running_service(env, tmp_path / "service.log", workers=2) as live:
        requests.get(f"{live.base}/cds-services", timeout=5)
        log = live.log_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    service = [r for r in records if str(r.get("logger", "")).startswith("cds_service")]
    assert service and all(UTC_TIME.match(r["time"]) for r in service)
    assert all(r["level"] in ("WARNING", "ERROR") for r in service)  # CDS_LOG_LEVEL=WARNING: no INFO lines


@pytest.mark.parametrize(("variable", "value"), [("CDS_LOG_FORMAT", "xml"), ("CDS_LOG_LEVEL", "chatty")])
def test_a_bad_log_setting_stops_start_up_in_one_line(tmp_path: Path, variable: str, value: str) -> None:
    env = {**os.environ, "CDS_AUTH": "off", variable: value, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-m", "commands.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"cds-service serve: {variable}:") and value.lower() in line.lower()
