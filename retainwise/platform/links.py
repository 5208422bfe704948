"""Signed, expiring links that can be revoked per tenant and outlive a key rotation.

A report link carries a token naming the tenant and the run, a portal link one naming the tenant. Each
token is signed with HMAC-SHA256 (itsdangerous, a different salt per kind so one kind never passes for
the other) and carries its expiry ``e`` and its issue time ``i`` (epoch seconds, to the millisecond).

Decisions:

- **Lifetime.** No link lives longer than :data:`MAX_LIFETIME_S` (90 days): ``retainwise link --expires``
  refuses more, :func:`sign` refuses more, and :func:`verify` refuses a token whose expiry lies further
  than that past its issue time or past now. A link that must live longer is issued again.
- **Keys.** ``RETAINWISE_SECRET`` signs every new link; ``RETAINWISE_PREVIOUS_SECRETS`` (comma-separated;
  keys never contain commas, ``retainwise up`` generates URL-safe ones) lists keys whose links are still
  honoured. Rotation: put the old key into the previous list, set a new secret, restart the services;
  once the old key's last link has expired (at most 90 days), drop it from the list. Dropping a key is
  the platform-wide "revoke everything"; one tenant is revoked with ``retainwise tenant revoke-links``.
- **Legacy tokens.** Links issued before this format are HMAC-SHA1 (itsdangerous' default) and carry no
  issue time. They are honoured only while their key is listed and inside the rotation window: their
  expiry no further than :data:`MAX_LIFETIME_S` from now (so a link once minted with ``99999999999w``
  never works), and never once the tenant's links were revoked (an unknown issue time counts as
  "before"). The upgrade's runbook step is a rotation: a new ``RETAINWISE_SECRET``, the old one in
  ``RETAINWISE_PREVIOUS_SECRETS``; dropping it after 90 days ends every legacy link for good (without
  that, a legacy link minted for, say, a year would work again in its last 90 days).
- **Revocation.** :func:`check_access` refuses a grant whose tenant is disabled, or whose token was issued
  before the tenant's ``links_valid_after`` (run store). The report server calls it before a kernel starts
  (``retainwise.reports.gate``), the upload endpoint before it takes a byte, and the notebooks again before
  they load data. Issue times come from the clock of the machine that minted the link: hosts must agree
  on the time (NTP) to the millisecond only for links minted in the instant of a revocation.
- **Refusals.** Every defect (missing, non-ASCII, tampered, a payload of the wrong shape, an expiry that
  is not a number) is a :class:`LinkError`, never a crash, and its code is logged, never shown in detail.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from retainwise.errors import (  # LinkError lives in errors; re-exported here
    ConfigError,
    InputError,
    LinkError,
)

REPORT_SALT = "retainwise.report-link.v2"
PORTAL_SALT = "retainwise.portal-link.v2"
#: The salts of the HMAC-SHA1 tokens issued before issue times and key lists (honoured during rotation).
LEGACY_SALTS = {REPORT_SALT: "retainwise.report-link.v1", PORTAL_SALT: "retainwise.portal-link.v1"}
MAX_LIFETIME_S = 90 * 86400
MAX_TOKEN_CHARS = 2048  # a real token is ~150 characters; a longer one is refused unread
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+")  # itsdangerous' URL-safe alphabet: anything else is not ours
_SKEW_S = 300  # an issue time this far in the future is still the minting host's clock, not a forgery
_DURATION = re.compile(r"\s*(\d{1,12})\s*([smhdw]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Keys = str | Sequence[str] | None


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: one tenant's one run (or its portal: ``run_id`` empty), until ``expires``
    (epoch seconds). ``issued_at`` is None for a legacy token, which has no issue time."""

    tenant: str
    run_id: str
    expires: int
    issued_at: float | None = None


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``12h``, ``7d``, ``2w`` or plain seconds, at most 90 days. InputError otherwise."""
    match = _DURATION.fullmatch(str(text))
    if not match or int(match.group(1)) <= 0:
        raise InputError(
            f"Link lifetime {text!r} is not a duration such as 30m, 12h or 7d.", code="bad_duration"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_LIFETIME_S:
        raise InputError(
            f"Link lifetime {text.strip()} is longer than the {MAX_LIFETIME_S // 86400} days a link may "
            f"live: give {MAX_LIFETIME_S // 86400}d or less and issue a new link when it runs out.",
            code="too_long",
        )
    return seconds


def keys(settings) -> tuple[str, ...]:
    """The keys links are checked with: ``RETAINWISE_SECRET`` first (it signs), then
    ``RETAINWISE_PREVIOUS_SECRETS``. Empty without a secret (a ConfigError where it is used): a previous
    key alone must never become the signing key."""
    if not settings.secret:
        return ()
    previous = [k.strip() for k in (getattr(settings, "previous_secrets", None) or "").split(",")]
    return tuple(k for k in (settings.secret, *previous) if k)


def _key_list(secret: Keys) -> list[str]:
    """``secret`` as itsdangerous' key list: the signing key (listed first by callers) goes last."""
    listed = [secret] if isinstance(secret, str) else list(secret or ())
    listed = [k for k in listed if k]
    if not listed:
        raise ConfigError(
            "RETAINWISE_SECRET is not set: report links cannot be signed or checked. "
            "`retainwise up` generates one; in production set it from Secrets Manager."
        )
    return listed[::-1]


