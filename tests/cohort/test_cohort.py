"""The population worklist (``cds-service cohort``): Bulk NDJSON in, worklist, GuidanceResponses and HTML out.

The fixture patients evaluated as a cohort get the decisions their golden hook calls get (the same mappers and
rules); unreadable lines are named and skipped; both Bulk layouts are read; one process and several agree; deceased
patients and patients the guideline does not concern get no worklist line and no GuidanceResponse, only a count.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from cohort.run import CohortResult, run_cohort
from cohort.synth import copy_patient, templates_by_patient, unrelated_data, write_synthetic_cohort
from commands.upload import DEFAULT_FIXTURES, fixture_transaction
from guideline.parameters import DEFAULT_PARAMETERS
from guideline.sources import GUIDELINE_VERSION

AS_OF = date(2026, 11, 20)
TZ = ZoneInfo("Europe/Copenhagen")


def fixture_resources() -> list[dict[str, object]]:
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    return [entry["resource"] for entry in bundle["entry"]]


def write_export(resources: list[dict[str, object]], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[bytes]] = {}
    for resource in resources:
        by_type.setdefault(str(resource["resourceType"]), []).append(orjson.dumps(resource))
    for kind, lines in by_type.items():
        (directory / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return directory


def run(input_dir: Path, out_dir: Path, workers: int = 1, **options: Any) -> CohortResult:
    return run_cohort(
        input_dir,
        out_dir,
        as_of=AS_OF,
        parameters=DEFAULT_PARAMETERS,
        tz=TZ,
        guideline_version=GUIDELINE_VERSION,
        workers=workers,
        progress=None,
        **options,
    )


def golden_patient_view() -> dict[str, tuple[str, str]]:
    """patientId -> (recommendation, rule) of each patient-view golden case that shows a card as of AS_OF."""
    found = {}
    for case in sorted((DEFAULT_FIXTURES / "sid-igrt-patient-view").iterdir()):
        if json.loads((case / "case.json").read_text(encoding="utf-8"))["asOf"] != AS_OF.isoformat():
            continue
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        request = json.loads((case / "request.json").read_text(encoding="utf-8"))
        cards = expected["body"].get("cards") or []
        if cards:
            decision = cards[0]["extension"]["sid-igrt"]
            found[request["context"]["patientId"]] = (decision["recommendation"], decision["rule"])
    return found


def test_the_fixture_patients_as_a_cohort_get_their_golden_decisions(tmp_path: Path) -> None:
    result = run(write_export(fixture_resources(), tmp_path / "export"), tmp_path / "out")
    rows = {row.patient_id: row for row in result.rows}
    golden = golden_patient_view()
    assert len(golden) >= 12
    for patient_id, (recommendation, rule) in golden.items():
        row = rows[patient_id]
        assert (row.recommendation, row.rule, row.patient_view_card) == (recommendation, rule, True), patient_id
    assert not rows["sid-unrelated"].patient_view_card and not rows["sid-pop2-quiet"].patient_view_card
    # The fixture patient with nothing the guideline reads: not relevant, not "insufficient data, measure IgG".
    assert (rows["sid-unrelated"].recommendation, rows["sid-unrelated"].on_worklist) == ("not-relevant", False)
    assert rows["sid-pop2-quiet"].on_worklist  # in scope (after CAR-T), nothing to show now: a row without a card


def fixture_patients() -> tuple[int, int]:
    """The fixture patients and how many of them are deceased (``Patient.deceased[x]``)."""
    patients = [r for r in fixture_resources() if r["resourceType"] == "Patient"]
    deceased = sum(1 for r in patients if r.get("deceasedBoolean") is True or "deceasedDateTime" in r)
    return len(patients), deceased


def test_the_outputs(tmp_path: Path) -> None:
    result = run(write_export(fixture_resources(), tmp_path / "export"), tmp_path / "out")
    patients, deceased = fixture_patients()
    listed = patients - deceased - 1  # sid-unrelated is not relevant
    assert deceased >= 2
    with (tmp_path / "out" / "worklist.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == listed and table[0]["patient_view_card"] == "yes"
    assert "sid-unrelated" not in {r["patient_id"] for r in table}
    shown = [r for r in table if r["patient_view_card"] == "yes"]
    assert table[: len(shown)] == shown  # patients with a card first
    due = [
        min(d for d in (r["stop_due"], r["next_follow_up"]) if d) for r in shown if r["stop_due"] or r["next_follow_up"]
    ]
    assert due == sorted(due)  # what is due first
    responses = [json.loads(line) for line in (tmp_path / "out" / "guidance-responses.ndjson").read_text().splitlines()]
    assert len(responses) == listed and {r["resourceType"] for r in responses} == {"GuidanceResponse"}
    by_subject = {r["subject"]["reference"]: r for r in responses}
    missing = by_subject["Patient/sid-pop2-no-igg-t0"]
    assert missing["status"] == "data-required" and missing["moduleCanonical"].endswith("|1.1")
    codes = {f["codeFilter"][0]["code"][0]["code"] for f in missing["dataRequirement"]}
    assert codes == {"2465-3", "2458-8", "2472-9"}
    stop = by_subject["Patient/sid-pop2-short-stop"]
    values = {
        p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in stop["contained"][0]["parameter"]
    }
    assert (stop["status"], values["recommendation"], values["stopDue"]) == ("success", "stop", "2026-10-10")
    assert stop["outputParameters"] == {"reference": "#decision"}
    page = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and f"{patients} patients evaluated" in page and "<script" not in page
    assert f"{listed} on the worklist" in page and "<li>1 not relevant" in page and f"<li>{deceased} deceased" in page
    assert result.bad_lines == ()
    assert result.counts == {
        "evaluated": patients,
        "worklist": listed,
        "card": len(shown),
        "not-relevant": 1,
        "deceased": deceased,
    }


def test_unreadable_lines_are_named_and_skipped_and_the_rest_is_evaluated(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    good = len((export / "Observation.ndjson").read_bytes().splitlines())
    with (export / "Observation.ndjson").open("ab") as handle:
        # cut off: an IgG line (the rules could use it) is reported; one the pre-filter proves unused is skipped
        handle.write(b'{"resourceType": "Observation", "id": "broken", "code": {"coding": [{"code": "2465-3"\n')
        handle.write(b'{"resourceType": "Observation", "id": "vitals-cut", "code": {"coding": [{"code": "8867-4"\n')
        handle.write(b'["not", "a", "resource"]\n')
        handle.write(b"\n")  # blank lines are not errors
    result = run(export, tmp_path / "out")
    observations = next(t for t in result.inventory.types if t.resource_type == "Observation")
    assert observations.skipped_prefilter >= 1
    found = [(b.path, b.line, b.reason) for b in result.bad_lines]
    assert [(path, line) for path, line, _ in found] == [
        ("Observation.ndjson", good + 1),
        ("Observation.ndjson", good + 3),
    ]
    assert found[0][2].startswith("not JSON") and found[1][2] == "not a FHIR resource (no resourceType)"
    assert len(result.rows) == fixture_patients()[0]
    assert "2 unreadable lines skipped" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")


def test_the_patient_organised_layout_gives_the_same_worklist(tmp_path: Path) -> None:
    resources = fixture_resources()
    flat = run(write_export(resources, tmp_path / "flat"), tmp_path / "out-flat")
    by_patient: dict[str, list[dict[str, object]]] = {}
    for resource in resources:
        subject = resource.get("subject") or resource.get("patient") or {}
        key = str(resource["id"]) if resource["resourceType"] == "Patient" else str(subject.get("reference", "x"))  # type: ignore[union-attr]
        by_patient.setdefault(key.rsplit("/", 1)[-1], []).append(resource)
    for patient, items in by_patient.items():
        write_export(items, tmp_path / "nested" / patient)
    nested = run(tmp_path / "nested", tmp_path / "out-nested")
    assert nested.rows == flat.rows


@pytest.mark.parametrize("workers", [2])
def test_several_processes_give_the_same_worklist_as_one(tmp_path: Path, workers: int) -> None:
    templates, shared = templates_by_patient(fixture_resources())
    write_synthetic_cohort(600, tmp_path / "synth", templates=templates, shared=shared, as_of=AS_OF, seed=7)
    one = run(tmp_path / "synth", tmp_path / "one", workers=1)
    many = run(tmp_path / "synth", tmp_path / "many", workers=workers)
    assert one.rows == many.rows and len(one.rows) == 600
    shown = sum(row.patient_view_card for row in one.rows)
    assert 0.1 * 600 < shown < 0.4 * 600  # most synthetic patients are of no concern to the guideline
    counts = one.counts
    assert counts == many.counts and counts["evaluated"] == 600
    assert 0.6 * 600 < counts["not-relevant"] < 0.75 * 600 and 0 < counts["deceased"] < 0.05 * 600
    assert counts["worklist"] + counts["not-relevant"] + counts["deceased"] == 600


def test_the_synthetic_cohort_is_the_same_for_a_seed(tmp_path: Path) -> None:
    templates, shared = templates_by_patient(fixture_resources())
    for name in ("a", "b"):
        write_synthetic_cohort(50, tmp_path / name, templates=templates, shared=shared, as_of=AS_OF, seed=3)
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
    patients = io.BytesIO((tmp_path / "a" / "Patient.ndjson").read_bytes()).read().splitlines()
    assert len(patients) == 50


def test_the_commands_on_a_fresh_cohort(tmp_path: Path) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "commands.cli", *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=300, env={**os.environ, "CDS_AUTH": "off"}
        )

    made = cli("synth-cohort", "300", str(tmp_path / "export"), "--as-of", "2026-11-20")
    assert made.returncode == 0 and made.stdout.startswith("300 patients for 2026-11-20"), made.stderr
    done = cli("cohort", str(tmp_path / "export"), "--as-of", "2026-11-20", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("300 patients as of 2026-11-20 in ")
    assert "not-relevant " in done.stdout.splitlines()[0] and "deceased " in done.stdout.splitlines()[0]
    assert (tmp_path / "out" / ".worklist-state.sqlite3").is_file()  # the run state (cohort.state)
    written = {p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")}
    parquet = {"worklist.parquet"} if importlib.util.find_spec("pyarrow") else set()  # the optional extra
    assert written == {"worklist.csv", "guidance-responses.ndjson", "summary.html", "measure-report.json"} | parquet
    missing = cli("cohort", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "out2"))
    assert missing.returncode == 1 and "is not a directory" in missing.stderr


def test_compare_mode_names_who_would_change_and_why(tmp_path: Path) -> None:
    export = write_export(fixture_resources(), tmp_path / "export")
    shorter_washout = DEFAULT_PARAMETERS.with_interpretations({"igg_washout_days": 30})
    result = run(export, tmp_path / "out", compare=shorter_washout, compare_label="washout-30.json")
    with (tmp_path / "out" / "changes.csv").open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    changed = {line["patient_id"] for line in lines}
    # The patient whose IgG was drawn 5 weeks after high-dose IVIG for ICANS: not own IgG with a 90-day washout.
    assert "sid-icans-ivig" in changed
    assert "sid-unrelated" not in changed  # not relevant under both settings: not a change
    icans = {line["field"]: line for line in lines if line["patient_id"] == "sid-icans-ivig"}
    assert icans["recommendation"]["current"] == "insufficient-data"
    assert icans["recommendation"]["with washout-30.json"] != "insufficient-data"
    assert icans["recommendation"]["why"] == "igg_washout_days: 90 -> 30"
    assert len(result.compared) == fixture_patients()[0]
    assert "patients' decision would change" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    same = run(export, tmp_path / "same", compare=DEFAULT_PARAMETERS)
    assert (tmp_path / "same" / "changes.csv").read_text(encoding="utf-8").count("\n") == 1  # the header only
    assert same.rows == result.rows


def _quiet_patients_export(directory: Path) -> Path:
    """Two relevant patients, two deceased ones who would otherwise get a row, and three of no concern (one dead)."""
    templates, shared = templates_by_patient(fixture_resources())
    by_id = {next(str(r["id"]) for r in t if r["resourceType"] == "Patient"): t for t in templates}

    def patient(resources: list[dict[str, Any]], **fields: object) -> list[dict[str, Any]]:
        next(r for r in resources if r["resourceType"] == "Patient").update(fields)
        return resources

    def bare(patient_id: str, **fields: object) -> list[dict[str, Any]]:
        return [{"resourceType": "Patient", "id": patient_id, "birthDate": "1961-04-02", **fields}]

    resources = [
        *shared,
        *copy_patient(by_id["sid-pop2-window"], "alive-start"),  # start IgRT, a card
        *copy_patient(by_id["sid-pop2-no-igg-t0"], "alive-no-igg"),  # insufficient data: measure IgG, IgA, IgM
        # The same two decisions, but the patients have died: no row, no GuidanceResponse, counted as deceased.
        *patient(copy_patient(by_id["sid-pop2-window"], "dead-start"), deceasedBoolean=True),
        *patient(copy_patient(by_id["sid-overdue"], "dead-on-igrt"), deceasedDateTime="2026-09-14T08:30:00+02:00"),
        # Nothing the guideline reads (a Synthea-like record): not relevant, never "measure IgG, IgA and IgM".
        *bare("unrelated-hypertension"),
        *unrelated_data("unrelated-hypertension", on=date(2026, 3, 2)),
        *bare("unrelated-bare", deceasedBoolean=False),
        *bare("dead-unrelated", deceasedDateTime="2025-12-24"),  # deceased first, whether relevant or not
    ]
    return write_export(resources, directory)


def test_deceased_and_unrelated_patients_are_counted_not_listed(tmp_path: Path) -> None:
    result = run(_quiet_patients_export(tmp_path / "export"), tmp_path / "out")
    rows = {row.patient_id: row for row in result.rows}
    assert [row.patient_id for row in result.worklist] == ["alive-start", "alive-no-igg"]
    assert (rows["alive-start"].recommendation, rows["alive-no-igg"].recommendation) == ("start", "insufficient-data")
    assert {p: rows[p].recommendation for p in rows if not rows[p].on_worklist} == {
        "dead-start": "deceased",
        "dead-on-igrt": "deceased",
        "dead-unrelated": "deceased",
        "unrelated-hypertension": "not-relevant",
        "unrelated-bare": "not-relevant",
    }
    assert rows["dead-on-igrt"].rule == "no-recommendation-patient-deceased"
    assert not any(rows[p].patient_view_card or rows[p].missing for p in rows if not rows[p].on_worklist)
    assert [row.on_worklist for row in result.rows] == [True, True, False, False, False, False, False]  # listed first
    assert result.counts == {"evaluated": 7, "worklist": 2, "card": 2, "not-relevant": 2, "deceased": 3}

    with (tmp_path / "out" / "worklist.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [r["patient_id"] for r in table] == ["alive-start", "alive-no-igg"]
    responses = [json.loads(line) for line in (tmp_path / "out" / "guidance-responses.ndjson").read_text().splitlines()]
    assert [r["subject"]["reference"] for r in responses] == ["Patient/alive-start", "Patient/alive-no-igg"]
    page = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert "7 patients evaluated" in page and "2 on the worklist, of\nwhom 2 would get a patient-view card" in page
    assert "<li>2 not relevant: the guideline does not concern them" in page
    assert "<li>3 deceased (<code>Patient.deceased[x]</code>)" in page


def test_deceased_and_unrelated_patients_are_no_change_in_compare_mode(tmp_path: Path) -> None:
    export = _quiet_patients_export(tmp_path / "export")
    shorter_washout = DEFAULT_PARAMETERS.with_interpretations({"igg_washout_days": 30})
    result = run(export, tmp_path / "out", compare=shorter_washout, compare_label="washout-30.json")
    assert len(result.compared) == 7
    assert (tmp_path / "out" / "changes.csv").read_text(encoding="utf-8").count("\n") == 1  # the header only
    assert "0 patients' decision would change" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")


def test_the_command_counts_deceased_and_unrelated_patients(tmp_path: Path) -> None:
    import subprocess
    import sys

    export = _quiet_patients_export(tmp_path / "export")
    command = [sys.executable, "-m", "commands.cli", "cohort", str(export), "--as-of", "2026-11-20"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CDS_AUTH": "off"},
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[0]
    assert summary.startswith("7 patients as of 2026-11-20 in "), summary
    for count in ("start 1", "insufficient-data 1", "not-relevant 2", "deceased 3"):
        assert count in summary, summary


HOSTILE_IDS = ["=HYPERLINK(1)", "+1+1", "@x", "\tx", "x" * 64 + "1", "x" * 64 + "2", "a b", "y" * 64]
"""Patient ids an export may hold (issue 29 §3): formulas, a leading TAB, two that share 64 characters, a space, and
a FHIR id too long to fit after the prefix."""


def test_patients_whose_id_is_not_a_fhir_id_are_listed_safely(tmp_path: Path) -> None:
    """Before: worklist.csv held ``=HYPERLINK(1)`` raw, both ``x...x1`` and ``x...x2`` got one GuidanceResponse id, and
    ``subject.reference`` was ``Patient/=HYPERLINK(1)``."""
    templates, shared = templates_by_patient(fixture_resources())
    start = next(t for t in templates if any(r.get("id") == "sid-pop2-window" for r in t))
    resources = [*shared, *(r for patient_id in HOSTILE_IDS for r in copy_patient(start, patient_id))]
    result = run(write_export(resources, tmp_path / "export"), tmp_path / "out")
    assert sorted(row.patient_id for row in result.worklist) == sorted(HOSTILE_IDS)  # evaluated and listed
    assert {row.recommendation for row in result.worklist} == {"start"}

    with (tmp_path / "out" / "worklist.csv").open(encoding="utf-8", newline="") as handle:
        listed = [line["patient_id"] for line in csv.DictReader(handle)]
    assert sorted(listed) == sorted(("'" if i[0] in "=+@\t" else "") + i for i in HOSTILE_IDS)

    responses = [json.loads(line) for line in (tmp_path / "out" / "guidance-responses.ndjson").read_text().splitlines()]
    ids = [r["id"] for r in responses]
    assert len(set(ids)) == len(HOSTILE_IDS) and all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", i) for i in ids)
    subjects = {r["subject"].get("reference") or r["subject"]["identifier"]["value"]: r["subject"] for r in responses}
    assert subjects["Patient/" + "y" * 64] == {"reference": "Patient/" + "y" * 64}  # a FHIR id: a literal reference
    assert subjects["=HYPERLINK(1)"] == {
        "type": "Patient",
        "identifier": {"system": "urn:sid-igrt:bulk-export:patient-id", "value": "=HYPERLINK(1)"},
    }
    assert sum("reference" in s for s in subjects.values()) == 1


def _other_servers_patient(directory: Path, server: str) -> Path:
    """Local patient ``x`` with nothing the guideline reads; ``server``'s patient ``x`` with a start-IgRT record."""
    templates, shared = templates_by_patient(fixture_resources())
    start = next(t for t in templates if any(r.get("id") == "sid-pop2-window" for r in t))
    theirs = [r for r in copy_patient(start, "x") if r["resourceType"] != "Patient"]
    for resource in theirs:
        for key in ("subject", "patient"):
            if resource.get(key, {}).get("reference") == "Patient/x":
                resource[key]["reference"] = f"{server}/Patient/x"
    local = {"resourceType": "Patient", "id": "x", "birthDate": "1961-04-02"}
    return write_export([*shared, local, *theirs], directory)


