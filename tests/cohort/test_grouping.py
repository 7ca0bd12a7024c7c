"""Patients' lines in SQLite, batched by lines and bytes (issue 29 §4: 5,000 lines under the limit are 80 GB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.grouping import PatientGrouper


def test_a_batch_is_written_before_it_would_pass_its_byte_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cohort.grouping._BATCH_BYTES", 100)
    grouper = PatientGrouper(tmp_path / "g.sqlite3")
    try:
        written = []
        for patient, size in [("a", 40), ("b", 40), ("a", 40), ("c", 500), ("b", 1)]:
            grouper.add(patient, b"x" * size)
            written.append(grouper._db.execute("SELECT COUNT(*) FROM resource").fetchone()[0])
            assert grouper._pending_bytes <= 100 or len(grouper._pending) == 1  # the budget, or one longer line
        assert written == [0, 0, 2, 3, 4]  # 40+40 kept; +40 would pass 100: written first; the long line alone
        assert [(p, [len(b) for b in bodies]) for p, bodies in grouper.patients()] == [
            ("a", [40, 40]),
            ("b", [40, 1]),
            ("c", [500]),
        ]
    finally:
        grouper.close()
