"""Labeling: projects, their items (labels and pre-labels) and each person's labels.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "label_projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("dataset", sa.String(220), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("training", sa.JSON, nullable=False),
    )
    op.create_table(
        "label_items",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("label_projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("item", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("source", sa.String(8), nullable=True),
        sa.Column("labeled_by", sa.String(100), nullable=True),
        sa.Column("labeled_at", Stamp, nullable=True),
        sa.Column("review", sa.String(8), nullable=True),
        sa.Column("predicted", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("uncertainty_least", sa.Float, nullable=True),
        sa.Column("uncertainty_margin", sa.Float, nullable=True),
        sa.Column("uncertainty_entropy", sa.Float, nullable=True),
        sa.Column("model", sa.String(220), nullable=True),
    )
    op.create_index("ix_label_items_project_label", "label_items", ["project_id", "label"])
    op.create_index(
        "ix_label_items_project_least", "label_items", ["project_id", "uncertainty_least"]
    )
    op.create_table(
        "label_votes",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("label_projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("item", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("labeled_by", sa.String(100), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("labeled_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("label_votes")
    op.drop_index("ix_label_items_project_least", table_name="label_items")
    op.drop_index("ix_label_items_project_label", table_name="label_items")
    op.drop_table("label_items")
    op.drop_table("label_projects")
