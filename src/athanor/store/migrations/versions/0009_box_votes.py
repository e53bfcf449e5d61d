"""A person's boxes are kept with their vote on an item, so that two labelers' boxes can be
compared (agreement in box projects).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label_votes") as batch:
        batch.add_column(sa.Column("boxes", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_votes") as batch:
        batch.drop_column("boxes")
