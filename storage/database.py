"""The database connection and its schema revision (Alembic), from one URL.

URLs: ``sqlite:///var/sid-igrt.sqlite3`` (embedded default, relative to the working directory) or
``postgresql://user:password@host:5432/db`` (``postgres://`` and ``postgresql://`` are read with the psycopg 3
driver).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnreachableError, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration is run or checked, not with this module: the command line's offline
# commands (the worklist, evaluate, explain) import the settings, which import this package, and never migrate.

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x51D16A7  # any constant unique to this application's advisory locks


def normalize_database_url(url: str) -> str:
    """Return ``url`` with PostgreSQL URLs pointed at the psycopg 3 driver.

    Raises:
        StorageError: not a database URL SQLAlchemy can read.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StorageError("DATABASE_URL is not a database URL") from error
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """An engine, a session factory, and the Alembic revision check for one database URL."""

    def __init__(self, url: str) -> None:
        """Create the engine (no connection is opened yet).

        Raises:
            StorageError: a malformed URL or an unsupported driver.
        """
        self.url = normalize_database_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        try:
            if self.is_sqlite:
                if parsed.database and parsed.database != ":memory:":
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                    _create_private(Path(parsed.database))
                self.engine: Engine = create_engine(self.url, connect_args={"timeout": 15})
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        except (ArgumentError, ImportError) as error:
            raise StorageError(f"cannot use this database URL ({parsed.get_backend_name()})") from error
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._head: str | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session in a transaction: committed on success, rolled back on error.

        Raises:
            StorageError: any database error (connection lost, constraint violated ...).
        """
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as error:
            raise StorageError(f"database error: {type(error).__name__}") from error

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Yield a Core connection in a transaction: committed on success, rolled back on error.

        Raises:
            StorageError: any database error.
        """
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise StorageError(f"database error: {type(error).__name__}") from error

    def upgrade(self) -> None:
        """Apply all Alembic migrations (``cds-service db upgrade``; ``cds-service serve`` does this first).

        Safe to run from several processes at once (gunicorn workers on a new SQLite file, replicas starting
        together): one migrates while the others wait, then find the schema current. PostgreSQL serializes on a
        transaction-level advisory lock, SQLite on an exclusive ``flock`` of ``<database>.migrate.lock``.

        Raises:
            StorageError: the database cannot be reached or a migration failed.
        """
        try:
            with self._migration_lock(), self.engine.begin() as connection:
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                from alembic import command

                config = self._alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as error:
            raise StorageError(f"migration failed: {type(error).__name__}: {error}") from error

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        database = make_url(self.url).database
        if not self.is_sqlite or not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def require_current(self) -> None:
        """Check that the database is at the newest migration.

        Raises:
            DatabaseUnreachableError: no connection could be made.
            StorageError: not migrated (names the command that fixes it).
        """
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        if self._head is None:
            self._head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        head = self._head
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as error:
            raise DatabaseUnreachableError(f"cannot reach the database: {type(error).__name__}") from error
        if current != head:
            raise StorageError(
                f"the database schema is at revision {current}, not {head}: run `cds-service db upgrade`"
            )

    def dispose(self) -> None:
        """Close pooled connections (tests, and before a worker process forks)."""
        self.engine.dispose()

    def _alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config


def _create_private(path: Path) -> None:
    """Create the SQLite audit file readable by its owner only (0600) if it does not exist yet.

    SQLite gives its -wal and -shm files the database file's permissions, so they are private too.
    """
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets gunicorn workers read while one writes; busy_timeout waits instead of failing on a lock.
    # synchronous=NORMAL in WAL mode: a commit survives a crash of the process (the audit's promise); only an OS
    # crash or power loss may undo the last commits. Production audit belongs on PostgreSQL (DATABASE_URL).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
