"""Create the smart_launch table: SMART EHR launches waiting for their callback (the evidence page, issue 28).

Only the SHA-256 of each launch's session id, the FHIR server (``iss``), its token endpoint and an expiry: no token,
no state, no PKCE verifier, no patient.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "smart_launch",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("iss", sa.String(length=2048), nullable=False),
        sa.Column("token_endpoint", sa.String(length=2048), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_smart_launch")),
    )
    with op.batch_alter_table("smart_launch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_smart_launch_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("smart_launch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_smart_launch_expires_at"))
    op.drop_table("smart_launch")
