"""Foundation resources, job calls and docker port mappings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("foundations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cpu_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("memory_mb", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("disk_gb", sa.BigInteger(), server_default="0", nullable=False)
        )

    op.create_table(
        "job_calls",
        sa.Column("call_id", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_job_calls")),
    )
    with op.batch_alter_table("job_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_calls_job_id"), ["job_id"], unique=False)

    op.create_table(
        "docker_ports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complex", sa.String(length=40), nullable=False),
        sa.Column("host_port", sa.Integer(), nullable=False),
        sa.Column(
            "structure", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("container_port", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["complex"], ["complexes.name"], name=op.f("fk_docker_ports_complex_complexes")
        ),
        sa.ForeignKeyConstraint(
            ["structure"], ["structures.id"], name=op.f("fk_docker_ports_structure_structures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_docker_ports")),
        sa.UniqueConstraint("complex", "host_port", name=op.f("uq_docker_ports_complex_host_port")),
        sa.UniqueConstraint(
            "structure", "container_port", name=op.f("uq_docker_ports_structure_container_port")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("docker_ports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_docker_ports_structure"), ["structure"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("docker_ports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_docker_ports_structure"))
    op.drop_table("docker_ports")
    with op.batch_alter_table("job_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_calls_job_id"))
    op.drop_table("job_calls")
    with op.batch_alter_table("foundations", schema=None) as batch_op:
        batch_op.drop_column("disk_gb")
        batch_op.drop_column("memory_mb")
        batch_op.drop_column("cpu_count")
