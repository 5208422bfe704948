"""Security events: one JSON line per refused link, refused upload or limit hit.

Written to the ``retainwise.security`` logger at WARNING, so they reach the service's log stream (and
CloudWatch on AWS, where ``infra/monitoring.tf`` counts them with metric filters on ``$.event =
"security"`` and on each :data:`KINDS` value, and alarms on bursts).

A line never carries a token, a signature or a cookie: fields with such names are dropped here, at any
depth, whatever the caller passed, because a security log that leaks the secret it guards is worse than
none; a URL's query string is cut for the same reason (a refused link's ``?t=`` is the token). What a
stranger sends (a file name, a header, a tenant name) is JSON-escaped and cut to :data:`MAX_TEXT`
characters, so a request can neither forge a second line nor flood the log. The caller cannot overwrite
``event``, ``kind`` or ``time``: an event that renamed itself would escape the metric filter.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

log = logging.getLogger("retainwise.security")

#: The kinds infra/ filters on, one metric each; callers use these names.
LINK_REFUSED = "link_refused"
UPLOAD_REFUSED = "upload_refused"
LIMIT_HIT = "limit_hit"
KINDS = (LINK_REFUSED, UPLOAD_REFUSED, LIMIT_HIT)

#: Field names never written, whatever their value.
_SECRET_FIELDS = frozenset(
    {"token", "t", "signature", "sig", "cookie", "cookies", "secret", "password", "authorization", "xsrf"}
)
_OWN_FIELDS = frozenset({"event", "kind", "time"})
#: Longest text written for one value; the rest is replaced by a count of what was cut.
MAX_TEXT = 300


def security_event(kind: str, /, **fields: object) -> dict:
    """Log the event ``kind`` (e.g. :data:`LINK_REFUSED`) with ``fields``; returns what was written."""
    record: dict = {"event": "security", "kind": _clean(kind), "time": round(time.time(), 3)}
    for key, value in _scrub(fields).items():
        if key not in _OWN_FIELDS:
            record[key] = value
    log.warning("%s", json.dumps(record, default=str, sort_keys=True))
    return record


def _scrub(value: object, depth: int = 0) -> object:
    """``value`` without secret-named fields (at any depth), query strings or overlong text."""
    if depth > 5:
        return "..."
    if isinstance(value, Mapping):
        return {
            str(k): _scrub(v, depth + 1) for k, v in value.items() if str(k).lower() not in _SECRET_FIELDS
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v, depth + 1) for v in list(value)[:20]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clean(str(value))


def _clean(text: str) -> str:
    if "?" in text and ("://" in text or text.startswith("/")):  # a URL or a path: its query may hold a token
        text = text.split("?", 1)[0] + "?..."
    if len(text) > MAX_TEXT:
        text = f"{text[:MAX_TEXT]}... ({len(text) - MAX_TEXT} more characters)"
    return text
