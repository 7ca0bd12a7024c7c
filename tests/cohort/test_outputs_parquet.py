"""``worklist.parquet`` (``cohort.parquet``): the schema a warehouse relies on, a value-exact round trip, and a run
without pyarrow saying so instead of failing."""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from pathlib import Path

import pytest

from cohort import parquet
from cohort.outputs import write_worklist
from tests.cohort.test_outputs_display import AS_OF, row

if os.environ.get("CDS_TEST_REQUIRE_PARQUET") == "1":  # .ci/run installs it (make parquet): a skip would hide a gap
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = pytest.importorskip("pyarrow", reason="pyarrow is an optional extra: make parquet")
    pq = pytest.importorskip("pyarrow.parquet")


def rows() -> list:
    return [
        row("p1", "stop", stop_due=AS_OF - timedelta(days=3), population=2, interpretations=("igg_washout_days",)),
        row(
            "=HYPERLINK(1)",
            "insufficient-data",
            missing=("measure IgG, IgA and IgM", "Observation/x: =cmd"),
            population=None,
            order_lab_tests=True,
            display="-MRN",
        ),  # fmt: skip
        row("gone", "deceased", display="DEAD"),  # not on the worklist: not written
    ]


def test_the_schema_is_typed() -> None:
    schema = parquet.schema()
    types = {field.name: str(field.type) for field in schema}
    assert types == {
        "as_of": "date32[day]",
        "patient_id": "string",
        "display": "string",
        "action": "string",
        "recommendation": "string",
        "rule": "string",
        "population": "int8",
        "t0": "date32[day]",
        "window_end": "date32[day]",
        "stop_due": "date32[day]",
        "next_follow_up": "date32[day]",
        "on_igrt": "bool",
        "patient_view_card": "bool",
        "order_lab_tests": "bool",
        "missing_data": "list<item: string>",
        "interpretations": "list<item: string>",
    }
    assert not schema.field("patient_id").nullable and schema.field("stop_due").nullable


def test_round_trip_is_exact_and_in_the_csvs_order(tmp_path: Path) -> None:
    assert parquet.write_parquet(rows(), tmp_path / "w.parquet", as_of=AS_OF) is None
    table = pq.read_table(tmp_path / "w.parquet")
    assert table.schema.equals(parquet.schema())
    back = table.to_pylist()
    assert [r["patient_id"] for r in back] == ["p1", "=HYPERLINK(1)"]  # exact: no spreadsheet quote
    first, second = back
    assert first["stop_due"] == AS_OF - timedelta(days=3) and first["as_of"] == AS_OF and first["t0"] is None
    assert (first["on_igrt"], first["population"], first["action"]) == (True, 2, "1-stop")
    assert first["interpretations"] == ["igg_washout_days"]
    assert second["missing_data"] == ["measure IgG, IgA and IgM", "Observation/x: =cmd"]
    assert (second["population"], second["order_lab_tests"], second["display"]) == (None, True, "-MRN")
    write_worklist(rows(), tmp_path / "w.csv")
    with (tmp_path / "w.csv").open(encoding="utf-8", newline="") as handle:
        listed = [line["patient_id"] for line in csv.DictReader(handle)]
    assert listed == ["p1", "'=HYPERLINK(1)"]  # the same rows in the same order (the CSV quotes formulas)


def test_without_pyarrow_a_run_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "available", lambda: False)
    assert parquet.write_parquet(rows(), tmp_path / "w.parquet", as_of=AS_OF) == parquet.MISSING_NOTE
    assert not (tmp_path / "w.parquet").exists()
    from tests.cohort.test_cohort import fixture_resources, run, write_export

    result = run(write_export(fixture_resources(), tmp_path / "export"), tmp_path / "out")
    assert result.notes == (parquet.MISSING_NOTE,)
    assert tmp_path / "out" / "worklist.parquet" not in result.outputs
    assert parquet.MISSING_NOTE.split(":")[0] in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
