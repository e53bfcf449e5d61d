"""Labeling projects that label boxes: each item's image size, its boxes and the model's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label_items") as batch:
        batch.add_column(sa.Column("width", sa.Integer, nullable=True))
        batch.add_column(sa.Column("height", sa.Integer, nullable=True))
        batch.add_column(sa.Column("boxes", sa.JSON, nullable=True))
        batch.add_column(sa.Column("predicted_boxes", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_items") as batch:
        batch.drop_column("predicted_boxes")
        batch.drop_column("boxes")
        batch.drop_column("height")
        batch.drop_column("width")
