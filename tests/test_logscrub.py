"""Log scrubbing (issue 25, item 3): no token and, above DEBUG, no kernel id in any log line."""

from __future__ import annotations

import io
import logging

import pytest

from retainwise.platform.links import sign, sign_portal
from retainwise.reports.logscrub import KERNEL, REDACTED, ScrubFilter, install, scrub

KERNEL_ID = "0c1f2a6e-1111-4222-8333-444455556666"


@pytest.fixture
def token() -> str:
    return sign("s3cret", "acme", "run1", 3600)


def test_scrub_redacts_token_parameters_and_signed_tokens_anywhere(token):
    portal = sign_portal("s3cret", "acme", 3600)
    lines = [
        f"403 GET /?run=run1&token={token} (127.0.0.1) 2.1ms",
        f"403 POST /portal/upload?token={portal}&name=a.csv (127.0.0.1) 6.0ms",
        f"redirect to /x?next=%2F%3Frun%3D1%26token%3D{token}",  # quoted once inside another URL
        f"bad payload in {token}",  # no parameter name around it
    ]
    for line in lines:
        cleaned = scrub(line)
        assert token not in cleaned and portal not in cleaned, cleaned
        assert REDACTED in cleaned
    assert scrub("GET /?run=run1&name=a.csv") == "GET /?run=run1&name=a.csv"  # nothing else changes


def test_scrub_keeps_kernel_ids_only_when_asked():
    line = f"Kernel started: {KERNEL_ID}"
    assert scrub(line) == f"Kernel started: {KERNEL}"
    assert scrub(line, keep_kernel_ids=True) == line


def _logged(level: int, *args, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter())
    logger = logging.getLogger("test.logscrub")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    try:
        if exc:
            try:
                raise ValueError(args[1])
            except ValueError:
                logger.log(level, args[0], exc_info=True)
        else:
            logger.log(level, *args)
    finally:
        logger.handlers = []
    return stream.getvalue()


def test_the_filter_rewrites_records_arguments_and_tracebacks(token):
    info = _logged(logging.WARNING, "%d %s", 403, f"GET /?token={token}")
    assert token not in info and f"403 GET /?token={REDACTED}" in info
    assert KERNEL not in _logged(logging.DEBUG, "kernel %s", KERNEL_ID)
    assert KERNEL_ID not in _logged(logging.INFO, "kernel %s", KERNEL_ID)
    traced = _logged(logging.ERROR, "failed", f"Kernel {KERNEL_ID} refused token={token}", exc=True)
    assert "Traceback" in traced and token not in traced and KERNEL_ID not in traced


def test_install_covers_existing_handlers_and_logging_last_resort():
    logger = logging.getLogger("test.logscrub.install")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        install(logger)
        assert any(isinstance(f, ScrubFilter) for f in handler.filters)
        assert any(isinstance(f, ScrubFilter) for f in logging.lastResort.filters)  # tornado's default
        assert install(logger) == 0  # idempotent
    finally:
        logger.removeHandler(handler)
        for h in (handler, logging.lastResort):
            for f in [f for f in h.filters if isinstance(f, ScrubFilter)]:
                h.removeFilter(f)
