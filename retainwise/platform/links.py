"""Signed, expiring report links: one per business and run.

A link carries a token naming the tenant and the run, signed with
``RETAINWISE_SECRET`` (itsdangerous, HMAC-SHA256) and carrying its own
expiry. The report notebook verifies it before it loads any data; a link for
another tenant's run, a tampered or expired token, or no token at all shows a
refusal page with no data.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from retainwise.errors import ConfigError, InputError, LinkError  # LinkError lives in errors; re-exported here

SALT = "retainwise.execution.static_report-link.v1"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one tenant's one run, until ``expires`` (epoch seconds)."""

    tenant: str
    run_id: str
    expires: int


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``12h``, ``7d``, ``2w`` or plain seconds. InputError otherwise."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) <= 0:
        raise InputError(f"Link lifetime {text!r} is not a duration such as 30m, 12h or 7d.", code="bad_duration")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _serializer(secret: str | None):
    from itsdangerous import URLSafeSerializer

    if not secret:
        raise ConfigError("RETAINWISE_SECRET is not set: report links cannot be signed or checked. "
                          "`retainwise up` generates one; in production set it from Secrets Manager.")
    return URLSafeSerializer(secret, salt=SALT)


def sign(secret: str | None, tenant: str, run_id: str, expires_in_s: int, now: float | None = None) -> str:
    """A token granting ``tenant`` access to ``run_id`` for ``expires_in_s`` seconds."""
    expires = int((now if now is not None else time.time()) + expires_in_s)
    return _serializer(secret).dumps({"t": tenant, "r": run_id, "e": expires})


def verify(secret: str | None, token: str | None, run_id: str | None = None, now: float | None = None) -> Grant:
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


def report_url(settings, tenant: str, run_id: str, expires_in_s: int = 7 * 86400) -> str:
    """The URL of ``run_id``'s report on the report server, with a signed token."""
    token = sign(settings.secret, tenant, run_id, expires_in_s)
    return f"{settings.report_base_url.rstrip('/')}/?{urlencode({'run': run_id, 'token': token})}"


def from_query_string(query: str) -> tuple[str | None, str | None]:
    """(run, token) from a request's query string."""
    params = parse_qs(query or "", keep_blank_values=False)
    return (params.get("run") or [None])[0], (params.get("token") or [None])[0]


def cli_link(args) -> int:
    from retainwise.platform.runs import RunStore
    from retainwise.settings import Settings

    settings = Settings.from_env()
    run = RunStore.from_settings(settings).get(args.run_id)
    if run is None:
        raise InputError(f"No run {args.run_id!r} in the run store.", code="unknown_run")
    print(report_url(settings, run.tenant, run.id, parse_duration(args.expires)))
    return 0
