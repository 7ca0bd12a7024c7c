"""The worklist's run state, kept next to its outputs (``OUT/.worklist-state.sqlite3``): incremental and resumable.

One SQLite file holds:

* ``resource``: every kept line (``cohort.reading.Kept``) by ``(type, id)``, with its patient: each patient's full
  record. A full run replaces it with the export's lines; a delta run (``cds-service cohort --delta``: the input is a
  ``_since`` export of the resources changed since) replaces the stored resources of the same ``(type, id)`` and adds
  the new ones, and the manifest's ``deleted[]`` removes resources. Every patient is then evaluated on the whole
  stored record. Lines are loaded into ``incoming`` first and applied in one transaction, so an interrupted load
  leaves the state as it was.
* ``medication``: the Medications by id (the formulary, for ``medicationReference``), replaced or merged alike.
* ``run_rows``: the rows of the run under way, written per finished chunk. A run interrupted (Ctrl-C, kill) and
  started again with the same input, ``as_of`` and settings (``run_key``) continues: the load is not repeated when
  it had finished, and patients already evaluated are not evaluated again.
* ``last_rows``: the rows of the last completed run, by patient (``cohort.evaluation.Placed.previous``: what
  changed since then). ``WorklistRow`` is stored field by field from its dataclass fields (``row_bytes``), so a
  new field needs no change here; a field missing from an older state takes its default.

FHIR R4 Bulk Data reports deletions only in the manifest's ``deleted[]`` (a server may leave it out): a resource
deleted on the server and absent from ``deleted[]`` stays in the state until the next full run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sqlite3
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from cohort.evaluation import WorklistRow
from cohort.reading import Kept

STATE_FILE = ".worklist-state.sqlite3"
"""The state's file name in the output directory."""
_SCHEMA = 1
PAGE_BYTES = 16 * 1024
"""The page size of a new state file (SQLite's ``PRAGMA page_size``)."""
_Pair = tuple[WorklistRow, WorklistRow | None]


class StateError(RuntimeError):
    """The state file cannot be used (another schema, or not a worklist state): ``--fresh`` starts anew."""


def run_key(*parts: object) -> str:
    """A stable digest of what decides a run's rows (input files, ``as_of``, settings ...), to resume only the same."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def row_bytes(value: WorklistRow | list[WorklistRow | None]) -> str:
    """A row (or each row of a list, ``None`` kept) as JSON text: one key per dataclass field, in order.

    orjson writes a dataclass as an object of its fields, a date as ISO and a tuple as a list, in one call without a
    Python step per field (``tests/cohort/test_state.py``). A ``str``, not orjson's bytes: each bytes object it
    returns keeps a 4 KiB buffer (100,000 rows: 400 MB).
    """
    return orjson.dumps(value).decode()


def row_from_json(data: Mapping[str, Any]) -> WorklistRow:
    """The row ``row_bytes`` wrote, parsed: fields it lacks take their defaults, fields the row lacks are dropped.

    Raises:
        StateError: a field without a default is missing.
    """
    values: dict[str, Any] = {}
    for name, read, required in _row_readers():
        if name in data:
            value = data[name]
            values[name] = None if value is None else read(value)
        elif required:
            raise StateError(f"a stored row lacks {name!r}: start anew with --fresh")
    return WorklistRow(**values)


@functools.cache
def _row_readers() -> tuple[tuple[str, Any, bool], ...]:
    """Per ``WorklistRow`` field: its name, how to read its JSON value (``_reader``), whether it has no default.

    Resolved once: ``typing.get_type_hints`` is slow (0.17 ms a call), and a run reads every row back.
    """
    hints = typing.get_type_hints(WorklistRow)
    return tuple(
        (
            f.name,
            _reader(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(WorklistRow)
    )


def _reader(hint: Any) -> Any:
    """How a field of type ``hint`` is read from JSON (not ``None``): a date from ISO, a tuple from a list, or as is."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is date:
            return date.fromisoformat
        if typing.get_origin(option) is tuple:
            return tuple
    return _as_is


def _as_is(value: Any) -> Any:
    return value


def read_medications(path: Path) -> dict[str, Mapping[str, Any]]:
    """The stored Medications of the state file ``path`` (read-only), ``"Medication/id"`` -> resource."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {f"Medication/{rid}": orjson.loads(body) for rid, body in db.execute("SELECT rid, body FROM medication")}
    finally:
        db.close()


class RecordReader:
    """A worker process's read-only view of the state file ``path``: the records of a range of patients.

    Each evaluating process opens its own (``cohort.local_engine.evaluate_chunk``): resource bytes never go through
    the pool's pipes, and the main process does not spend a core reading and pickling them for the workers.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.pid = os.getpid()
        """The process that opened it (a connection is not used across a fork)."""

    def records_between(self, first: str, last: str) -> Iterator[tuple[str, list[bytes]]]:
        """Yield each stored patient with an id from ``first`` to ``last`` (inclusive) and their resources' bytes.

        In patient-id order, one patient at a time (a cursor, never the range's whole records).
        """
        rows = self._db.execute(
            "SELECT patient, body FROM resource WHERE patient BETWEEN ? AND ? ORDER BY patient", (first, last)
        )
        return _grouped(rows, set())

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def _grouped(rows: Iterable[tuple[str, bytes]], skip: set[str]) -> Iterator[tuple[str, list[bytes]]]:
    """``(patient, body)`` rows in patient order, as ``(patient, bodies)`` per patient not in ``skip``."""
    current: str | None = None
    bodies: list[bytes] = []
    for patient, body in rows:  # one row at a time: a patient's lines, never the whole table
        if patient != current:
            if current is not None and current not in skip:
                yield current, bodies
            current, bodies = patient, []
        bodies.append(body)
    if current is not None and current not in skip:
        yield current, bodies


