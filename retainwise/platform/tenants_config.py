"""Per-tenant notification settings, a table of the run store.

Kept in the run store (not a file under ``RETAINWISE_HOME``) because every
runner, on every machine, must see the same settings. One row per tenant:
webhook URL, e-mail address, and the alert threshold in percentage points of
the share of customers at HIGH risk. Set with ``retainwise tenant set``.

The same row holds the tenant's access (:class:`TenantAccess`): ``links_valid_after`` (links issued
before it are refused; ``retainwise tenant revoke-links``) and ``disabled`` (every link refused;
``retainwise tenant disable``/``enable``). The two are independent on purpose: enabling a tenant again
brings back the links it had, unless they were revoked too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retainwise.errors import InputError
from retainwise.platform.runs import Base, RunStore, now
from retainwise.platform.tenants import check_tenant

_EMAIL = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")  # fullmatch: no trailing newline


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
    """``url`` if it is an https URL whose host is not a literal inside address; InputError saying why otherwise.

    Plain http only to a host in ``RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS`` (see
    :mod:`retainwise.platform.webhooks`); a name is resolved and checked again at every send.
    """
    from retainwise.platform.webhooks import allowed_hosts, check_url
    from retainwise.settings import Settings

    check_url(str(url), allowed_hosts(Settings.from_env().webhook_allow_http_hosts))
    return str(url)


def check_email(address: str) -> str:
    """``address`` if it looks like one plain e-mail address; InputError otherwise."""
    if not _EMAIL.fullmatch(str(address)):
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


# -- access: revoked links and disabled tenants -------------------------------------------------------
@dataclass(frozen=True)
class TenantAccess:
    """Whether ``tenant``'s links work: refused when ``disabled`` or issued before ``links_valid_after``
    (naive UTC, as the run store keeps every time)."""

    tenant: str
    disabled: bool = False
    links_valid_after: datetime | None = None

    @property
    def valid_after_epoch(self) -> float | None:
        """``links_valid_after`` in epoch seconds (links carry their issue time so)."""
        if self.links_valid_after is None:
            return None
        return self.links_valid_after.replace(tzinfo=UTC).timestamp()


def access(store: RunStore, tenant: str) -> TenantAccess:
    """The tenant's access (nothing revoked, not disabled when no row). StorageError when the store fails."""
    with store._session("reading tenant access") as s:
        row = s.get(TenantSettingsRow, tenant)
        if row is None:
            return TenantAccess(tenant)
        return TenantAccess(row.tenant, bool(row.disabled), row.links_valid_after)


def _set_access(store: RunStore, tenant: str, doing: str, **values) -> TenantAccess:
    check_tenant(tenant)
    with store._session(doing) as s:
        row = s.get(TenantSettingsRow, tenant)
        if row is None:
            row = TenantSettingsRow(tenant=tenant, disabled=False)
            s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now()
    return access(store, tenant)


def revoke_links(store: RunStore, tenant: str) -> TenantAccess:
    """Refuse every link issued to ``tenant`` until now; links issued afterwards work.

    The cut is kept to the millisecond (the resolution of a token's issue time), so a link minted the
    moment after the revocation is never refused by a rounding."""
    at = now()
    return _set_access(
        store,
        tenant,
        "revoking links",
        links_valid_after=at.replace(microsecond=at.microsecond // 1000 * 1000),
    )


def set_disabled(store: RunStore, tenant: str, disabled: bool) -> TenantAccess:
    """Disable (every link refused) or enable ``tenant`` again. Its revocation time is kept either way."""
    return _set_access(
        store, tenant, "disabling tenant" if disabled else "enabling tenant", disabled=disabled
    )
