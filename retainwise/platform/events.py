"""Security events: one JSON line per refused link, refused upload or limit hit.

Written to the ``retainwise.security`` logger at WARNING, so they reach the service's log stream (and
CloudWatch on AWS, where ``infra/`` counts them with a metric filter on ``"event": "security"``).
A line never carries a token, a signature or a cookie: fields with such names are dropped here, whatever
the caller passed, because a security log that leaks the secret it guards is worse than none.
"""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger("retainwise.security")

#: Field names never written, whatever their value.
_SECRET_FIELDS = frozenset({"token", "t", "signature", "cookie", "secret", "password", "authorization"})


def security_event(kind: str, **fields: object) -> dict:
    """Log the event ``kind`` (e.g. ``"link_refused"``) with ``fields``; returns what was written."""
    record = {"event": "security", "kind": kind, "time": round(time.time(), 3)}
    record.update({k: v for k, v in fields.items() if k.lower() not in _SECRET_FIELDS})
    log.warning("%s", json.dumps(record, default=str, sort_keys=True))
    return record
