"""Security events: one parseable JSON line each, counted by infra/'s metric filters, never a secret."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from retainwise.platform.events import (
    KINDS,
    LIMIT_HIT,
    LINK_REFUSED,
    MAX_TEXT,
    UPLOAD_REFUSED,
    security_event,
)


def lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "retainwise.security"]


def test_an_event_is_one_json_line_at_warning_on_the_security_logger(caplog):
    caplog.set_level(logging.INFO, logger="retainwise.security")
    written = security_event(LIMIT_HIT, tenant="acme", limit="pages_per_minute", retry_after=12)
    (record,) = [r for r in caplog.records if r.name == "retainwise.security"]
    assert record.levelno == logging.WARNING and "\n" not in record.getMessage()
    (line,) = lines(caplog)
    assert line == written
    assert line["event"] == "security" and line["kind"] == "limit_hit" and line["tenant"] == "acme"
    assert line["retry_after"] == 12 and isinstance(line["time"], float)
    assert set(KINDS) == {"link_refused", "upload_refused", "limit_hit"}


def test_secrets_never_reach_the_line_at_any_depth(caplog):
    caplog.set_level(logging.INFO, logger="retainwise.security")
    security_event(
        LINK_REFUSED,
        token="tok-123",
        t="tok-456",
        Signature="sig-789",
        request={"headers": {"Cookie": "c-1", "Authorization": "Bearer b-2", "User-Agent": "curl"}},
        url="https://reports.example.com/?t=tok-abc&x=1",
        path="/portal?t=tok-def",
        reason="expired",
    )
    raw = caplog.records[-1].getMessage()
    for secret in ("tok-", "sig-789", "c-1", "Bearer"):
        assert secret not in raw
    (line,) = lines(caplog)
    assert line["request"] == {"headers": {"User-Agent": "curl"}}
    assert line["url"] == "https://reports.example.com/?..." and line["path"] == "/portal?..."
    assert line["reason"] == "expired"


@pytest.mark.parametrize("field", ["event", "kind", "time"])
def test_a_caller_cannot_rename_the_event_out_of_the_metric_filter(caplog, field):
    caplog.set_level(logging.INFO, logger="retainwise.security")
    security_event(UPLOAD_REFUSED, **{field: "innocent"})
    (line,) = lines(caplog)
    assert line["event"] == "security" and line["kind"] == "upload_refused" and line["time"] != "innocent"


def test_stranger_text_cannot_forge_a_line_or_flood_the_log(caplog):
    caplog.set_level(logging.INFO, logger="retainwise.security")
    name = 'evil.csv\n{"event": "security", "kind": "fake"}' + "x" * 10_000
    security_event(UPLOAD_REFUSED, tenant="acme", filename=name, names=[name] * 50)
    raw = caplog.records[-1].getMessage()
    assert raw.count("\n") == 0 and len(raw) < 20 * (MAX_TEXT + 100)
    (line,) = lines(caplog)
    assert line["filename"].startswith('evil.csv\n{"event"') and line["filename"].endswith("more characters)")
    assert len(line["names"]) == 20


def test_in_a_service_process_the_line_on_stderr_is_the_bare_json_the_metric_filter_reads():
    """No logging set up (the runner, the report server): the line is the JSON alone, no level or logger
    prefix, or CloudWatch's JSON metric filter ({ $.event = "security" }) would not see it."""
    code = "from retainwise.platform.events import security_event; security_event('limit_hit', tenant='acme')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    record = json.loads(line)
    assert (record["event"], record["kind"], record["tenant"]) == ("security", "limit_hit", "acme")
