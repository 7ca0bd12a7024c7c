"""Persistence of decisions, feedback, JWT replay guards and pending SMART launches (SQLAlchemy 2, Alembic migrations).

SQLite is the embedded default; PostgreSQL is the production database (``DATABASE_URL``). Nothing here imports
Flask or the guideline: the service layer hands in finished records, with the patient id already replaced by its
keyed hash (``storage.pseudonyms``).
"""

from storage.database import Database, normalize_database_url
from storage.errors import DatabaseUnreachableError, StorageError
from storage.launches import LaunchStore, PendingLaunch
from storage.pseudonyms import Pseudonymizer
from storage.records import DecisionEntry, FeedbackEntry, IssuedCard, IssuedTarget, ReportRow
from storage.repository import AuditStore

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
