"""The notification outbox, a table of the run store: what must still go out, kept until it has.

A finished run's events are written here first (:func:`add`) and sent afterwards by whichever
runner's sender gets to them (:mod:`retainwise.platform.notify`), so a notification outlives the
process that raised it: a runner killed before sending leaves its rows PENDING, and the next
sender delivers them. Delivery is at least once (a sender killed after the receiver got the POST
but before marking it sends it again); every event carries an ``id`` to de-duplicate on.

Rules kept here, in SQL, so they hold across runners on different machines:

- a sender *claims* a row with one atomic UPDATE that sets a lease; a live lease keeps every
  other sender off it, an expired one (its sender died) lets the next take it over;
- a tenant's rows on one channel go out oldest first and one at a time (:func:`heads`): a later
  event never overtakes an earlier one still being retried, and one tenant's slow endpoint
  holds up that tenant only;
- a failed attempt waits its backoff (:data:`BACKOFF_S`) in ``next_at``, not in a sleeping thread;
  after the last one the row is FAILED and kept with its last error for the operator.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retainwise.platform.runs import Base, RunStore, now

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
WEBHOOK, EMAIL = "webhook", "email"
#: Seconds before each retry of a row (after the first attempt): about a minute in all.
BACKOFF_S = (1, 2, 4, 8, 16, 32)


class OutboxRow(Base):
    """One event to send on one channel (migration 0005 documents the columns)."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "channel", name="uq_outbox_event_channel"),
        sa.Index("ix_outbox_status_seq", "status", "seq"),
    )

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))
    tenant: Mapped[str] = mapped_column(sa.String(64))
    event: Mapped[str] = mapped_column(sa.Text)  # JSON
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_at: Mapped[datetime] = mapped_column(sa.DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)


@dataclass(frozen=True)
class Item:
    """A row as the sender sees it (a detached snapshot)."""

    seq: int
    event_id: str
    channel: str
    tenant: str
    event: dict
    status: str
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, row: OutboxRow) -> Item:
        return cls(
            row.seq,
            row.event_id,
            row.channel,
            row.tenant,
            json.loads(row.event),
            row.status,
            row.attempts,
            row.last_error,
        )


def new_event_id() -> str:
    return uuid.uuid4().hex


def add(store: RunStore, tenant: str, events: list[dict], channels: list[str]) -> list[str]:
    """Record ``events`` (each holding its ``id``) for every channel, in one transaction. Returns the ids."""
    t = now()
    with store._session("recording notifications") as s:
        for event in events:
            for channel in channels:
                s.add(
                    OutboxRow(
                        event_id=event["id"],
                        channel=channel,
                        tenant=tenant,
                        event=json.dumps(event, default=str),
                        status=PENDING,
                        attempts=0,
                        next_at=t,
                        created_at=t,
                    )
                )
    return [e["id"] for e in events]


def heads(store: RunStore) -> list[Item]:
    """The oldest PENDING row of each (tenant, channel) that may be sent now: due and not leased."""
    t = now()
    first = (
        sa.select(sa.func.min(OutboxRow.seq))
        .where(OutboxRow.status == PENDING)
        .group_by(OutboxRow.tenant, OutboxRow.channel)
    )
    stmt = (
        sa.select(OutboxRow)
        .where(OutboxRow.seq.in_(first), OutboxRow.next_at <= t)
        .where(sa.or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < t))
        .order_by(OutboxRow.seq)
    )
    with store._session("reading the outbox") as s:  # only each line's head: the rest wait their turn
        return [Item.of(row) for row in s.scalars(stmt).all()]


def claim(store: RunStore, seq: int, lease_s: float) -> bool:
    """Take row ``seq`` for one attempt (an atomic UPDATE). False when another sender holds it or it is done."""
    t = now()
    stmt = (
        sa.update(OutboxRow)
        .where(OutboxRow.seq == seq, OutboxRow.status == PENDING, OutboxRow.next_at <= t)
        .where(sa.or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < t))
        .values(lease_until=t + timedelta(seconds=lease_s), attempts=OutboxRow.attempts + 1)
    )
    with store._session("claiming a notification") as s:
        return s.execute(stmt).rowcount == 1


def delivered(store: RunStore, seq: int, detail: str | None = None) -> None:
    """Row ``seq`` went out: done for good."""
    _finish(store, seq, DELIVERED, detail)


def failed(store: RunStore, seq: int, error: str) -> None:
    """Row ``seq`` will never go out (refused, or out of retries): kept with the reason for the operator."""
    _finish(store, seq, FAILED, error)


def _finish(store: RunStore, seq: int, status: str, detail: str | None) -> None:
    t = now()
    with store._session("recording a notification's outcome") as s:
        s.execute(
            sa.update(OutboxRow)
            .where(OutboxRow.seq == seq)
            .values(status=status, lease_until=None, finished_at=t, last_error=detail)
        )


def retry_later(store: RunStore, item: Item, error: str, backoff=BACKOFF_S) -> bool:
    """Schedule the next attempt of ``item`` after its backoff; FAILED when its retries are spent.

    ``item.attempts`` counts the attempts before the claim, so the one that just failed is attempt
    ``item.attempts + 1``. Returns True when another attempt is scheduled.
    """
    done = item.attempts + 1
    if done > len(backoff):
        failed(store, item.seq, f"gave up after {done} attempts: {error}")
        return False
    with store._session("scheduling a notification retry") as s:
        s.execute(
            sa.update(OutboxRow)
            .where(OutboxRow.seq == item.seq)
            .values(lease_until=None, last_error=error, next_at=now() + timedelta(seconds=backoff[done - 1]))
        )
    return True


def listing(store: RunStore, tenant: str | None = None, status: str | None = None) -> list[Item]:
    """The rows (optionally of one tenant and status), oldest first: for the operator and the tests."""
    stmt = sa.select(OutboxRow).order_by(OutboxRow.seq)
    if tenant is not None:
        stmt = stmt.where(OutboxRow.tenant == tenant)
    if status is not None:
        stmt = stmt.where(OutboxRow.status == status)
    with store._session("reading the outbox") as s:
        return [Item.of(r) for r in s.scalars(stmt).all()]
