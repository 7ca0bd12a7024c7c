"""``cds-service cohort --evidence-pages --display-identifier SYSTEM``: the page links each patient to their evidence
page (a file the same run wrote), shows the site's identifier, and keys pseudonyms with ``CDS_AUDIT_HMAC_KEY``."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from cohort.display import KEY_FILE, pseudonym
from cohort.synth import templates_by_patient, write_synthetic_cohort
from commands.cli import main
from commands.upload import DEFAULT_FIXTURES, fixture_transaction

AS_OF = date(2026, 11, 20)
CPR = "urn:oid:1.2.208.176.1.2"
"""The synthetic patients' identifier system (``cohort.synth``)."""
HMAC_KEY = "worklist-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("synth")
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    templates, shared = templates_by_patient([entry["resource"] for entry in bundle["entry"]])
    write_synthetic_cohort(60, directory, templates=templates, shared=shared, as_of=AS_OF, seed=3)
    return directory


def _run(export: Path, out: Path, *extra: str) -> int:
    return main(["cohort", str(export), "--out", str(out), "--as-of", AS_OF.isoformat(), "--workers", "1", *extra])


def test_the_page_links_the_pages_the_run_wrote_and_shows_the_sites_identifier(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDS_AUDIT_HMAC_KEY", HMAC_KEY)
    out = tmp_path / "out"
    assert _run(export, out, "--evidence-pages", "--display-identifier", CPR) == 0
    page = (out / "summary.html").read_text(encoding="utf-8")
    links = re.findall(r'<td class="who"><a href="(evidence/[^"]+)">([^<]+)</a>', page)
    assert links and all((out / href).is_file() for href, _ in links)
    with (out / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        table = {line["patient_id"]: line for line in csv.DictReader(handle)}
    for href, shown in links:
        patient_id = href.removeprefix("evidence/").removesuffix(".html")
        assert shown == table[patient_id]["display"] and re.fullmatch(r"\d{10}", shown), (href, shown)
    index = (out / "evidence" / "index.html").read_text(encoding="utf-8")
    assert "synth-" not in re.sub(r'href="[^"]+"', "", index)  # the index shows displays, not ids
    assert not (out / KEY_FILE).exists()  # the site's key was configured


def test_without_an_identifier_system_the_pseudonym_is_keyed_by_the_sites_key(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDS_AUDIT_HMAC_KEY", HMAC_KEY)
    assert _run(export, tmp_path / "a") == 0
    with (tmp_path / "a" / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert table and all(line["display"] == pseudonym(line["patient_id"], HMAC_KEY.encode()) for line in table)
    page = (tmp_path / "a" / "summary.html").read_text(encoding="utf-8")
    assert "evidence/" not in page  # no pages written, none linked
