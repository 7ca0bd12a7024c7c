"""The decision insert on the driver's own connection: two prepared statements, ``executemany``, one transaction.

Every hook call writes a decision row (and a row per card shown beside the decision card), so this insert is the
audit's hot path. Through SQLAlchemy Core it cost about 160 us of CPU per call on SQLite, nearly all of it
SQLAlchemy's per-statement bookkeeping; the driver itself takes under 20 us (``scripts/audit_cost.py``). So the
statements are compiled once per database by SQLAlchemy (the same SQL, casts and parameter style it would send),
the values converted by the column types' own bind processors (the stored bytes are those SQLAlchemy writes and
reads back), and a batch is sent with the driver's ``executemany`` (prepared once by sqlite3's statement cache;
psycopg 3 pipelines it) and committed once.

On PostgreSQL the connection comes from the engine's pool for each batch (``pool_pre_ping`` guards it against a
restarted server), and one the driver reports as disconnected is invalidated, so the next batch opens a fresh one.
On SQLite (a local file: nothing to ping, nothing to lose between batches) the connection is kept from one batch
to the next, which spares the pool's checkout, reset and check-in (about 20 us of a lone decision's 110 us of CPU);
after any error it is given back (rolled back or invalidated) and the next batch takes a fresh one from the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError

from storage.database import Database
from storage.errors import StorageError
from storage.records import DecisionEntry
from storage.schema import Decision, IssuedCardRow

_DECISION_COLUMNS = (
    "recorded_at",
    "service_id",
    "hook",
    "hook_instance",
    "client_issuer",
    "patient_hmac",
    "outcome",
    "rule_id",
    "recommendation",
    "population",
    "guideline_version",
    "card_uuid",
    "as_of",
    "fetched_keys",
    "data_issue_count",
    "on_igrt",
    "suggestion_uuids",
)
_ISSUED_COLUMNS = (
    "recorded_at",
    "hook_instance",
    "card_uuid",
    "kind",
    "rule_id",
    "guideline_version",
    "service_id",
    "client_issuer",
    "suggestion_uuids",
)


class _Statement:
    """One table's INSERT compiled for the database's dialect, and how to turn a row of values into parameters."""

    def __init__(self, database: Database, table: Table, columns: tuple[str, ...]) -> None:
        dialect = database.engine.dialect
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self._positional = bool(compiled.positional)
        # Positional styles: the bind names in the order the SQL holds them; named styles: any order.
        names = tuple(compiled.positiontup or ()) if self._positional else columns
        if sorted(names) != sorted(columns):
            raise StorageError(f"unexpected bind parameters for {table.name}: {names}")
        self._names = columns
        self._order = None if names == columns else tuple(columns.index(name) for name in names)
        self._converters: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, process)
            for i, name in enumerate(columns)
            if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )

    def parameters(self, values: list[Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for one row: ``values`` in the order of the columns, converted in place."""
        for i, process in self._converters:
            values[i] = process(values[i])
        if not self._positional:
            return dict(zip(self._names, values, strict=True))
        return tuple(values) if self._order is None else tuple(values[i] for i in self._order)


class DecisionInsert:
    """Writes batches of decisions (and the cards issued beside them) in one transaction on the driver connection."""

    def __init__(self, database: Database) -> None:
        """Compile both statements for ``database``'s dialect (no connection is opened).

        Raises:
            StorageError: the dialect compiles the statements in a way this module does not expect.
        """
        self._database = database
        self._keep_connection = database.is_sqlite
        self._kept: Any = None  # SQLite: the pooled connection of the last successful batch, reused by the next
        self._kept_lock = threading.Lock()
        self._decision = _Statement(database, Decision.__table__, _DECISION_COLUMNS)  # type: ignore[arg-type]
        self._issued = _Statement(database, IssuedCardRow.__table__, _ISSUED_COLUMNS)  # type: ignore[arg-type]

    def write(self, entries: Sequence[DecisionEntry]) -> None:
        """Insert ``entries`` in one transaction (all or none).

        Raises:
            StorageError: a naive ``recorded_at``, or the database refused or could not be reached (rolled back).
        """
        decisions = []
        beside = []
        for e in entries:
            at = utc_instant(e.recorded_at)
            decisions.append(
                self._decision.parameters(
                    [
                        at,
                        e.service_id,
                        e.hook,
                        e.hook_instance,
                        e.client_issuer,
                        e.patient_hmac,
                        e.outcome,
                        e.rule_id,
                        e.recommendation,
                        e.population,
                        e.guideline_version,
                        e.card_uuid,
                        e.as_of,
                        ",".join(e.fetched_keys) or None,
                        e.data_issue_count,
                        e.on_igrt,
                        list(e.suggestion_uuids),
                    ]
                )
            )
            for card in e.issued_cards:
                if card.uuid != e.card_uuid:
                    beside.append(
                        self._issued.parameters(
                            [
                                at,
                                e.hook_instance,
                                card.uuid,
                                card.kind,
                                card.rule,
                                e.guideline_version,
                                e.service_id,
                                e.client_issuer,
                                list(card.suggestions),
                            ]
                        )
                    )
        if decisions:
            self._send(decisions, beside)

    def _send(self, decisions: list[Any], beside: list[Any]) -> None:
        engine = self._database.engine
        driver_error = engine.dialect.loaded_dbapi.Error
        with self._kept_lock:  # taken out while in use: a concurrent batch (a flush) takes its own from the pool
            connection, self._kept = self._kept, None
        if connection is None:
            try:
                connection = engine.raw_connection()
            except (SQLAlchemyError, driver_error) as error:  # the pool lets the driver's connect error through
                raise StorageError(f"database error: {_kind(error)}") from error
        cursor = None
        committed = False
        try:
            cursor = connection.cursor()
            cursor.executemany(self._decision.sql, decisions)
            if beside:
                cursor.executemany(self._issued.sql, beside)
            cursor.close()
            connection.commit()
            committed = True
        except driver_error as error:
            if engine.dialect.is_disconnect(error, connection.dbapi_connection, cursor):
                connection.invalidate(error)
            else:
                try:
                    connection.rollback()
                except driver_error:
                    connection.invalidate(error)
            raise StorageError(f"database error: {_kind(error)}") from error
        finally:
            if committed and self._keep_connection:
                with self._kept_lock:
                    connection, self._kept = self._kept, connection  # keep this one; give back any other
            if connection is not None:
                connection.close()  # back to the pool (or discarded, if invalidated)


_PEP_249 = frozenset(
    {
        "IntegrityError",
        "OperationalError",
        "DataError",
        "ProgrammingError",
        "InternalError",
        "NotSupportedError",
        "InterfaceError",
        "DatabaseError",
    }
)


def _kind(error: BaseException) -> str:
    """The PEP 249 class name of a driver error (psycopg raises subclasses such as ``NotNullViolation``).

    SQLAlchemy names the errors it wraps so: the logs say the same whichever path failed.
    """
    return next((c.__name__ for c in type(error).__mro__ if c.__name__ in _PEP_249), type(error).__name__)


def utc_instant(value: datetime) -> datetime:
    """Store instants in UTC: SQLite keeps no offset, so a local offset would be silently lost.

    Raises:
        StorageError: a naive datetime (its instant is unknown).
    """
    if value.tzinfo is None:
        raise StorageError("naive datetime: storage needs timezone-aware instants")
    return value.astimezone(UTC)
