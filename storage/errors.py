"""Storage errors: the database cannot be reached, is not migrated, or refused a write."""

from __future__ import annotations


class StorageError(RuntimeError):
    """The database is unavailable or not at the current schema revision.

    The service answers 503 with an OperationOutcome (feedback, readiness) or queues the decision row for retry
    (``cds_service.audit.queue``).
    """


class DatabaseUnreachableError(StorageError):
    """No connection to the database could be made (down, refusing connections, network): a transient state."""
