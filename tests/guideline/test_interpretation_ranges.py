"""Every interpretation setting has a valid range, checked when the settings are read (issue 29, item 5).

Before: ``CDS_GUIDELINE__*`` at -5 or 100000 started the service, which then answered 500 on every call (a date
out of range, a loop of 100,000 winters), and ``cds-service cohort --compare-settings`` printed a traceback.
Truth tables on every bound (just inside, just outside), through ``Parameters``, through the service's settings (one
line naming the variable), and through the command line; and every bound evaluated on golden patients, never a
500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cds_service.http.app import load_settings
from cds_service.invocation import invoke
from cds_service.settings import Settings, SettingsError
from cds_service.wire.definitions import find
from cds_service.wire.requests import parse_hook_request
from guideline.parameters import DEFAULT_PARAMETERS, INTERPRETATION, Parameters, interpretation_kind, valid_values
from tests.cases import CASES, case_dir

ROOT = Path(__file__).resolve().parent.parent.parent
NUMBERS = [
    name
    for name, field in Parameters.model_fields.items()
    if interpretation_kind(name) == INTERPRETATION and field.annotation is not bool
]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without settings of its own: authentication off, nothing else set."""
    for name in list(os.environ):
        if name.startswith("CDS_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDS_AUTH", "off")
    return monkeypatch


def bounds(name: str) -> tuple[float, float]:
    extra = Parameters.model_fields[name].json_schema_extra
    assert isinstance(extra, dict) and isinstance(extra["valid"], list), f"{name} has no valid range"
    low, high = extra["valid"]
    return low, high


def step(name: str) -> float:
    return 1 if Parameters.model_fields[name].annotation is int else 0.01


def cases() -> list[Any]:
    """``(name, value, accepted)``: each bound, and one step outside each."""
    found = []
    for name in NUMBERS:
        low, high = bounds(name)
        kind = Parameters.model_fields[name].annotation
        for value, accepted, where in (
            (low, True, "low"),
            (high, True, "high"),
            (low - step(name), False, "below"),
            (high + step(name), False, "above"),
        ):
            shown = int(value) if kind is int else round(value, 2)
            found.append(pytest.param(name, shown, accepted, id=f"{name}-{where}"))
    return found


def test_every_number_has_a_range_around_its_default() -> None:
    assert len(NUMBERS) == 34
    for name in NUMBERS:
        low, high = bounds(name)
        assert low <= getattr(DEFAULT_PARAMETERS, name) <= high, name


@pytest.mark.parametrize(("name", "value", "accepted"), cases())
def test_each_bound_through_the_parameters(name: str, value: float, accepted: bool) -> None:
    if accepted:
        assert getattr(DEFAULT_PARAMETERS.with_interpretations({name: value}), name) == value
        return
    with pytest.raises(ValueError, match="^") as refused:
        DEFAULT_PARAMETERS.with_interpretations({name: value})
    assert str(refused.value) == f"{name}: must be {valid_values(name)}, not {value!r}"


@pytest.mark.parametrize(("name", "value", "accepted"), cases())
def test_each_bound_through_the_environment(
    environment: pytest.MonkeyPatch, name: str, value: float, accepted: bool
) -> None:
    variable = f"CDS_GUIDELINE__{name.upper()}"
    environment.setenv(variable, str(value))
    if accepted:
        assert getattr(Settings.from_environment().parameters, name) == value
        return
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment()
    assert str(refused.value) == f"{variable}: must be {valid_values(name)}, not '{value}'"  # one line


@pytest.mark.parametrize(("value", "line"), [("-5", "not '-5'"), ("100000", "not '100000'"), ("1e3", "not '1e3'")])
def test_the_issues_values_stop_the_start_in_one_line(environment: pytest.MonkeyPatch, value: str, line: str) -> None:
    environment.setenv("CDS_GUIDELINE__STOP_MIN_WINTER_DAYS_ON_IGRT", value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment()
    assert (
        str(refused.value)
        == f"CDS_GUIDELINE__STOP_MIN_WINTER_DAYS_ON_IGRT: must be a whole number from 1 to 212, {line}"
    )


GOLDEN = [
    next(c for c in CASES if c.service == service)
    for service in ("sid-igrt-order-select", "sid-igrt-order-sign", "sid-igrt-patient-view")
]


@pytest.mark.parametrize("name", NUMBERS)
def test_every_bound_evaluates_golden_patients_without_an_error(name: str) -> None:
    """The service's own evaluation at both ends of each range: an answer (cards or none), never an exception."""
    settings = load_settings({"AUTH": "off"})
    for value in bounds(name):
        typed = int(value) if Parameters.model_fields[name].annotation is int else value
        parameters = DEFAULT_PARAMETERS.with_interpretations({name: typed})
        for case in GOLDEN:
            body = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
            service = find(case.service)
            assert service is not None
            request = parse_hook_request(body, hook=service.hook)
            answer = invoke(
                service, request, settings.model_copy(update={"parameters": parameters}), as_of=date(2026, 11, 20)
            )
            assert "cards" in answer.response


def compare_settings(tmp_path: Path, value: int) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Run ``cds-service cohort --compare-settings`` with ``igg_washout_days`` at ``value`` (one patient as input)."""
    compare = tmp_path / "compare.json"
    compare.write_text(json.dumps({"igg_washout_days": value}), encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.ndjson").write_text(json.dumps({"resourceType": "Patient", "id": "p1"}) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "commands.cli", "cohort", str(export), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [*command, "--compare-settings", str(compare)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return compare, done


@pytest.mark.parametrize("value", [-5, 100000])
def test_compare_settings_out_of_range_is_one_line_without_a_traceback(tmp_path: Path, value: int) -> None:
    compare, done = compare_settings(tmp_path, value)
    expected = f"igg_washout_days: must be a whole number from 21 to 365, not {value}"
    assert done.stderr.strip().splitlines() == [f"cds-service cohort: --compare-settings {compare}: {expected}"]
    assert "Traceback" not in done.stdout + done.stderr and done.returncode != 0


def test_compare_settings_out_of_range_exits_2(tmp_path: Path) -> None:
    assert compare_settings(tmp_path, -5)[1].returncode == 2
