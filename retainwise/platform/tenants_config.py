"""Per-tenant notification settings, a table of the run store.

Kept in the run store (not a file under ``RETAINWISE_HOME``) because every
runner, on every machine, must see the same settings. One row per tenant:
webhook URL, e-mail address, and the alert threshold in percentage points of
the share of customers at HIGH risk. Set with ``retainwise tenant set``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retainwise.errors import InputError
from retainwise.platform.runs import Base, RunStore, now
from retainwise.platform.storage import check_tenant

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"

    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(sa.String(2048))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    alert_points: Mapped[float | None] = mapped_column(sa.Float)
    updated_at: Mapped[object] = mapped_column(sa.DateTime)
    # Access and limits (migration 0004): see the migration's docstring.
    links_valid_after: Mapped[object | None] = mapped_column(sa.DateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    limits: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


@dataclass(frozen=True)
class TenantSettings:
    """Where and when a tenant hears about its runs (every field optional)."""

    tenant: str
    webhook_url: str | None = None
    email: str | None = None
    alert_points: float | None = None


def check_webhook(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; InputError otherwise."""
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"Webhook {url!r} is not an http(s) URL such as https://example.com/hooks/churn.",
            code="bad_webhook",
        )
    return str(url)


def check_email(address: str) -> str:
    """``address`` if it looks like one plain e-mail address; InputError otherwise."""
    if not _EMAIL.match(str(address)):
        raise InputError(
            f"E-mail address {address!r} is not valid: give one address such as ops@example.com.",
            code="bad_email",
        )
    return str(address)


def check_points(points: float) -> float:
    """``points`` if it is a number of percentage points in (0, 100]; InputError otherwise."""
    if not 0 < float(points) <= 100:
        raise InputError(
            f"Alert threshold {points!r} must be between 0 and 100 percentage points.",
            code="bad_alert_points",
        )
    return float(points)


def get(store: RunStore, tenant: str) -> TenantSettings:
    """The tenant's settings (all empty when none were set). StorageError when the store fails."""
    with store._session("reading tenant settings") as s:
        row = s.get(TenantSettingsRow, tenant)
        if row is None:
            return TenantSettings(tenant)
        return TenantSettings(row.tenant, row.webhook_url, row.email, row.alert_points)


def update(
    store: RunStore,
    tenant: str,
    *,
    webhook_url: str | None = None,
    email: str | None = None,
    alert_points: float | None = None,
    clear: bool = False,
) -> TenantSettings:
    """Set the given fields (``""`` clears one; ``clear`` clears all first). InputError for bad values."""
    check_tenant(tenant)
    values = {"webhook_url": webhook_url, "email": email, "alert_points": alert_points}
    checks = {"webhook_url": check_webhook, "email": check_email, "alert_points": check_points}
    changes = {k: (None if v == "" else checks[k](v)) for k, v in values.items() if v is not None}
    with store._session("saving tenant settings") as s:
        row = s.get(TenantSettingsRow, tenant)
        if row is None:
            row = TenantSettingsRow(tenant=tenant)
            s.add(row)
        if clear:
            row.webhook_url = row.email = row.alert_points = None
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = now()
    return get(store, tenant)
