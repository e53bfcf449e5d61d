"""Imported datasets and their content-addressed versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "name",
            sa.String(100),
            sa.ForeignKey("datasets.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        # 64-bit: PostgreSQL's INTEGER stops at 2 GiB. Changed before any PostgreSQL database
        # existed (the driver came later); SQLite's INTEGER is 64-bit either way.
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("info", sa.JSON, nullable=False),
        sa.UniqueConstraint("name", "number", name="uq_dataset_versions_name_number"),
        sa.UniqueConstraint("name", "content_hash", name="uq_dataset_versions_name_hash"),
    )
    op.create_index("ix_dataset_versions_name", "dataset_versions", ["name"])
    op.create_index("ix_dataset_versions_content_hash", "dataset_versions", ["content_hash"])


def downgrade() -> None:
    op.drop_index("ix_dataset_versions_content_hash", table_name="dataset_versions")
    op.drop_index("ix_dataset_versions_name", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
