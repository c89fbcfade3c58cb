"""A job's last log sequence number kept on the job row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_seq", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE jobs SET log_seq = COALESCE("
        "(SELECT max(job_log.seq) FROM job_log WHERE job_log.job_id = jobs.id), 0)"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("log_seq")
