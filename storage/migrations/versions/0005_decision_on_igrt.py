"""``decision.on_igrt`` (the agreement report reads what happened next) and the suggestions each card offered.

``decision.suggestion_uuids`` and ``issued_card.suggestion_uuids``: accepted feedback may name only a suggestion
the card offered (issue 29); rows from before keep NULL (not checked).

Silent decisions need no column: their ``outcome`` is ``silent`` (the card the service would have shown, not shown).
A patient-view decision's ``on_igrt`` tells a later reader whether IgRT was started, continued or stopped after an
earlier decision: no new patient data, one boolean of the guideline's own reading. Existing rows keep NULL (unknown).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_igrt", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("suggestion_uuids", sa.JSON(), nullable=True))
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggestion_uuids", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("issued_card", schema=None) as batch_op:
        batch_op.drop_column("suggestion_uuids")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("suggestion_uuids")
        batch_op.drop_column("on_igrt")
