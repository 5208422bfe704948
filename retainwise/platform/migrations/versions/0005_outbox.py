"""The notification outbox: every webhook and e-mail waiting to go out, kept until it is delivered.

Revision ID: 0005_outbox
Revises: 0004_tenant_access

One row per (event, channel). A runner records the rows when a run finishes and any runner's sender
delivers them, so a notification outlives the process that raised it (a runner killed or restarted
before sending). ``seq`` orders a tenant's rows (sent oldest first, one at a time); ``event_id`` is
the id the receiver de-duplicates on (delivery is at least once); ``lease_until`` marks a row a
sender is working on, and expires so a dead sender's row is taken over.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_outbox"
down_revision = "0004_tenant_access"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", sa.DateTime, nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("event_id", "channel", name="uq_outbox_event_channel"),
    )
    op.create_index("ix_outbox_status_seq", "outbox", ["status", "seq"])


def downgrade():
    op.drop_index("ix_outbox_status_seq", table_name="outbox")
    op.drop_table("outbox")
