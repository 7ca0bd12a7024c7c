"""Create the decision, feedback and JWT replay-guard tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "decision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("hook", sa.String(length=32), nullable=False),
        sa.Column("hook_instance", sa.String(length=200), nullable=False),
        sa.Column("client_issuer", sa.String(length=500), nullable=True),
        sa.Column("patient_hmac", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("recommendation", sa.String(length=32), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("guideline_version", sa.String(length=100), nullable=False),
        sa.Column("card_uuid", sa.String(length=64), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("fetched_keys", sa.String(length=300), nullable=True),
        sa.Column("data_issue_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_card_uuid"), ["card_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_hook_instance"), ["hook_instance"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_patient_hmac"), ["patient_hmac"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_recorded_at"), ["recorded_at"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("client_issuer", sa.String(length=500), nullable=True),
        sa.Column("card_uuid", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason_system", sa.String(length=500), nullable=True),
        sa.Column("override_reason_code", sa.String(length=200), nullable=True),
        sa.Column("override_reason_display", sa.String(length=500), nullable=True),
        sa.Column("has_user_comment", sa.Boolean(), nullable=False),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_card_uuid"), ["card_uuid"], unique=False)

    op.create_table(
        "jwt_replay_guard",
        sa.Column("jti_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti_hash", name=op.f("pk_jwt_replay_guard")),
    )
    with op.batch_alter_table("jwt_replay_guard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jwt_replay_guard_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("jwt_replay_guard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jwt_replay_guard_expires_at"))

    op.drop_table("jwt_replay_guard")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_card_uuid"))

    op.drop_table("feedback")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_decision_patient_hmac"))
        batch_op.drop_index(batch_op.f("ix_decision_hook_instance"))
        batch_op.drop_index(batch_op.f("ix_decision_card_uuid"))

    op.drop_table("decision")
