"""Keeps link tokens and kernel ids out of the report server's logs.

Tornado logs every request's full URI (and every response of 400 or more at WARNING), and Jupyter logs kernel
ids at INFO ("Kernel started: <id>"). A link token is a bearer secret for a tenant's data, and a kernel id
used to be enough to drive a visitor's kernel, so neither may sit in a log kept for a year.
:class:`ScrubFilter`, installed on every log handler of the server process (:func:`install`), rewrites each
record before it is written:

- the value of any ``token=`` parameter (plain or URL-encoded, in any URL) becomes ``[redacted]``, and so
  does anything shaped like one of our signed tokens wherever it appears (defence in depth: an exception
  message quoting a token);
- kernel ids (UUIDs) become ``[kernel]`` in records above DEBUG: the id itself is only ever written at DEBUG,
  where an operator who turned DEBUG on for a diagnosis asked for it.

Tracebacks are formatted, scrubbed and stored on the record, so a formatter prints the scrubbed text.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
KERNEL = "[kernel]"

#: ``token=`` then its value, in a query string or a URL quoted once (``token%3D...``).
_TOKEN_PARAM = re.compile(r"(?i)(token(?:=|%3D))[^&\s\"'<>]+")
#: An itsdangerous token of ours: base64url JSON (``{"`` encodes as ``eyJ``), a dot, a signature.
_SIGNED = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
_KERNEL_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)


def scrub(text: str, *, keep_kernel_ids: bool = False) -> str:
    """``text`` without token values (and without kernel ids unless ``keep_kernel_ids``)."""
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SIGNED.sub(REDACTED, text)
    if not keep_kernel_ids:
        text = _KERNEL_ID.sub(KERNEL, text)
    return text


class ScrubFilter(logging.Filter):
    """Rewrites a record's message (and traceback) through :func:`scrub`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        keep = record.levelno <= logging.DEBUG
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem; leave it as it is
            return True
        cleaned = scrub(message, keep_kernel_ids=keep)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, keep_kernel_ids=keep)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, keep_kernel_ids=keep)
        return True


_FILTER = ScrubFilter()


def _handlers(extra: list[logging.Logger]) -> list[logging.Handler]:
    found: list[logging.Handler] = list(logging.getLogger().handlers)
    if logging.lastResort is not None:  # where tornado's loggers write when nobody configured them
        found.append(logging.lastResort)
    loggers = [
        *extra,
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    for logger in loggers:
        found.extend(getattr(logger, "handlers", []))
    return found


def install(*loggers: logging.Logger) -> int:
    """Put the scrub filter on every handler that exists now (the root's, logging's last resort, every
    logger's, and those of ``loggers``); returns how many handlers it newly covers. Idempotent."""
    added = 0
    for handler in _handlers(list(loggers)):
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
            added += 1
    return added
