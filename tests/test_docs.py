"""The documentation cannot drift from the code (issue 18; settings from the model, issue 27).

* ``docs/configuration.md`` holds the settings reference generated from ``cds_service.settings`` and the
  interpretation-settings table generated from ``guideline.parameters`` (``scripts/update_docs.py``), and every
  setting named anywhere in the documentation and the deployment files is one the service reads.
* Every relative link in README and ``docs/`` points at a file that exists.
* The README stays short (about two screens).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from cds_service.settings import VARIABLES
from cds_service.settings.reference import settings_reference
from guideline.parameters import INTERPRETATION, Parameters, interpretation_kind, interpretation_table

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
SERVER_VARIABLES = {"HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CONNECTIONS"}
"""Read by ``cds-service serve`` and gunicorn's configuration, not by the settings model."""
NOT_SETTINGS = {
    "CDS_UPSTREAM": "the proxy's template (deploy/nginx)",
    "CDS_PROXY_PORT": "the proxy's template",
    "CDS_METRICS_PORT": "the proxy's template",
    "CDS_STARTUP_ANNOUNCED": "set by cds-service serve for its workers",
    "CDS_TEST_DATABASE_URL": "tests",
    "CDS_TEST_REQUIRE_NGINX": "tests",
    "CDS_TEST_REQUIRE_POSTGRES": "tests",
    "CDS_TEST_REQUIRE_SANDBOX": "tests",
    "CDS_TEST_REQUIRE_SPARK": "tests",
    "CDS_TEST_REQUIRE_PARQUET": "tests",
    "CDS_REQUIRE_AUDIT": "tests",
    "CDS_LOAD_SECONDS": "tests",
    "CDS_FUZZ_EXAMPLES": "tests",
}
"""``CDS_*`` variables that are not settings of the service, and who reads them."""


def update_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_parts_are_the_ones_the_code_writes() -> None:
    assert update_docs().generated(CONFIGURATION) == CONFIGURATION, "run .venv/bin/python scripts/update_docs.py"
    assert settings_reference() in CONFIGURATION and interpretation_table() in CONFIGURATION


def test_every_setting_has_its_row_with_a_value_kind_a_default_and_a_meaning() -> None:
    tables = settings_reference().split("### Refused combinations")[0]
    rows = [line for line in tables.splitlines() if line.startswith("| `")]
    assert len(rows) == len(VARIABLES)
    for row, variable in zip(rows, VARIABLES, strict=True):
        name, kind, default, meaning = (cell.strip() for cell in row.strip("|").split(" | "))
        assert name.startswith(f"`{variable.name}"), (name, variable.name)
        assert kind and default and meaning, row


def _mentioned(text: str) -> set[str]:
    return set(re.findall(r"\b(CDS_[A-Z0-9_]*[A-Z0-9])", text))


def test_every_setting_named_in_the_docs_and_deployments_is_one_the_service_reads() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "compose.yaml", ROOT / "Makefile"]
    pages += sorted((ROOT / "deploy").rglob("*.yaml")) + sorted((ROOT / "deploy").rglob("*.template"))
    read = {name for variable in VARIABLES for name in variable.names} | set(NOT_SETTINGS)
    interpretations = {name.upper() for name in Parameters.model_fields if interpretation_kind(name) == INTERPRETATION}
    for page in pages:
        for name in _mentioned(page.read_text(encoding="utf-8")):
            guideline = name.removeprefix("CDS_GUIDELINE__")
            if name != guideline:
                assert guideline in interpretations, f"{page.name}: {name} is not an interpretation setting"
            else:
                assert name in read, f"{page.name}: {name} is not a setting the service reads"


def test_the_serving_process_variables_are_documented() -> None:
    section = CONFIGURATION.split("### Serving processes", 1)[1].split("<!--", 1)[0]
    documented = {name for line in section.splitlines() for name in re.findall(r"`([A-Z_]+)`", line.split(" | ")[0])}
    assert documented == SERVER_VARIABLES


def test_relative_links_resolve() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(
            r"\]\(([\w./-]+\.(?:md|yaml|json|py|toml))(?:#[^)]*)?\)", page.read_text(encoding="utf-8")
        ):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_fits_on_about_two_screens() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 100
