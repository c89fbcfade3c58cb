"""Hardware discovery records and accepted hardware.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "discovery_records",
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=40), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("boot_mac", sa.String(length=17), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("locator", sa.String(length=100), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_discovery_records")),
    )
    with op.batch_alter_table("discovery_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discovery_records_site"), ["site"], unique=False)
        batch_op.create_index(batch_op.f("ix_discovery_records_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_discovery_records_locator"), ["locator"], unique=False)

    op.create_table(
        "foundation_hardware",
        sa.Column("foundation", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["foundation"],
            ["foundations.locator"],
            name=op.f("fk_foundation_hardware_foundation_foundations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("foundation", name=op.f("pk_foundation_hardware")),
    )
    with op.batch_alter_table("foundation_hardware", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_foundation_hardware_identifier"), ["identifier"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("foundation_hardware", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_foundation_hardware_identifier"))
    op.drop_table("foundation_hardware")
    with op.batch_alter_table("discovery_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discovery_records_locator"))
        batch_op.drop_index(batch_op.f("ix_discovery_records_status"))
        batch_op.drop_index(batch_op.f("ix_discovery_records_site"))
    op.drop_table("discovery_records")
