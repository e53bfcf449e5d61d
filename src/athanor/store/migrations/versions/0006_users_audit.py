"""Users with roles, tokens that belong to users, and the audit trail of writes.

Tokens made before users existed belong to the built-in admin user ``owner`` that this
migration creates, so upgrading locks nobody out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    users = op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
    )
    op.bulk_insert(
        users,
        [
            {
                "name": "owner",
                "role": "admin",
                "created_at": datetime.now(UTC),
                "created_by": "migration 0006",
            }
        ],
    )
    op.add_column(
        "api_tokens",
        sa.Column("user_name", sa.String(100), nullable=False, server_default="owner"),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object_kind", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(250), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_user_at", "audit", ["user_name", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_user_at", table_name="audit")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("user_name")
    op.drop_table("users")
