"""Per-tenant limits: what one business may use of the platform, with safe defaults.

Four limits, each a positive whole number:

- ``queued_runs``: runs a tenant may have QUEUED or PROCESSING at once (the portal's "Start scoring",
  "Train on your history" and ``retainwise submit`` are refused past it);
- ``upload_bytes_per_day``: bytes a tenant may upload in any 24 hours (a rolling window, not a calendar
  day, so a quota cannot be spent twice around midnight);
- ``uploads_per_minute``: requests to the portal's upload endpoint per minute;
- ``pages_per_minute``: report and portal page loads per minute (each may cost a kernel).

The defaults are :class:`~retainwise.settings.Settings` fields (``RETAINWISE_LIMIT_<NAME>``); a tenant's
overrides are a JSON object in ``tenant_settings.limits`` (migration 0004), set with ``retainwise tenant
limits T --set name=value`` (``name=default`` drops the override). An override that is not a positive
whole number, or names no limit, is ignored (and logged): a damaged row means the safe default, never
"unlimited".

Every refusal is a :class:`LimitError` (an :class:`~retainwise.errors.InputError`: the CLI exits 2 with
its one line; the pages show it) carrying ``retry_after`` seconds, and is logged as a ``limit_hit``
security event naming the tenant and the limit, never a token.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field

from retainwise.errors import InputError
from retainwise.platform.events import security_event
from retainwise.platform.runs import RunStore, now, shared_store
from retainwise.platform.tenants import check_tenant

log = logging.getLogger("retainwise.platform.limits")

#: limit name -> what it bounds (the CLI's help and ``tenant limits`` output say this).
LIMITS: dict[str, str] = {
    "queued_runs": "runs queued or processing at once",
    "upload_bytes_per_day": "bytes uploaded in any 24 hours",
    "uploads_per_minute": "portal upload requests per minute",
    "pages_per_minute": "report and portal page loads per minute",
}
#: Servers re-read a tenant's limits this often (seconds): a change reaches them within this time.
CACHE_S = 30.0
_UNITS = {"k": 10**3, "m": 10**6, "g": 10**9, "kb": 10**3, "mb": 10**6, "gb": 10**9}


class LimitError(InputError):
    """A tenant went over one of its limits: which one (``limit``) and when to try again (``retry_after`` s)."""

    code = "limit"

    def __init__(self, message: str, *, limit: str, retry_after: float) -> None:
        super().__init__(message, code=f"limit_{limit}")
        self.limit = limit
        self.retry_after = max(1, math.ceil(retry_after))


def limit_hit(tenant: str, limit: str, message: str, retry_after: float) -> LimitError:
    """The refusal for ``tenant`` going over ``limit``, logged as a security event (to be raised by the caller)."""
    error = LimitError(message, limit=limit, retry_after=retry_after)
    security_event("limit_hit", tenant=tenant, limit=limit, retry_after=error.retry_after)
    return error


@dataclass(frozen=True)
class TenantLimits:
    """The limits in force for one tenant: its overrides over the settings' defaults."""

    tenant: str
    queued_runs: int
    upload_bytes_per_day: int
    uploads_per_minute: int
    pages_per_minute: int
    #: names of the limits this tenant has its own value for
    overridden: frozenset[str] = field(default_factory=frozenset)

    def to_dict(self) -> dict:
        return {
            "tenant": self.tenant,
            **{name: getattr(self, name) for name in LIMITS},
            "overridden": sorted(self.overridden),
        }


def defaults(settings) -> dict[str, int]:
    """The default of every limit, from ``settings``."""
    return {name: int(getattr(settings, f"limit_{name}")) for name in LIMITS}


def parse_value(name: str, text: str) -> int | None:
    """``text`` as a value of limit ``name`` (None for ``default``); InputError when it is not one.

    Byte limits take decimal units too (``500MB``, ``2G``).
    """
    if name not in LIMITS:
        raise InputError(
            f"There is no limit called {name!r}: the limits are {', '.join(LIMITS)}.", code="bad_limit"
        )
    raw = str(text).strip().lower().replace("_", "").replace(",", "")
    if raw == "default":
        return None
    unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if raw.endswith(u)), "")
    number = raw[: len(raw) - len(unit)].strip() if unit else raw
    if not number.isdigit() or int(number) <= 0 or (unit and name != "upload_bytes_per_day"):
        raise InputError(
            f"Limit {name}={text!r} is not valid: give a whole number above 0"
            + (" (units K, M, G allowed)" if name == "upload_bytes_per_day" else "")
            + ", or 'default'.",
            code="bad_limit",
        )
    return int(number) * _UNITS.get(unit, 1)


def parse_assignment(text: str) -> tuple[str, int | None]:
    """``name=value`` as (name, value or None for ``default``); InputError when it is not one."""
    name, sep, value = str(text).partition("=")
    if not sep:
        raise InputError(f"{text!r} is not name=value: for example --set queued_runs=5.", code="bad_limit")
    name = name.strip()
    return name, parse_value(name, value)


def _overrides(tenant: str, text: str | None) -> dict[str, int]:
    """The valid overrides of a ``tenant_settings.limits`` value; the rest is logged and ignored."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        log.warning("tenant %s: limits are not a JSON object; the defaults apply", tenant)
        return {}
    good = {}
    for name, value in data.items():
        if name in LIMITS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            good[name] = value
        else:
            log.warning("tenant %s: limit %r=%r ignored; the default applies", tenant, name, value)
    return good


def _row(session, tenant: str):
    from retainwise.platform.tenants_config import TenantSettingsRow

    return session.get(TenantSettingsRow, tenant)


def for_tenant(store: RunStore, settings, tenant: str) -> TenantLimits:
    """The limits in force for ``tenant``. StorageError when the run store fails."""
    check_tenant(tenant)
    with store._session("reading tenant limits") as s:
        row = _row(s, tenant)
        own = _overrides(tenant, row.limits if row is not None else None)
    return TenantLimits(tenant, **{**defaults(settings), **own}, overridden=frozenset(own))


def update(store: RunStore, settings, tenant: str, changes: dict[str, int | None]) -> TenantLimits:
    """Set (a value) or drop (None) the tenant's overrides in ``changes``; the limits now in force.

    InputError for an unknown name or a value that is not a positive whole number.
    """
    from retainwise.platform.tenants_config import TenantSettingsRow

    check_tenant(tenant)
    for name, value in changes.items():
        if value is not None:
            parse_value(name, str(value))
        elif name not in LIMITS:
            parse_value(name, "default")
    with store._session("saving tenant limits") as s:
        row = _row(s, tenant)
        if row is None:
            row = TenantSettingsRow(tenant=tenant)
            s.add(row)
        own = _overrides(tenant, row.limits)
        own.update({k: int(v) for k, v in changes.items() if v is not None})
        for name in (k for k, v in changes.items() if v is None):
            own.pop(name, None)
        row.limits = json.dumps(own, sort_keys=True) if own else None
        row.updated_at = now()
    return for_tenant(store, settings, tenant)


_cache: dict[tuple[str, str], tuple[float, TenantLimits]] = {}
_cache_lock = threading.Lock()


def current(settings, tenant: str, store: RunStore | None = None) -> TenantLimits:
    """``tenant``'s limits as a server sees them: read at most every :data:`CACHE_S` seconds per process."""
    key = (settings.effective_database_url, tenant)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    limits = for_tenant(store or shared_store(settings.effective_database_url), settings, tenant)
    with _cache_lock:
        _cache[key] = (time.monotonic(), limits)
    return limits