def _serializer(secret: Keys, salt: str, legacy: bool = False):
    from itsdangerous import URLSafeSerializer

    digest = hashlib.sha1 if legacy else hashlib.sha256  # SHA-1 only to read the tokens issued before
    return URLSafeSerializer(_key_list(secret), salt=salt, signer_kwargs={"digest_method": digest})


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _issue(
    secret: Keys,
    salt: str,
    payload: dict,
    expires_in_s: int,
    now: float | None,
    issued_at: float | None = None,
) -> str:
    at = _now(now)
    issued = math.floor(at * 1000) / 1000 if issued_at is None else issued_at  # floored: never later than now
    expires = int(at + expires_in_s)
    if issued_at is not None:  # minted from a page: never past the cap counted from the page's own issue
        expires = min(expires, int(issued_at + MAX_LIFETIME_S))
    if not 0 < int(expires_in_s) or expires - issued > MAX_LIFETIME_S:
        raise InputError(
            f"A link may live between 1 second and {MAX_LIFETIME_S // 86400} days, not {expires_in_s} s.",
            code="too_long",
        )
    return _serializer(secret, salt).dumps({**payload, "e": expires, "i": issued})


def inherited_issue(parent: Grant) -> float:
    """The issue time of a link minted from ``parent``'s page: ``parent``'s own, so revoking the links issued
    before a moment ends the links its pages minted too (a legacy parent: the earliest it can have been
    issued under the cap)."""
    return parent.issued_at if parent.issued_at is not None else float(parent.expires - MAX_LIFETIME_S)


def sign(
    secret: Keys,
    tenant: str,
    run_id: str,
    expires_in_s: int,
    now: float | None = None,
    issued_at: float | None = None,
) -> str:
    """A token granting ``tenant`` access to ``run_id`` for ``expires_in_s`` seconds (at most 90 days).

    ``secret`` is the signing key, or the key list of :func:`keys` (the first signs); ``issued_at`` (default
    now) is the issue time it carries (:func:`inherited_issue`). ConfigError without a key, InputError for
    a lifetime over the cap."""
    return _issue(secret, REPORT_SALT, {"t": tenant, "r": run_id}, expires_in_s, now, issued_at)


def sign_portal(secret: Keys, tenant: str, expires_in_s: int, now: float | None = None) -> str:
    """A token granting ``tenant`` its portal for ``expires_in_s`` seconds. As :func:`sign`."""
    return _issue(secret, PORTAL_SALT, {"t": tenant}, expires_in_s, now)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _payload(secret: Keys, token: str | None, salt: str, what: str) -> tuple[dict, bool]:
    """(payload, legacy) of a token signed by one of the keys; LinkError otherwise."""
    from itsdangerous import BadData

    if not token:
        raise LinkError(f"This {what} has no access token.", code="no_token")
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise LinkError(f"This {what} is not valid.", code="bad_token")
    for legacy in (False, True):
        try:
            data = _serializer(secret, LEGACY_SALTS[salt] if legacy else salt, legacy).loads(token)
        except BadData:
            continue
        if not isinstance(data, dict):
            raise LinkError(f"This {what} is not valid.", code="bad_payload")
        return data, legacy
    raise LinkError(f"This {what} is not valid.", code="bad_signature")


