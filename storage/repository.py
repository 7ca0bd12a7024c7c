"""Writes and reads of the audit tables: decisions, feedback, JWT replay guards, and the feedback report."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from storage.database import Database
from storage.decision_rows import DecisionInsert
from storage.decision_rows import utc_instant as _utc
from storage.errors import StorageError
from storage.records import DecisionEntry, FeedbackEntry, IssuedTarget, ReportRow
from storage.schema import Decision, Feedback, IssuedCardRow, JwtReplayGuard

_Entry = TypeVar("_Entry", DecisionEntry, FeedbackEntry)
_Row = TypeVar("_Row", Decision, Feedback)
_PURGE_EVERY = 200  # replay-guard inserts between purges of expired rows


class AuditStore:
    """Records every decision and feedback item, and remembers JWT ids until they expire."""

    def __init__(self, database: Database) -> None:
        """Args: database: a migrated database (``Database.require_current`` has passed)."""
        self.database = database
        self._claims = 0
        self._decision_insert = DecisionInsert(database)

    def record_decision(self, entry: DecisionEntry) -> None:
        """Store one decision.

        Raises:
            StorageError: the write failed (the caller must not return the card).
        """
        self.record_decisions([entry])

    def record_decisions(self, entries: Sequence[DecisionEntry]) -> None:
        """Store decisions, and the cards issued beside each decision card, in one transaction (all or none).

        The audit writer's group commit (``cds_service.audit.queue``): prepared statements sent with the driver's
        ``executemany`` (``storage.decision_rows``).

        Raises:
            StorageError: the write failed (nothing of the batch is stored).
        """
        self._decision_insert.write(entries)

    def record_feedback(self, entries: Sequence[FeedbackEntry]) -> list[FeedbackEntry]:
        """Store a batch of feedback items in one transaction (all or none); return those that were new.

        Idempotent: an item already stored (same endpoint, client, card, outcome, ``outcomeTimestamp``, accepted
        suggestions and reason: ``feedback_key``) is not stored again, also when a retry races the first attempt
        on another worker (the unique ``dedup_key`` decides).

        Raises:
            StorageError: the write failed.
        """
        keyed = {feedback_key(e): e for e in entries}
        if not keyed:
            return []
        statement = (sqlite_insert if self.database.is_sqlite else postgresql_insert)(Feedback)
        with self.database.connection() as connection:
            result = connection.execute(
                statement.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Feedback.dedup_key),
                [{**_columns(e), "dedup_key": key} for key, e in keyed.items()],
            )
            new = {str(key) for (key,) in result.all()}
        return [e for key, e in keyed.items() if key in new]

    def issued(self, entries: Sequence[FeedbackEntry]) -> list[IssuedTarget | None]:
        """Return, for each feedback item, the card it is about (rule, suggestions offered), or ``None`` if not issued.

        A card counts as issued to ``(service_id, client_issuer)`` when a decision row (the decision card) or an
        ``issued_card`` row (a card beside it) records that uuid with that endpoint and client issuer
        (``None`` = authentication off). Cards never issued, issued to another client, and issued at another
        endpoint are not told apart (no oracle for a caller probing uuids).

        Raises:
            StorageError: the database is unavailable.
        """
        uuids = {e.card_uuid for e in entries}
        holders: dict[tuple[str | None, str | None, str | None], IssuedTarget] = {}
        with self.database.session() as session:
            for table in (Decision, IssuedCardRow):
                rows = session.execute(
                    select(
                        table.card_uuid, table.service_id, table.client_issuer, table.rule_id, table.suggestion_uuids
                    ).where(table.card_uuid.in_(uuids))
                )
                for card, service, issuer, rule, offered in rows:
                    suggestions = frozenset(offered) if offered is not None else None
                    holders[(card, service, issuer)] = IssuedTarget(rule or "?", suggestions)
        return [holders.get((e.card_uuid, e.service_id, e.client_issuer)) for e in entries]

    def claim_jti(self, issuer: str, jti: str, *, expires_at: datetime, now: datetime | None = None) -> bool:
        """Remember a JWT id until ``expires_at``; return ``False`` if it was already seen (a replay).

        Shared by all workers and instances through the database, so a token replayed to another worker is caught.

        Raises:
            StorageError: the database is unavailable.
        """
        now = now or datetime.now(UTC)
        digest = hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()
        self._claims += 1
        if self._claims % _PURGE_EVERY == 1:
            with self.database.session() as session:
                session.execute(delete(JwtReplayGuard).where(JwtReplayGuard.expires_at < now))
        try:
            with self.database.session() as session:
                existing = session.get(JwtReplayGuard, digest)
                if existing is not None and _aware(existing.expires_at) >= now:
                    return False
                if existing is not None:
                    existing.expires_at = _utc(expires_at)
                else:
                    session.add(JwtReplayGuard(jti_hash=digest, expires_at=_utc(expires_at)))
        except StorageError as error:
            if isinstance(error.__cause__, IntegrityError):
                return False  # another worker claimed the same jti at the same moment
            raise
        return True

    def decisions(self, *, limit: int = 100) -> list[DecisionEntry]:
        """Return the newest decisions first (operations and tests).

        Raises:
            StorageError: the database is unavailable.
        """
        return self._newest(Decision, DecisionEntry, limit)

    def feedback(self, *, limit: int = 100) -> list[FeedbackEntry]:
        """Return the newest feedback items first.

        Raises:
            StorageError: the database is unavailable.
        """
        return self._newest(Feedback, FeedbackEntry, limit)

    def decisions_since(self, since: datetime, until: datetime | None = None) -> list[DecisionEntry]:
        """Return the decisions recorded from ``since`` (and before ``until``), oldest first (the agreement report).

        Raises:
            StorageError: the database is unavailable.
        """
        query = select(Decision).where(Decision.recorded_at >= _utc(since))
        if until is not None:
            query = query.where(Decision.recorded_at < _utc(until))
        with self.database.session() as session:
            rows = session.scalars(query.order_by(Decision.recorded_at, Decision.id)).all()
            return [_record(DecisionEntry, row) for row in rows]

    def feedback_since(self, since: datetime) -> list[FeedbackEntry]:
        """Return the feedback received from ``since``, oldest first.

        Raises:
            StorageError: the database is unavailable.
        """
        query = select(Feedback).where(Feedback.received_at >= _utc(since)).order_by(Feedback.received_at, Feedback.id)
        with self.database.session() as session:
            return [_record(FeedbackEntry, row) for row in session.scalars(query).all()]

    def _newest(self, table: type[_Row], entry: type[_Entry], limit: int) -> list[_Entry]:
        with self.database.session() as session:
            rows = session.scalars(select(table).order_by(table.id.desc()).limit(limit)).all()
            return [_record(entry, row) for row in rows]

    def feedback_report(self, *, since: datetime | None = None) -> list[ReportRow]:
        """Accept and override rates per rule and guideline version, for cards shown since ``since``.

        A card is counted once: its outcome and override reason are those of the feedback received last (by time
        received, never by the client's ``outcomeTimestamp``, which a client could set to 9999-12-31). Feedback
        about card uuids this service never issued (stored before such feedback was refused, revision 0003) is
        reported under rule ``(unknown card)``.

        Raises:
            StorageError: the database is unavailable.
        """
        with self.database.session() as session:
            issued = list(
                session.execute(
                    select(
                        Decision.card_uuid, Decision.rule_id, Decision.guideline_version, Decision.recorded_at
                    ).where(Decision.card_uuid.is_not(None))
                ).all()
            )
            issued += session.execute(
                select(
                    IssuedCardRow.card_uuid,
                    IssuedCardRow.rule_id,
                    IssuedCardRow.guideline_version,
                    IssuedCardRow.recorded_at,
                )
            ).all()
            feedback = session.execute(
                select(
                    Feedback.card_uuid,
                    Feedback.outcome,
                    Feedback.outcome_timestamp,
                    Feedback.override_reason_code,
                    Feedback.override_reason_display,
                ).order_by(Feedback.received_at, Feedback.id)
            ).all()
        unknown = ("(unknown card)", "-")
        group_of: dict[str, tuple[str, str] | None] = {}
        cards: dict[tuple[str, str], set[str]] = defaultdict(set)
        for card, rule, version, recorded_at in issued:
            if since is not None and _aware(recorded_at) < since:
                group_of.setdefault(str(card), None)  # issued before the period: its feedback is not counted
                continue
            group_of[str(card)] = (rule or "?", version)
            cards[(rule or "?", version)].add(str(card))
        latest: dict[str, tuple[tuple[str, str], str, str | None]] = {}  # card -> (group, outcome, reason)
        for card, outcome, at, code, display in feedback:
            if card in group_of:
                group = group_of[card]
                if group is None:
                    continue
            elif since is not None and _aware(at) < since:
                continue
            else:
                group = unknown
                cards[group].add(card)
            reason = (display or code or "(no reason given)") if outcome == "overridden" else None
            latest[card] = (group, outcome, reason)
        reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for group, _, reason in latest.values():
            if reason is not None:
                reasons[group][reason] += 1
        rows = []
        for (rule, version), members in sorted(cards.items()):
            outcomes = [latest[c][1] for c in members if c in latest]
            rows.append(
                ReportRow(
                    rule_id=rule,
                    guideline_version=version,
                    cards_shown=len(members) if (rule, version) != unknown else 0,
                    cards_with_feedback=len(outcomes),
                    accepted=outcomes.count("accepted"),
                    overridden=outcomes.count("overridden"),
                    top_override_reasons=tuple(reasons[(rule, version)].most_common(3)),
                )
            )
        return rows


def feedback_key(entry: FeedbackEntry) -> str:
    """Return the SHA-256 hex digest of everything a feedback item says (not when it was received).

    Two deliveries of the same item (an EHR retry, a replayed body) have the same key and are stored once.
    """
    parts = (
        entry.service_id,
        entry.client_issuer or "",
        entry.card_uuid,
        entry.outcome,
        _utc(entry.outcome_timestamp).isoformat(),
        "\x1f".join(sorted(entry.accepted_suggestions)),
        entry.override_reason_system or "",
        entry.override_reason_code or "",
        entry.override_reason_display or "",
        str(entry.has_user_comment),
    )
    return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _columns(entry: DecisionEntry | FeedbackEntry) -> dict[str, Any]:
    """The record's fields as column values (same names): instants in UTC, tuples as the column types."""
    values: dict[str, Any] = {}
    for field in fields(entry):
        if field.name == "issued_cards":
            continue  # stored in their own table
        value = getattr(entry, field.name)
        if isinstance(value, datetime):
            value = _utc(value)
        elif field.name == "fetched_keys":
            value = ",".join(value) or None
        elif isinstance(value, tuple):
            value = list(value)
        values[field.name] = value
    return values


def _record(record_type: type[_Entry], row: Decision | Feedback) -> _Entry:
    """The inverse of ``_columns``: a stored row as its record."""
    values: dict[str, Any] = {}
    for field in fields(record_type):
        if field.name == "issued_cards":
            continue
        value = getattr(row, field.name)
        if isinstance(value, datetime):
            value = _aware(value)
        elif field.name == "fetched_keys":
            value = tuple(value.split(",")) if value else ()
        elif isinstance(value, list):
            value = tuple(value)
        values[field.name] = value
    return record_type(**values)


__all__ = ["AuditStore", "StorageError"]
