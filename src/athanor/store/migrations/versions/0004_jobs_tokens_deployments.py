"""Jobs (scheduling, workers, progress, restarts of runs), API tokens and deployments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("resources", sa.JSON, nullable=False),
        sa.Column("max_restarts", sa.Integer, nullable=False),
        sa.Column("restarts", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("stop_timeout", sa.Float, nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("submitted_at", Stamp, nullable=False),
        sa.Column("wait_reason", sa.Text, nullable=False),
        sa.Column("worker_pid", sa.Integer, nullable=True),
        sa.Column("worker_host", sa.String(255), nullable=False),
        sa.Column("devices", sa.JSON, nullable=False),
        sa.Column("placed_at", Stamp, nullable=True),
        sa.Column("heartbeat_at", Stamp, nullable=True),
        sa.Column("stop_request", sa.String(16), nullable=True),
        sa.Column("stop_reason", sa.Text, nullable=False),
        sa.Column("stop_requested_at", Stamp, nullable=True),
        sa.Column("stop_signalled_at", Stamp, nullable=True),
        sa.Column("progress", sa.JSON, nullable=False),
        sa.Column("attempts", sa.JSON, nullable=False),
    )
    op.create_index("ix_jobs_priority_run", "jobs", ["priority", "run_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("last_used_at", Stamp, nullable=True),
        sa.Column("revoked_at", Stamp, nullable=True),
    )
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("model", sa.String(220), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("api_tokens")
    op.drop_index("ix_jobs_priority_run", table_name="jobs")
    op.drop_table("jobs")
