"""The one error storage raises: the database cannot be reached, is not migrated, or refused a write."""

from __future__ import annotations


class StorageError(RuntimeError):
    """The database is unavailable or not at the current schema revision.

    The service answers 503 with an OperationOutcome: a decision that cannot be recorded is not returned.
    """
