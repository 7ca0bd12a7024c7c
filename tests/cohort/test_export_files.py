"""Reading real exports (``cohort.export``, ``cohort.bulk``): the manifest decides the files, gzip is streamed.

A manifest's ``output[]`` files are the data; a bulk client's ``log.ndjson`` or any file it does not list is not
read (and is named); ``error[]`` files are counted, never read as data; a listed file that is missing stops the run;
``.ndjson.gz`` (and gzip under an ``.ndjson`` name) is read like the plain file; a file of a type the rules never
read is not opened.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from cohort.export import ExportError, open_export
from tests.cohort.test_cohort import fixture_resources, run, write_export


def _manifest(directory: Path, output: list[tuple[str, str]], **sections: list[tuple[str, str]]) -> None:
    body = {
        "transactionTime": "2026-11-20T00:00:00Z",
        "request": "https://ehr.example/fhir/Patient/$export",
        "output": [{"type": kind, "url": url} for kind, url in output],
        **{name: [{"type": kind, "url": url} for kind, url in items] for name, items in sections.items()},
    }
    (directory / "manifest.json").write_bytes(orjson.dumps(body))


def _listed(directory: Path) -> list[tuple[str, str]]:
    return [(path.name.split(".")[0], path.name) for path in sorted(directory.glob("*.ndjson*"))]


def test_the_manifest_decides_what_is_data(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    plain = run(export, tmp_path / "plain")
    listed = _listed(export)
    (export / "errors").mkdir()
    (export / "errors" / "OperationOutcome_1.ndjson").write_bytes(
        b'{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]}\n' * 3
    )
    # A bulk client's log, and a stray resource file: read as data they would add a patient.
    (export / "log.ndjson").write_bytes(b'{"resourceType":"Patient","id":"from-the-log"}\n')
    (export / "Patient_old.ndjson").write_bytes(b'{"resourceType":"Patient","id":"stray"}\n')
    _manifest(export, listed, error=[("OperationOutcome", "errors/OperationOutcome_1.ndjson")])
    opened = open_export(export)
    assert opened.base == "https://ehr.example/fhir"
    # the error file is reported as the manifest's error[] (below), not again as unlisted
    assert sorted(opened.unlisted) == ["Patient_old.ndjson", "log.ndjson"]
    assert opened.error_summaries() == ("OperationOutcome errors/OperationOutcome_1.ndjson: 3 issues",)
    result = run(export, tmp_path / "out")
    assert [(r.patient_id, r.recommendation) for r in result.rows] == [
        (r.patient_id, r.recommendation) for r in plain.rows
    ]  # the log's and the stray file's patients are not there
    assert result.inventory.manifest_errors == ("OperationOutcome errors/OperationOutcome_1.ndjson: 3 issues",)
    assert result.inventory.manifest_outputs == len(listed)
    assert any("log.ndjson" in note and "not read" in note for note in result.inventory.notes)


def test_a_listed_file_that_is_missing_stops_the_run(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    _manifest(export, [*_listed(export), ("Observation", "Observation_2.ndjson")])
    with pytest.raises(ExportError, match="Observation_2.ndjson .*not in"):
        open_export(export)
    _manifest(export, [("Patient", "../outside.ndjson")])
    with pytest.raises(ExportError, match="outside the export directory"):
        open_export(export)


def test_a_server_url_in_the_manifest_names_the_file_of_that_name(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    urls = [(kind, f"https://files.example/x/{name}?sig=1") for kind, name in _listed(export)]
    _manifest(export, urls)
    assert sorted(p.name for p in open_export(export).files()) == sorted(name for _, name in _listed(export))


def test_gzip_files_are_read_as_the_plain_ones(tmp_path: Path) -> None:
    resources = fixture_resources()
    plain = run(write_export(resources, tmp_path / "plain"), tmp_path / "out-plain")
    packed = write_export(resources, tmp_path / "packed")
    for number, path in enumerate(sorted(packed.glob("*.ndjson"))):
        data = gzip.compress(path.read_bytes())
        if number % 2:  # gzip under an .ndjson name (a client that kept a server's gzip answer as it came)
            path.write_bytes(data)
        else:
            path.with_name(path.name + ".gz").write_bytes(data)
            path.unlink()
    result = run(packed, tmp_path / "out-packed")
    assert [(r.patient_id, r.recommendation, r.rule) for r in result.rows] == [
        (r.patient_id, r.recommendation, r.rule) for r in plain.rows
    ]
    assert result.inventory.types == plain.inventory.types


def test_a_file_of_a_type_never_read_is_not_opened(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    (export / "Claim.ndjson").write_bytes(b"this is not even JSON\n" * 5)  # opened, these would be bad lines
    (export / "export.ndjson").write_bytes(b'{"resourceType":"Claim","patient":{"reference":"Patient/x"}}\n' * 4)
    result = run(export, tmp_path / "out")
    assert result.bad_lines == ()
    assert result.inventory.files_skipped == (("Claim", 1, len(b"this is not even JSON\n") * 5),)
    claims = next(t for t in result.inventory.types if t.resource_type == "Claim")
    assert (claims.lines, claims.skipped_type, claims.read) == (4, 4, 0)  # unnamed file: skipped line by line
