"""The runs table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("upload_key", sa.String(1024), nullable=False),
        sa.Column("upload_etag", sa.String(128)),
        sa.Column("upload_id", sa.String(64)),
        sa.Column("idempotency_key", sa.String(1300), unique=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_in", sa.Integer),
        sa.Column("rows_scored", sa.Integer),
        sa.Column("quality_score", sa.Float),
        sa.Column("model_version", sa.String(64)),
        sa.Column("output_keys", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("error_code", sa.String(64)),
        sa.Column("message_id", sa.String(128)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
    )


def downgrade():
    op.drop_table("runs")