class RunState:
    """The state file of one output directory (see the module docstring); one run uses it at a time.

    Args:
        path: the SQLite file (created with its tables when new).

    Raises:
        StateError: the file is another schema's or not a state file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        try:
            # A new file's page size (an existing file keeps its own): kept lines are about 1 KB each, and 16 KiB
            # pages cost a load about 15 % less CPU than SQLite's 4 KiB default (fewer pages and WAL frames).
            self._db.execute(f"PRAGMA page_size={PAGE_BYTES}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cache_size=-16384")  # 16 MiB of page cache: the run's memory stays bounded
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS resource (patient TEXT NOT NULL, type TEXT NOT NULL, rid TEXT NOT NULL,
                                                     body BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS resource_patient ON resource (patient);
                CREATE TABLE IF NOT EXISTS medication (rid TEXT PRIMARY KEY, body BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS run_rows (patient TEXT PRIMARY KEY, pair BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS last_rows (patient TEXT PRIMARY KEY, row BLOB NOT NULL);
                """
            )
            schema = self.meta("schema")
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StateError(f"{path}: not a worklist state ({error}); start anew with --fresh") from error
        if schema is None:
            self.set_meta("schema", str(_SCHEMA))
        elif schema != str(_SCHEMA):
            self._db.close()
            raise StateError(f"{path}: state schema {schema}, this version reads {_SCHEMA}; start anew with --fresh")

    def meta(self, key: str) -> str | None:
        """A ``meta`` value, or ``None``."""
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``meta`` value (committed)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- the load ---------------------------------------------------------------------------------------------------

    def begin_load(self) -> Loader:
        """Start loading an export's kept lines into ``incoming`` (emptied first); ``Loader.apply`` applies them.

        Reading workers may write into ``incoming`` from their own connections meanwhile (``cohort.local_engine``).
        """
        self._db.executescript(
            """
            DROP TABLE IF EXISTS incoming;
            DROP TABLE IF EXISTS incoming_medication;
            CREATE TABLE incoming (patient TEXT NOT NULL, type TEXT NOT NULL, rid TEXT NOT NULL, body BLOB NOT NULL);
            CREATE TABLE incoming_medication (rid TEXT PRIMARY KEY, body BLOB NOT NULL);
            """
        )
        return Loader(self._db)

    def patients(self) -> int:
        """The number of patients with stored resources."""
        return int(self._db.execute("SELECT COUNT(DISTINCT patient) FROM resource").fetchone()[0])

    def records(self, skip: set[str]) -> Iterator[tuple[str, list[bytes]]]:
        """Yield each stored patient not in ``skip`` with the bytes of their resources, in patient-id order."""
        return _grouped(self._db.execute("SELECT patient, body FROM resource ORDER BY patient"), skip)

    def patient_ids(self, skip: set[str]) -> list[str]:
        """The ids of the stored patients not in ``skip``, in order (read from the patient index alone)."""
        rows = self._db.execute("SELECT DISTINCT patient FROM resource ORDER BY patient")
        return [patient for (patient,) in rows if patient not in skip]

    def record_of(self, patient: str) -> list[bytes]:
        """The stored resources of one patient (their bytes): the record the run evaluated them on."""
        return [body for (body,) in self._db.execute("SELECT body FROM resource WHERE patient = ?", (patient,))]

    def medications(self) -> dict[str, Mapping[str, Any]]:
        """The stored Medications, ``"Medication/id"`` -> resource."""
        rows = self._db.execute("SELECT rid, body FROM medication")
        return {f"Medication/{rid}": orjson.loads(body) for rid, body in rows}

    # -- rows -------------------------------------------------------------------------------------------------------

    def start_run(self, key: str) -> None:
        """Begin a new run under ``key``: forget the rows of an unfinished one."""
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM run_rows")
        self.set_meta("run_key", key)
        self.set_meta("run_stage", "loading")
        self._db.execute("COMMIT")

    def resumable(self, key: str) -> bool:
        """Whether an unfinished run under ``key`` finished its load (then it continues from its rows)."""
        return self.meta("run_key") == key and self.meta("run_stage") == "evaluating"

    def save_rows(self, pairs: Iterable[_Pair]) -> None:
        """Store finished patients' rows of the run under way (one transaction: a chunk is stored whole or not)."""
        data = [(row.patient_id, row_bytes([row, other])) for row, other in pairs]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO run_rows VALUES (?, ?)", data)
        self._db.execute("COMMIT")

    def run_rows(self) -> list[_Pair]:
        """Every stored row of the run under way."""
        pairs = []
        for (pair,) in self._db.execute("SELECT pair FROM run_rows"):
            row, other = orjson.loads(pair)
            pairs.append((row_from_json(row), None if other is None else row_from_json(other)))
        return pairs

    def done_patients(self) -> set[str]:
        """The patients of the run under way already evaluated."""
        return {patient for (patient,) in self._db.execute("SELECT patient FROM run_rows")}

    def previous(self) -> dict[str, WorklistRow] | None:
        """The last completed run's rows by patient, or ``None`` when no run has completed here."""
        if self.meta("last_run_key") is None:
            return None
        return {
            patient: row_from_json(orjson.loads(row)) for patient, row in self._db.execute("SELECT * FROM last_rows")
        }

    def complete(self, pairs: Iterable[_Pair]) -> None:
        """Record a completed run: its rows become ``last_rows`` (the next run's ``previous``)."""
        data = ((row.patient_id, row_bytes(row)) for row, _ in pairs)  # streamed
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM last_rows")
        self._db.executemany("INSERT INTO last_rows VALUES (?, ?)", data)
        self.set_meta("last_run_key", self.meta("run_key") or "")
        self.set_meta("run_stage", "complete")
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the file (it stays: it is the state)."""
        self._db.close()


class Loader:
    """Collects one export's kept lines and Medications, then applies them to the state (``apply``).

    A reading worker process makes its own on its own connection (``cohort.local_engine.read_file_to_state``): its
    batches go into the same ``incoming`` table, one short write transaction each, while the others read.
    """

    _BATCH_BYTES = 4 * 1024 * 1024

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._pending: list[tuple[str, str, str, bytes]] = []
        self._bytes = 0
        self.lines = 0

    def add(self, kept: Kept) -> None:
        """Queue one kept line (written in batches of at most ``_BATCH_BYTES``)."""
        self._pending.append((kept.patient, kept.resource_type, kept.rid, kept.raw))
        self._bytes += len(kept.raw)
        self.lines += 1
        if self._bytes >= self._BATCH_BYTES:
            self.flush()

    def add_medication(self, rid: str, raw: bytes) -> None:
        """Queue one Medication (the formulary) by id."""
        self._db.execute("INSERT OR REPLACE INTO incoming_medication VALUES (?, ?)", (rid, raw))

    def flush(self) -> None:
        """Write the queued lines (the write lock taken at once: another process's loader waits its turn)."""
        if self._pending:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO incoming VALUES (?, ?, ?, ?)", self._pending)
            self._db.execute("COMMIT")
            self._pending.clear()
            self._bytes = 0

    def apply(self, *, delta: bool, deleted: Iterable[tuple[str, str]] = (), report: str = "") -> None:
        """Apply the load in one transaction: replace everything (full), or merge by ``(type, id)`` (delta).

        ``deleted``: ``(type, id)`` of resources to remove (the manifest's ``deleted[]``), after the merge.
        ``report``: what the load found (JSON text, ``meta`` ``load_report``), kept for a resumed run.
        """
        self.flush()
        deleted = list(deleted)
        db = self._db
        db.execute("BEGIN")
        if delta or deleted:
            # The (type, id) index only when merging: a full run never looks a resource up by its key.
            db.execute("CREATE INDEX IF NOT EXISTS resource_key ON resource (type, rid)")
        if delta:
            db.execute("CREATE INDEX incoming_key ON incoming (type, rid)")
            db.execute(
                "DELETE FROM resource WHERE EXISTS "
                "(SELECT 1 FROM incoming WHERE incoming.type = resource.type AND incoming.rid = resource.rid)"
            )
            db.execute("INSERT INTO resource SELECT * FROM incoming")
            db.execute("INSERT OR REPLACE INTO medication SELECT * FROM incoming_medication")
        else:
            db.execute("DROP TABLE resource")
            db.execute("ALTER TABLE incoming RENAME TO resource")
            db.execute("CREATE INDEX resource_patient ON resource (patient)")
            db.execute("DELETE FROM medication")
            db.execute("INSERT INTO medication SELECT * FROM incoming_medication")
        for kind, rid in deleted:
            db.execute("DELETE FROM resource WHERE type = ? AND rid = ?", (kind, rid))
            if kind == "Medication":
                db.execute("DELETE FROM medication WHERE rid = ?", (rid,))
        db.execute("DROP TABLE IF EXISTS incoming")
        db.execute("DROP TABLE incoming_medication")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('load_report', ?)", (report,))
        db.execute("UPDATE meta SET value = 'evaluating' WHERE key = 'run_stage'")
        db.execute("COMMIT")
