"""Per-tenant notification settings (webhook, e-mail, HIGH-share alert).

Revision ID: 0002_tenant_settings
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_tenant_settings"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("webhook_url", sa.String(2048)),
        sa.Column("email", sa.String(320)),
        sa.Column("alert_points", sa.Float),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("tenant_settings")
