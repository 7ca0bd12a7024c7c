"""Create the issued_card table: cards returned beside the decision card, so feedback on them is attributed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "issued_card",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hook_instance", sa.String(length=200), nullable=False),
        sa.Column("card_uuid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("guideline_version", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_card")),
    )
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_card_card_uuid"), ["card_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_card_recorded_at"), ["recorded_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_card_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_issued_card_card_uuid"))
    op.drop_table("issued_card")
