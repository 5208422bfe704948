"""Signed, expiring links: a report link per business and run, a portal link per business.

A report link carries a token naming the tenant and the run, a portal link one
naming the tenant, each signed with ``RETAINWISE_SECRET`` (itsdangerous,
HMAC-SHA256, a different salt per kind so one kind never passes for the other)
and carrying its own expiry. The report server checks the token before a kernel
starts (``retainwise.reports.gate``) and the notebook checks it again before it
loads any data; a link for another tenant's run, a tampered or expired token,
or no token at all shows a refusal page with no data.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from retainwise.errors import (  # LinkError lives in errors; re-exported here
    ConfigError,
    InputError,
    LinkError,
)

SALT = "retainwise.report-link.v1"  # unchanged since the first release: links already issued stay valid
PORTAL_SALT = "retainwise.portal-link.v1"
_DURATION = re.compile(r"\s*(\d+)\s*([smhdw]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one tenant's one run, until ``expires`` (epoch seconds)."""

    tenant: str
    run_id: str
    expires: int


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``12h``, ``7d``, ``2w`` or plain seconds. InputError otherwise."""
    match = _DURATION.fullmatch(str(text))
    if not match or int(match.group(1)) <= 0:
        raise InputError(
            f"Link lifetime {text!r} is not a duration such as 30m, 12h or 7d.", code="bad_duration"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def _serializer(secret: str | None, salt: str = SALT):
    from itsdangerous import URLSafeSerializer

    if not secret:
        raise ConfigError(
            "RETAINWISE_SECRET is not set: report links cannot be signed or checked. "
            "`retainwise up` generates one; in production set it from Secrets Manager."
        )
    return URLSafeSerializer(secret, salt=salt)


def sign(secret: str | None, tenant: str, run_id: str, expires_in_s: int, now: float | None = None) -> str:
    """A token granting ``tenant`` access to ``run_id`` for ``expires_in_s`` seconds."""
    expires = int((now if now is not None else time.time()) + expires_in_s)
    return _serializer(secret).dumps({"t": tenant, "r": run_id, "e": expires})


def verify(
    secret: str | None, token: str | None, run_id: str | None = None, now: float | None = None
) -> Grant:
    """The grant in ``token``; LinkError when it is missing, tampered, expired or for another run."""
    from itsdangerous import BadSignature

    if not token:
        raise LinkError("This report link has no access token.", code="no_token")
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise LinkError("This report link is not valid.", code="bad_signature") from None
    if not isinstance(data, dict) or not {"t", "r", "e"} <= set(data):
        raise LinkError("This report link is not valid.", code="bad_payload")
    grant = Grant(tenant=str(data["t"]), run_id=str(data["r"]), expires=int(data["e"]))
    if grant.expires < (now if now is not None else time.time()):
        raise LinkError("This report link has expired; ask for a new one.", code="expired")
    if run_id is not None and run_id != grant.run_id:
        raise LinkError("This report link is not for this report.", code="wrong_run")
    return grant


def sign_portal(secret: str | None, tenant: str, expires_in_s: int, now: float | None = None) -> str:
    """A token granting ``tenant`` its portal for ``expires_in_s`` seconds. ConfigError without a secret."""
    expires = int((now if now is not None else time.time()) + expires_in_s)
    return _serializer(secret, PORTAL_SALT).dumps({"t": tenant, "e": expires})


def verify_portal(secret: str | None, token: str | None, now: float | None = None) -> Grant:
    """The tenant's grant (``run_id`` empty) in a portal ``token``; LinkError when missing, tampered or expired."""
    from itsdangerous import BadSignature

    if not token:
        raise LinkError("This link has no access token.", code="no_token")
    try:
        data = _serializer(secret, PORTAL_SALT).loads(token)
    except BadSignature:
        raise LinkError("This link is not valid.", code="bad_signature") from None
    if not isinstance(data, dict) or not {"t", "e"} <= set(data):
        raise LinkError("This link is not valid.", code="bad_payload")
    grant = Grant(tenant=str(data["t"]), run_id="", expires=int(data["e"]))
    if grant.expires < (now if now is not None else time.time()):
        raise LinkError("This link has expired; ask for a new one.", code="expired")
    return grant


def remaining_s(grant: Grant, now: float | None = None) -> int:
    """Seconds ``grant`` has left (at least 1): anything minted from a page must not outlive its token."""
    return max(1, int(grant.expires - (now if now is not None else time.time())))


def portal_url(settings, tenant: str, expires_in_s: int = 7 * 86400) -> str:
    """The URL of ``tenant``'s portal on the report server, with a signed token."""
    token = sign_portal(settings.secret, tenant, expires_in_s)
    return f"{settings.report_base_url.rstrip('/')}/portal?{urlencode({'token': token})}"


def report_url(settings, tenant: str, run_id: str, expires_in_s: int = 7 * 86400) -> str:
    """The URL of ``run_id``'s report on the report server, with a signed token."""
    token = sign(settings.secret, tenant, run_id, expires_in_s)
    return f"{settings.report_base_url.rstrip('/')}/?{urlencode({'run': run_id, 'token': token})}"


def from_query_string(query: str) -> tuple[str | None, str | None]:
    """(run, token) from a request's query string."""
    params = parse_qs(query or "", keep_blank_values=False)
    return (params.get("run") or [None])[0], (params.get("token") or [None])[0]