def _grant(data: dict, legacy: bool, run_key: str | None, what: str, now: float | None) -> Grant:
    """The grant a signed payload describes, after its shape, lifetime and expiry checks."""
    fields = {"t", "e"} | ({run_key} if run_key else set()) | (set() if legacy else {"i"})
    issued = data.get("i")
    if not fields <= set(data) or not _number(data["e"]) or not (legacy or _number(issued)):
        raise LinkError(f"This {what} is not valid.", code="bad_payload")
    at = _now(now)
    expires = int(data["e"])
    horizon = at if legacy else float(issued)  # a legacy token is measured from now: the rotation window
    if expires - horizon > MAX_LIFETIME_S or (not legacy and issued > at + _SKEW_S):
        raise LinkError(f"This {what} is not valid.", code="too_long")
    if expires < at:
        raise LinkError(f"This {what} has expired; ask for a new one.", code="expired")
    run_id = str(data[run_key]) if run_key else ""
    return Grant(str(data["t"]), run_id, expires, None if legacy else float(issued))


def verify(secret: Keys, token: str | None, run_id: str | None = None, now: float | None = None) -> Grant:
    """The grant in a report ``token`` signed by one of ``secret`` (a key or the key list of :func:`keys`).

    LinkError when it is missing, tampered, malformed, too long-lived, expired or for another run."""
    data, legacy = _payload(secret, token, REPORT_SALT, "report link")
    grant = _grant(data, legacy, "r", "report link", now)
    if run_id is not None and run_id != grant.run_id:
        raise LinkError("This report link is not for this report.", code="wrong_run")
    return grant


def verify_portal(secret: Keys, token: str | None, now: float | None = None) -> Grant:
    """The tenant's grant (``run_id`` empty) in a portal ``token``; LinkError as :func:`verify`."""
    data, legacy = _payload(secret, token, PORTAL_SALT, "link")
    return _grant(data, legacy, None, "link", now)


def check_access(store, grant: Grant) -> None:
    """LinkError when ``grant``'s tenant is disabled or its links were revoked after the token was issued.

    Read from the run store on every call (no cache): a revocation takes effect on the next request.
    StorageError when the store fails (the caller shows "try again", never the page)."""
    from retainwise.platform.tenants_config import access

    state = access(store, grant.tenant)
    if state.disabled:
        raise LinkError("This link is not valid.", code="disabled")
    cutoff = state.valid_after_epoch
    if cutoff is not None and (grant.issued_at is None or grant.issued_at < cutoff):
        raise LinkError("This link is not valid.", code="revoked")


def remaining_s(grant: Grant, now: float | None = None) -> int:
    """Seconds ``grant`` has left (at least 1): anything minted from a page must not outlive its token."""
    return max(1, int(grant.expires - _now(now)))


def portal_url(settings, tenant: str, expires_in_s: int = 7 * 86400) -> str:
    """The URL of ``tenant``'s portal on the report server, with a signed token."""
    token = sign_portal(keys(settings), tenant, expires_in_s)
    return f"{settings.report_base_url.rstrip('/')}/portal?{urlencode({'token': token})}"


def report_url(
    settings, tenant: str, run_id: str, expires_in_s: int = 7 * 86400, *, parent: Grant | None = None
) -> str:
    """The URL of ``run_id``'s report on the report server, with a signed token. Minted from a page, pass
    its grant as ``parent``: the link then carries the page's issue time and dies with its revocation."""
    issued_at = None if parent is None else inherited_issue(parent)
    token = sign(keys(settings), tenant, run_id, expires_in_s, issued_at=issued_at)
    return f"{settings.report_base_url.rstrip('/')}/?{urlencode({'run': run_id, 'token': token})}"


def from_query_string(query: str) -> tuple[str | None, str | None]:
    """(run, token) from a request's query string."""
    params = parse_qs(query or "", keep_blank_values=False)
    return (params.get("run") or [None])[0], (params.get("token") or [None])[0]
