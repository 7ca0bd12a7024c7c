"""The tables (SQLAlchemy 2 declarative). Every change here needs an Alembic revision in ``storage/migrations``.

``tests/storage`` checks that the migrations produce exactly this schema.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}
_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations are reproducible)."""

    metadata = MetaData(naming_convention=_NAMING)


class Decision(Base):
    """One row per hook call answered or refused (see ``storage.records.DecisionEntry``)."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    hook: Mapped[str] = mapped_column(String(32))
    hook_instance: Mapped[str] = mapped_column(String(200), index=True)
    client_issuer: Mapped[str | None] = mapped_column(String(500))
    patient_hmac: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    recommendation: Mapped[str | None] = mapped_column(String(32))
    population: Mapped[int | None] = mapped_column(Integer)
    guideline_version: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str | None] = mapped_column(String(64), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    fetched_keys: Mapped[str | None] = mapped_column(String(300))
    data_issue_count: Mapped[int] = mapped_column(Integer)
    on_igrt: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    suggestion_uuids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class IssuedCardRow(Base):
    """A card returned beside the decision card (advice as cards): what feedback on its uuid is about."""

    __tablename__ = "issued_card"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    hook_instance: Mapped[str] = mapped_column(String(200))
    # The endpoint and client the card was issued to (feedback is accepted from them only); NULL on rows written
    # before revision 0003 whose decision could not be found.
    service_id: Mapped[str | None] = mapped_column(String(64))
    client_issuer: Mapped[str | None] = mapped_column(String(500))
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(64))
    guideline_version: Mapped[str] = mapped_column(String(100))
    suggestion_uuids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Feedback(Base):
    """One row per distinct feedback item (see ``storage.records.FeedbackEntry``).

    ``dedup_key`` (unique) is the SHA-256 of everything the item says, so the same item sent again is stored once;
    NULL on rows written before revision 0003.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dedup_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    service_id: Mapped[str] = mapped_column(String(64))
    client_issuer: Mapped[str | None] = mapped_column(String(500))
    card_uuid: Mapped[str] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_reason_system: Mapped[str | None] = mapped_column(String(500))
    override_reason_code: Mapped[str | None] = mapped_column(String(200))
    override_reason_display: Mapped[str | None] = mapped_column(String(500))
    has_user_comment: Mapped[bool] = mapped_column(Boolean)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JwtReplayGuard(Base):
    """A client JWT already seen: ``jti_hash`` = SHA-256 of ``iss`` NUL ``jti``, kept until the JWT expires."""

    __tablename__ = "jwt_replay_guard"

    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SmartLaunch(Base):
    """A SMART EHR launch waiting for its callback (``storage.launches``), deleted when the callback claims it.

    ``session_hash`` is the SHA-256 of the session id the browser holds in its launch cookie; the ``state`` and the
    PKCE ``code_verifier`` are derived from that id, so nothing stored here lets anyone finish the launch. No token,
    patient id or user id is ever stored.
    """

    __tablename__ = "smart_launch"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    iss: Mapped[str] = mapped_column(String(2048))
    token_endpoint: Mapped[str] = mapped_column(String(2048))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
