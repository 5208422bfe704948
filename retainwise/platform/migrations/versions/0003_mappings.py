"""Saved per-tenant column mappings, shared by every runner.

Revision ID: 0003_mappings
Revises: 0002_tenant_settings
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_mappings"
down_revision = "0002_tenant_settings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mappings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("mappings")
