"""Persistence of decisions, feedback, JWT replay guards and pending SMART launches (SQLAlchemy 2, Alembic migrations).

SQLite is the embedded default; PostgreSQL is the production database (``DATABASE_URL``). Nothing here imports
Flask or the guideline: the service layer hands in finished records, with the patient id already replaced by its
keyed hash (``storage.pseudonyms``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from storage.errors import DatabaseUnreachableError, StorageError

if TYPE_CHECKING:
    from storage.database import Database, normalize_database_url
    from storage.launches import LaunchStore, PendingLaunch
    from storage.pseudonyms import Pseudonymizer
    from storage.records import DecisionEntry, FeedbackEntry, IssuedCard, IssuedTarget, ReportRow
    from storage.repository import AuditStore

_WHERE = {
    "Database": "storage.database",
    "normalize_database_url": "storage.database",
    "LaunchStore": "storage.launches",
    "PendingLaunch": "storage.launches",
    "Pseudonymizer": "storage.pseudonyms",
    "DecisionEntry": "storage.records",
    "FeedbackEntry": "storage.records",
    "IssuedCard": "storage.records",
    "IssuedTarget": "storage.records",
    "ReportRow": "storage.records",
    "AuditStore": "storage.repository",
}
"""The package's names and their modules, imported on first use (PEP 562): ``from storage import StorageError`` (the
settings' JWT replay guard) does not load SQLAlchemy, so the command line's offline commands start sooner."""


def __getattr__(name: str) -> Any:
    """Import a name of the package from its module on first use (``_WHERE``).

    Raises:
        AttributeError: not a name of the package.
    """
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AuditStore",
    "Database",
    "DatabaseUnreachableError",
    "DecisionEntry",
    "FeedbackEntry",
    "IssuedTarget",
    "IssuedCard",
    "LaunchStore",
    "PendingLaunch",
    "Pseudonymizer",
    "ReportRow",
    "StorageError",
    "normalize_database_url",
]
