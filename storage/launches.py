"""SMART EHR launches waiting for their callback (table ``smart_launch``), shared by every worker and instance.

A launch is stored under the SHA-256 of its session id and claimed exactly once: the first callback deletes it,
any later one (a replay, a second tab, another instance) finds nothing. Expired launches are purged as new ones
arrive. Nothing stored lets anyone finish a launch: the ``state`` and the PKCE verifier are derived from the session
id, which only the browser's cookie holds (``cds_service.smart.session``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select

from storage.database import Database
from storage.errors import StorageError
from storage.schema import SmartLaunch

_PURGE_EVERY = 50
"""Launches begun between purges of expired rows (per process)."""


@dataclass(frozen=True)
class PendingLaunch:
    """What the callback needs from its launch.

    Attributes:
        iss: the FHIR server the EHR launched from (already checked against the allowlist).
        token_endpoint: from the server's ``.well-known/smart-configuration``.
        expires_at: when the launch stops being accepted (UTC, timezone-aware).
    """

    iss: str
    token_endpoint: str
    expires_at: datetime


class LaunchStore:
    """Keeps pending launches by session hash until their callback or expiry."""

    def __init__(self, database: Database) -> None:
        """Args: database: a migrated database (the audit's)."""
        self.database = database
        self._begun = 0

    def begin(self, session_hash: str, launch: PendingLaunch, *, now: datetime | None = None) -> None:
        """Store a launch under ``session_hash`` (64 hex characters); purge expired ones now and then.

        Raises:
            StorageError: the database is unavailable, or a naive ``expires_at``.
        """
        if launch.expires_at.tzinfo is None:
            raise StorageError("naive datetime: storage needs timezone-aware instants")
        self._begun += 1
        if self._begun % _PURGE_EVERY == 1:
            self.purge(now=now)
        row = {
            "session_hash": session_hash,
            "iss": launch.iss,
            "token_endpoint": launch.token_endpoint,
            "expires_at": launch.expires_at.astimezone(UTC),
        }
        with self.database.connection() as connection:
            connection.execute(insert(SmartLaunch), [row])

    def claim(self, session_hash: str, *, now: datetime | None = None) -> PendingLaunch | None:
        """Remove the launch stored under ``session_hash`` and return it; ``None`` if absent, claimed or expired.

        Exactly one of several concurrent claims of one launch gets it (the one whose delete removed the row).

        Raises:
            StorageError: the database is unavailable.
        """
        now = now or datetime.now(UTC)
        with self.database.connection() as connection:
            row = connection.execute(select(SmartLaunch).where(SmartLaunch.session_hash == session_hash)).first()
            if row is None:
                return None
            deleted = connection.execute(delete(SmartLaunch).where(SmartLaunch.session_hash == session_hash))
            if deleted.rowcount != 1:
                return None
        expires_at = row.expires_at if row.expires_at.tzinfo is not None else row.expires_at.replace(tzinfo=UTC)
        if expires_at <= now:
            return None
        return PendingLaunch(iss=row.iss, token_endpoint=row.token_endpoint, expires_at=expires_at)

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete expired launches; return how many.

        Raises:
            StorageError: the database is unavailable.
        """
        now = now or datetime.now(UTC)
        with self.database.connection() as connection:
            result = connection.execute(delete(SmartLaunch).where(SmartLaunch.expires_at < now))
        return int(result.rowcount)
