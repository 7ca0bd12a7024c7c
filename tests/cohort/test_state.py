"""The run state (``cohort.state``): delta exports merged, deletions applied, previous rows kept, runs resumed.

A delta run (only the changed resources, ``--delta``) gives every patient the row a full run on the merged export
gives; ``deleted[]`` removes resources; the second run sees the first's rows as ``previous``; a run interrupted
(in-process, and a real process killed with SIGINT) continues without evaluating finished patients again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

import cohort.local_engine as local_engine
from cohort.evaluation import WorklistRow
from cohort.local_engine import chunks
from cohort.reading import Kept
from cohort.state import STATE_FILE, RecordReader, RunState, row_bytes, row_from_json
from cohort.synth import templates_by_patient, write_synthetic_cohort
from tests.cohort.test_cohort import AS_OF, fixture_resources, run, write_export


def _decisions(rows: Any) -> list[tuple[Any, ...]]:
    """Rows without ``display`` (a pseudonym keyed per output directory)."""
    return [tuple(getattr(r, f.name) for f in fields(r) if f.name != "display") for r in rows]


def test_a_row_survives_the_state_field_by_field() -> None:
    row = WorklistRow(
        patient_id="p1",
        recommendation="stop",
        rule="r",
        population=2,
        t0=date(2026, 1, 2),
        window_end=None,
        stop_due=date(2026, 3, 4),
        next_follow_up=None,
        on_igrt=True,
        patient_view_card=True,
        missing=("a", "b"),
        order_lab_tests=False,
        interpretations=("x",),
        display="MRN 1",
    )
    stored = orjson.loads(row_bytes(row))
    assert stored == {
        "patient_id": "p1",
        "recommendation": "stop",
        "rule": "r",
        "population": 2,
        "t0": "2026-01-02",
        "window_end": None,
        "stop_due": "2026-03-04",
        "next_follow_up": None,
        "on_igrt": True,
        "patient_view_card": True,
        "missing": ["a", "b"],
        "order_lab_tests": False,
        "interpretations": ["x"],
        "display": "MRN 1",
    }
    assert list(stored) == [f.name for f in fields(WorklistRow)]  # field by field, in the dataclass's order
    assert row_bytes([row, None]) == "[" + row_bytes(row) + ",null]"
    assert row_from_json(stored) == row
    older = {k: v for k, v in stored.items() if k not in ("interpretations", "display")}
    assert row_from_json({**older, "a_field_of_a_later_version": 1}) == replace(row, interpretations=(), display="")


def test_chunks_are_bounded_by_patients_and_keep_their_order() -> None:
    ids = [f"p{n}" for n in range(7)]
    assert list(chunks(ids, 3)) == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6"]]
    assert list(chunks([], 3)) == []


def _igg(patient: str, rid: str, value: float, day: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2465-3"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
    }


def _manifest(directory: Path, **sections: list[tuple[str, str]]) -> None:
    body = {"transactionTime": "2026-11-20T00:00:00Z", "request": "https://ehr.example/fhir/$export"}
    body.update({name: [{"type": t, "url": u} for t, u in items] for name, items in sections.items()})
    (directory / "manifest.json").write_bytes(orjson.dumps(body))


def test_a_worker_reads_the_records_of_its_range_of_patients(tmp_path: Path) -> None:
    """``RecordReader.records_between``: each patient from first to last (inclusive), in order, with all their lines."""
    state = RunState(tmp_path / STATE_FILE)
    loader = state.begin_load()
    for patient, rid in [("p3", "a"), ("p1", "b"), ("p2", "c"), ("p1", "d"), ("p4", "e"), ("p2", "f")]:
        loader.add(Kept(patient, "Observation", rid, rid.encode()))
    loader.apply(delta=False)
    assert state.patient_ids({"p2"}) == ["p1", "p3", "p4"]  # what the run sends to the workers: the ones not done
    reader = RecordReader(state.path)
    try:
        got = [(patient, sorted(bodies)) for patient, bodies in reader.records_between("p2", "p3")]
        assert got == [("p2", [b"c", b"f"]), ("p3", [b"a"])]
        assert [patient for patient, _ in reader.records_between("p0", "p9")] == ["p1", "p2", "p3", "p4"]
        assert list(reader.records_between("p5", "p9")) == []
    finally:
        reader.close()
        state.close()


def test_a_delta_export_is_merged_and_every_patient_evaluated_on_the_whole_record(tmp_path: Path) -> None:
    resources = fixture_resources()
    patient = "sid-pop2-window"
    full = write_export(resources, tmp_path / "full")
    out = tmp_path / "out"
    first = run(full, out)
    assert first.inventory.types and first.changes_since is None  # no run before
    # The delta: a new low IgG for one patient; one of another patient's resources deleted.
    deleted_patient = next(r for r in first.rows if r.patient_id != patient and r.on_worklist).patient_id
    gone = next(r for r in resources if r["resourceType"] == "Observation" and deleted_patient in str(r.get("subject")))
    delta = write_export([_igg(patient, "igg-new", 2.0, "2026-11-19")], tmp_path / "delta")
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": f"Observation/{gone['id']}"}}]}  # fmt: skip
    (delta / "deleted").mkdir()
    (delta / "deleted" / "del.ndjson").write_bytes(orjson.dumps(bundle) + b"\n")
    _manifest(delta, output=[("Observation", "Observation.ndjson")], deleted=[("Bundle", "deleted/del.ndjson")])
    merged = run(delta, out, delta=True)
    # The same rows as a full run on the export as it now is.
    now = [r for r in resources if r is not gone] + [_igg(patient, "igg-new", 2.0, "2026-11-19")]
    expected = run(write_export(now, tmp_path / "now"), tmp_path / "out-now")
    assert _decisions(merged.rows) == _decisions(expected.rows)
    assert len(merged.rows) == len(first.rows)  # patients absent from the delta are still evaluated
    assert merged.changes_since is not None  # the first run's rows were the previous ones


def test_a_delta_replaces_a_resource_of_the_same_type_and_id(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-01"}
    out = tmp_path / "out"
    run(write_export([patient, _igg("p", "o1", 9.0, "2026-11-01")], tmp_path / "a"), out)
    changed = run(write_export([_igg("p", "o1", 9.5, "2026-11-02")], tmp_path / "b"), out, delta=True)
    with sqlite3.connect(out / STATE_FILE) as db:
        bodies = [orjson.loads(b) for (b,) in db.execute("SELECT body FROM resource WHERE type = 'Observation'")]
    assert [b["valueQuantity"]["value"] for b in bodies] == [9.5]  # replaced, not added
    assert len(changed.rows) == 1
    fresh = run(write_export([patient], tmp_path / "c"), out)  # a full run replaces everything
    with sqlite3.connect(out / STATE_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM resource WHERE type = 'Observation'").fetchone()[0] == 0
    assert fresh.rows[0].recommendation == "not-relevant"


def _cohort(tmp_path: Path, count: int) -> Path:
    templates, shared = templates_by_patient(fixture_resources())
    export = tmp_path / "export"
    write_synthetic_cohort(count, export, templates=templates, shared=shared, as_of=AS_OF, seed=3)
    return export


def test_an_interrupted_run_continues_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = _cohort(tmp_path, 120)
    out = tmp_path / "out"
    real = local_engine.evaluate_chunk
    evaluated: list[str] = []
    interrupt = [True]

    def counting(chunk: Any) -> Any:
        if interrupt[0] and len(evaluated) >= 50:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the run
        evaluated.extend(chunk)
        return real(chunk)

    monkeypatch.setattr(local_engine, "CHUNK_PATIENTS", 10)
    monkeypatch.setattr(local_engine, "evaluate_chunk", counting)
    with pytest.raises(KeyboardInterrupt):
        run(export, out)
    assert len(evaluated) == 50
    first_part = set(evaluated)
    evaluated.clear()
    interrupt[0] = False
    resumed = run(export, out)
    assert not first_part & set(evaluated) and len(evaluated) == 70  # only the patients left
    monkeypatch.setattr(local_engine, "evaluate_chunk", real)
    whole = run(export, tmp_path / "whole")
    assert _decisions(resumed.rows) == _decisions(whole.rows)
    evaluated.clear()
    monkeypatch.setattr(local_engine, "evaluate_chunk", lambda chunk: evaluated.extend(chunk) or real(chunk))
    assert len(run(export, out).rows) == 120 and len(evaluated) == 120  # a completed run is not resumed: a new one
    evaluated.clear()
    assert len(run(export, out, fresh=True).rows) == 120 and len(evaluated) == 120


def test_a_killed_process_resumes(tmp_path: Path) -> None:
    """A real ``cds-service cohort`` interrupted with SIGINT (Ctrl-C) mid-evaluation, then started again."""
    export = _cohort(tmp_path, 3000)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "commands.cli", "cohort", str(export), "--as-of", AS_OF.isoformat()]
    command += ["--out", str(out), "--workers", "1"]
    env = {**os.environ, "CDS_AUTH": "off"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(out / STATE_FILE, timeout=1) as db:
                done = db.execute("SELECT COUNT(*) FROM run_rows").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= 500:
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.05)
    process.communicate(timeout=60)
    assert done >= 500 and process.returncode != 0, "the run ended before it could be interrupted"
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    resumed = [line for line in again.stderr.splitlines() if line.startswith("resuming:")]
    assert resumed and int(resumed[0].split()[1]) >= 500, again.stderr
    assert again.stdout.startswith("3000 patients as of")
