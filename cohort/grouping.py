"""Gathering each patient's resources in an embedded SQLite file, so an export of any size streams through.

Lines are appended in batches to one table and indexed by patient once loaded; patients are then read back one at
a time in patient-id order. Memory stays flat whatever the export's size (one batch and one patient at a time): a
batch holds at most ``_BATCH`` lines and ``_BATCH_BYTES`` bytes (or one line longer than that; 5,000 lines just under
the 16 MiB line limit would otherwise be 80 GB), and rows are read back one at a time. One patient's resources are
held together, as a hook call's are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

_BATCH = 5000
"""Lines per write."""
_BATCH_BYTES = 32 * 1024 * 1024
"""Bytes of lines per write, at most (unless one line is longer)."""


class PatientGrouper:
    """Append ``(patient, raw resource)`` rows, then iterate ``(patient, [raw, ...])`` per patient.

    Args:
        path: the SQLite file (created; removed by ``close``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE resource (patient TEXT NOT NULL, body BLOB NOT NULL)")
        self._pending: list[tuple[str, bytes]] = []
        self._pending_bytes = 0

    def add(self, patient: str, raw: bytes) -> None:
        """Queue one resource of ``patient`` (written in batches of ``_BATCH`` lines or ``_BATCH_BYTES``).

        The batch is written *before* a line that would make it too large, so the line is written with the next
        batch, once its caller has let go of its parsed copy (not both held while SQLite takes it).
        """
        if self._pending and (len(self._pending) >= _BATCH or self._pending_bytes + len(raw) > _BATCH_BYTES):
            self._flush()
        self._pending.append((patient, raw))
        self._pending_bytes += len(raw)

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO resource VALUES (?, ?)", self._pending)
            self._pending.clear()
            self._pending_bytes = 0

    def patients(self) -> Iterator[tuple[str, list[bytes]]]:
        """Yield each patient with its resources' raw JSON, in patient-id order."""
        self._flush()
        self._db.commit()
        self._db.execute("CREATE INDEX IF NOT EXISTS resource_patient ON resource (patient)")
        cursor = self._db.execute("SELECT patient, body FROM resource ORDER BY patient, rowid")
        current: str | None = None
        bodies: list[bytes] = []
        for patient, body in cursor:  # one row at a time: a patient's lines, not a batch of any size
            if patient != current and current is not None:
                yield current, bodies
                bodies = []
            current = patient
            bodies.append(body)
        if current is not None:
            yield current, bodies

    def count(self) -> int:
        """Return the number of distinct patients."""
        self._flush()
        return int(self._db.execute("SELECT COUNT(DISTINCT patient) FROM resource").fetchone()[0])

    def close(self) -> None:
        """Close and delete the file."""
        self._db.close()
        self.path.unlink(missing_ok=True)