def test_another_servers_patient_is_not_merged_with_the_local_one(tmp_path: Path) -> None:
    """Before: the other server's records made the local ``Patient/x`` a start-IgRT patient."""
    export = _other_servers_patient(tmp_path / "export", "https://other.example/fhir")
    result = run(export, tmp_path / "out")
    [row] = result.rows
    assert (row.patient_id, row.recommendation) == ("x", "not-relevant")
    foreign = sum(1 for path in export.glob("*.ndjson") for line in path.read_bytes().splitlines() if b"other." in line)
    assert result.other_server == foreign > 3 and result.without_patient == 0
    page = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert f"<li>{foreign} name a patient on another server" in page and "<li>0 name no patient" in page


def test_this_servers_absolute_references_are_merged_when_the_base_is_known(tmp_path: Path) -> None:
    export = _other_servers_patient(tmp_path / "export", "https://ehr.example/fhir")
    outputs = [{"type": path.stem, "url": path.name} for path in sorted(export.glob("*.ndjson"))]
    request = "https://ehr.example/fhir/$export"
    manifest = {"transactionTime": "2026-11-20T00:00:00Z", "request": request, "output": outputs}
    (export / "manifest.json").write_bytes(orjson.dumps(manifest))
    [row] = run(export, tmp_path / "out").rows
    assert (row.patient_id, row.recommendation) == ("x", "start")
    (export / "manifest.json").unlink()
    unknown = run(export, tmp_path / "unknown")  # no manifest: an absolute reference is another server's
    assert unknown.rows[0].recommendation == "not-relevant" and unknown.other_server > 3


def test_the_command_reports_other_servers_resources(tmp_path: Path) -> None:
    import subprocess
    import sys

    export = _other_servers_patient(tmp_path / "export", "https://other.example/fhir")
    command = [sys.executable, "-m", "commands.cli", "cohort", str(export), "--as-of", "2026-11-20", "--workers", "1"]
    env = {**os.environ, "CDS_AUTH": "off"}
    done = subprocess.run([*command, "--out", str(tmp_path / "a")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "resources name a patient on another server and were not evaluated" in done.stderr
    assert "unknown: no manifest.json in the export and no --fhir-base" in done.stderr
    given = [*command, "--out", str(tmp_path / "b"), "--fhir-base", "https://other.example/fhir/"]
    merged = subprocess.run(given, capture_output=True, text=True, env=env)
    assert merged.returncode == 0 and "another server" not in merged.stderr, merged.stderr
    assert "start 1" in merged.stdout.splitlines()[0]
