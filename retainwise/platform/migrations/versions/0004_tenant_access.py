"""Per-tenant access and limits: revoking links, disabling a tenant, the webhook's own key, limits.

Revision ID: 0004_tenant_access
Revises: 0003_mappings

- ``links_valid_after``: links issued before this moment are refused (``retainwise tenant revoke-links``).
- ``disabled``: every link of the tenant is refused and nothing new is accepted from it.
- ``webhook_secret``: the key signing the tenant's webhook bodies, independent of the link secret, so
  rotating one never breaks the other.
- ``limits``: JSON object of the tenant's limit overrides; a missing key takes the safe default.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_tenant_access"
down_revision = "0003_mappings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenant_settings") as table:
        table.add_column(sa.Column("links_valid_after", sa.DateTime, nullable=True))
        table.add_column(sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("webhook_secret", sa.String(128), nullable=True))
        table.add_column(sa.Column("limits", sa.Text, nullable=True))


def downgrade():
    with op.batch_alter_table("tenant_settings") as table:
        for name in ("limits", "webhook_secret", "disabled", "links_valid_after"):
            table.drop_column(name)
