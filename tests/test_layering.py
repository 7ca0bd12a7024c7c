"""The guideline core imports no web, FHIR or storage layer; the mappers and the cohort runner no web layer; storage
no service code; the service neither the worklist nor the commands above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "guideline": {
        "flask",
        "requests",
        "werkzeug",
        "cds_service",
        "fhir_mappers",
        "gunicorn",
        "storage",
        "sqlalchemy",
        "cohort",
        "commands",
    },
    "fhir_mappers": {"flask", "requests", "werkzeug", "cds_service", "gunicorn", "storage", "sqlalchemy", "commands"},
    "storage": {"flask", "requests", "werkzeug", "cds_service", "fhir_mappers", "guideline", "gunicorn", "commands"},
    "cohort": {"flask", "requests", "werkzeug", "cds_service", "gunicorn", "storage", "sqlalchemy", "commands"},
    "cds_service": {"cohort", "commands"},
    "decision": {
        "flask",
        "requests",
        "werkzeug",
        "cds_service",
        "gunicorn",
        "storage",
        "sqlalchemy",
        "cohort",
        "commands",
    },
}
"""Imports a package may not make: nothing runs back up. ``commands`` (the CLI and the uploader) sits above both the
service and the worklist; the service does not know the worklist; ``decision`` (one patient decided) sits below both."""


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path",
    [p for package in FORBIDDEN for p in sorted((ROOT / package).rglob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_layer_imports(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    assert not imported_packages(path) & FORBIDDEN[package]


def test_guideline_core_reads_no_clock() -> None:
    for path in (ROOT / "guideline").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "date.today(" not in text and "datetime.now(" not in text, path
