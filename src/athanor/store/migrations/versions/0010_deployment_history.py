"""Deployments keep their per-minute history (requests, errors, latency, input sketches).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_minutes",
        sa.Column(
            "deployment",
            sa.String(100),
            sa.ForeignKey("deployments.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("minute", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("client_errors", sa.Integer, nullable=False),
        sa.Column("server_errors", sa.Integer, nullable=False),
        sa.Column("p50_ms", sa.Float, nullable=True),
        sa.Column("p95_ms", sa.Float, nullable=True),
        sa.Column("p99_ms", sa.Float, nullable=True),
        sa.Column("latency_bins", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=True),
    )
    op.create_index("ix_deployment_minutes_minute", "deployment_minutes", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_deployment_minutes_minute", "deployment_minutes")
    op.drop_table("deployment_minutes")
