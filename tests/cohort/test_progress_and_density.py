"""Progress of long steps (``cohort.progress``) and the realistic synthetic profile (``cohort.synth_density``)."""

from __future__ import annotations

import gzip
import io
import random
from datetime import date
from pathlib import Path

import orjson

from cohort.export import open_export
from cohort.progress import step
from cohort.relevance import READ_TYPES, classify_bytes
from cohort.synth_density import DensityWriter
from fhir_mappers import code_table
from tests.cohort.test_cohort import run


def test_without_a_terminal_progress_is_a_line_per_tenth_and_one_at_the_end() -> None:
    stream = io.StringIO()
    with step(stream, "evaluating", 100, "patients") as meter:
        for _ in range(100):
            meter.advance(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11  # 10 %, 20 % ... 100 %, and the closing line
    assert lines[0].startswith("evaluating: 10 patients/100 patients (10%), ") and lines[0].endswith(" s left")
    assert lines[-1].startswith("evaluating: 100 patients/100 patients (100%)") and lines[-1].endswith(" s")
    with step(stream, "reading", 3e9, "bytes") as meter:
        meter.advance(1.5e9)
    assert "reading: 1.5 GB/3.0 GB (50%)" in stream.getvalue()
    silent = step(None, "x", 10)
    with silent as meter:
        meter.advance(10)  # no stream: nothing written, nothing raised


def test_the_realistic_profile_is_dense_and_reads_nothing_the_rules_use_but_body_weight(tmp_path: Path) -> None:
    writer = DensityWriter(tmp_path, rng=random.Random(4), as_of=date(2026, 11, 20), gzip=True)
    for number in range(20):
        writer.write("Patient", orjson.dumps({"resourceType": "Patient", "id": f"p{number}"}))
        writer.patient(f"p{number}")
    writer.close()
    assert sum(writer.written.values()) / 20 > 300  # hundreds of resources a patient
    unread = sum(count for kind, count in writer.written.items() if kind not in READ_TYPES)
    assert unread > sum(writer.written.values()) / 4  # claims, notes ...: most of the bytes
    codes = code_table()
    used: set[str] = set()
    for path in sorted(tmp_path.glob("*.ndjson.gz")):
        for raw in gzip.decompress(path.read_bytes()).splitlines():
            resource = orjson.loads(raw)
            if resource["resourceType"] in READ_TYPES and resource["resourceType"] != "Patient":
                for key in ("code", "vaccineCode", "medicationCodeableConcept"):
                    used |= {m.concept for m in codes.matches(resource.get(key), by_name=True)}
            if classify_bytes(raw) is not None:
                assert resource["resourceType"] not in READ_TYPES or "29463-7" not in raw.decode()
    assert used == {"body-weight"}  # Synthea carries weights, which the rules read; nothing else they use
    export = open_export(tmp_path)
    assert export.outputs is not None and len(export.outputs) == len(writer.written)
    result = run(tmp_path, tmp_path / "out")
    assert len(result.rows) == 20 and {r.recommendation for r in result.rows} == {"not-relevant"}
    skipped = {t.resource_type: t for t in result.inventory.types}
    assert skipped["Observation"].skipped_prefilter > skipped["Observation"].read > 0
    assert {kind for kind, _, _ in result.inventory.files_skipped} >= {"Claim", "ExplanationOfBenefit"}
