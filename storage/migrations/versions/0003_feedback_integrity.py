"""Feedback integrity: issued cards know their endpoint and client; feedback items are stored once.

* ``issued_card.service_id`` and ``issued_card.client_issuer``: feedback on a card is accepted only at the endpoint
  and from the client it was issued to. Existing rows are filled from their decision (same ``hook_instance`` and
  ``recorded_at``: both rows were written by one call).
* ``feedback.dedup_key`` with a unique index: the same item sent again is stored once. Existing rows keep NULL (a
  unique index allows any number of NULLs in SQLite and PostgreSQL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("client_issuer", sa.String(length=500), nullable=True))
    op.execute(
        "UPDATE issued_card SET "
        "service_id = (SELECT d.service_id FROM decision d WHERE d.hook_instance = issued_card.hook_instance "
        "AND d.recorded_at = issued_card.recorded_at AND d.card_uuid IS NOT NULL LIMIT 1), "
        "client_issuer = (SELECT d.client_issuer FROM decision d WHERE d.hook_instance = issued_card.hook_instance "
        "AND d.recorded_at = issued_card.recorded_at AND d.card_uuid IS NOT NULL LIMIT 1)"
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_feedback_dedup_key"), ["dedup_key"], unique=True)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_dedup_key"))
        batch_op.drop_column("dedup_key")
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.drop_column("client_issuer")
        batch_op.drop_column("service_id")
