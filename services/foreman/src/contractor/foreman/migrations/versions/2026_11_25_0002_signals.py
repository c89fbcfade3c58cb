"""Signals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:05:00
"""

from collections.abc import Sequence

import contractor.servicekit.db
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "signals",
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pxe_name", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("message", sa.String(length=1024), nullable=True),
        sa.Column("armed_at", contractor.servicekit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at", contractor.servicekit.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signals_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signals_job_id"))
    op.drop_table("signals")
