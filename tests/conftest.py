from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import text

from cds_service.http.app import create_app
from storage import Database
from tests import conformance

AS_OF = "2026-11-20"

# Property tests: 100 examples each by default, 400 in CI (.ci/run sets HYPOTHESIS_PROFILE=ci); no example database,
# so a run depends only on the code and the seed Hypothesis prints on failure.
settings.register_profile("dev", max_examples=100, database=None)
settings.register_profile("ci", max_examples=400, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite fixtures/golden/**/expected.json")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


_DB_DIR = Path(tempfile.mkdtemp(prefix="sid-igrt-tests-"))
TEST_HMAC_KEY = "test-only-hmac-key-0123456789abcdef"


def sqlite_url() -> str:
    return f"sqlite:///{_DB_DIR / (uuid.uuid4().hex + '.sqlite3')}"


EVIDENCE_APP = {"SMART_CLIENT_ID": "sid-igrt-evidence", "PUBLIC_BASE_URL": "https://cds.example.dk"}
"""The evidence page enabled as a hospital runs it (with ``CDS_FHIR_SERVER_ALLOWLIST``, which the settings require),
so that cards carry its SMART link as the golden files show."""


def make_app(**config: Any) -> Flask:
    """An app with authentication off, a fresh SQLite audit database and the fixed evaluation date."""
    defaults = {
        "FIXED_DATE": AS_OF,
        "TESTING": True,
        "AUTH": "off",
        "DATABASE_URL": sqlite_url(),
        "AUDIT_HMAC_KEY": TEST_HMAC_KEY,
        # Golden and behaviour tests must not depend on the machine's speed; the budget is tested on its own.
        "LATENCY_BUDGET_MS": 60_000,
        "FHIR_BUDGET_SECONDS": 30,
    }
    if config.get("AUTH") == "required":
        defaults["PUBLIC_BASE_URL"] = "http://localhost"  # the Flask test client's base URL
    return create_app({**defaults, **config})


@pytest.fixture
def app() -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


POSTGRES_URL = os.environ.get("CDS_TEST_DATABASE_URL")
REQUIRE_POSTGRES = os.environ.get("CDS_TEST_REQUIRE_POSTGRES") == "1"


def fresh_postgres_url() -> str:
    """The test PostgreSQL database, emptied (``.ci/run`` starts it; skipped locally unless configured)."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("CDS_TEST_REQUIRE_POSTGRES=1 but CDS_TEST_DATABASE_URL is not set")
        pytest.skip("no PostgreSQL: set CDS_TEST_DATABASE_URL (.ci/run does)")
    database = Database(POSTGRES_URL)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs against SQLite and against a real PostgreSQL server."""
    return sqlite_url() if request.param == "sqlite" else fresh_postgres_url()


@pytest.fixture(scope="session", autouse=True)
def warm_evaluation() -> None:
    """Evaluate one golden request once before any test (``cds-service evaluate``, no HTTP, no audit).

    The first evaluation in a new process imports and compiles what the decision path loads lazily; on a fresh
    clone (no ``.pyc`` yet) that took 418 ms and the first test calling a hook got an answer without cards past its
    400 ms budget (by design), whichever test that was. Tests of the budget set their own.
    """
    import contextlib
    import io

    from commands.cli import main

    request = Path(__file__).parent.parent / "fixtures/golden/sid-igrt-order-select/pop2-window-igg-below-4-start"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["evaluate", str(request / "request.json"), "--as-of", AS_OF]) == 0


@pytest.fixture(autouse=True)
def conforming_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service response a test receives is checked against CDS Hooks 2.0.1 (``tests/conformance.py``)."""
    conformance.install(monkeypatch)


REPORT: list[str] = []
"""Lines for the end of the test run: fuzzing counts, load figures (docs/reliability.md)."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)
    checked = ", ".join(f"{n} {kind}" for kind, n in sorted(conformance.CHECKED.items()))
    terminalreporter.write_line(f"responses checked against CDS Hooks 2.0.1 and healthchain: {checked or 'none'}")
