from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "audit_dependencies", Path(__file__).parents[1] / "scripts" / "audit_dependencies.py"
)
assert spec is not None and spec.loader is not None
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

CLEAN = {"name": "flask", "version": "3.1.3", "vulns": []}
VULNERABLE = {"name": "jinja2", "version": "2.10", "vulns": [{"id": "GHSA-x", "fix_versions": ["2.10.1"]}]}
SKIPPED = {"name": "sqlalchemy", "skip_reason": "Dependency not found on PyPI and could not be audited"}


@pytest.mark.parametrize(
    ("dependencies", "require", "status"),
    [
        ([CLEAN, SKIPPED], False, 0),
        ([CLEAN, VULNERABLE], False, 1),
        ([SKIPPED], False, 0),
        ([SKIPPED], True, 1),
        ([CLEAN], True, 0),
    ],
    ids=["clean", "vulnerable", "nothing-audited", "nothing-audited-required", "clean-required"],
)
def test_the_audit_fails_on_a_vulnerability_and_when_required_on_no_data(
    dependencies: list[dict[str, object]], require: bool, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit.judge({"dependencies": dependencies}, require=require) == status
    if status and dependencies[-1] is VULNERABLE:
        assert "VULNERABLE jinja2 2.10: GHSA-x (fixed in 2.10.1)" in capsys.readouterr().out
