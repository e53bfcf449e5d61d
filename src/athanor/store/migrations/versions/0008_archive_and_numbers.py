"""Runs can be archived (a trash they can be restored from): when, or null. A dataset
remembers its highest version number, so a deleted version's number is never given again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_runs_archived_at", ["archived_at"])
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("last_number", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("last_number")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_archived_at")
        batch.drop_column("archived_at")
