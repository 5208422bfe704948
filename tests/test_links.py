"""Signed report links."""

from __future__ import annotations

import pytest

from retainwise.errors import ConfigError, InputError, LinkError
from retainwise.platform.links import from_query_string, parse_duration, report_url, sign, verify
from retainwise.settings import Settings


def test_a_signed_token_grants_its_tenant_and_run():
    token = sign("s3cret", "acme", "run1", 3600)
    grant = verify("s3cret", token, "run1")
    assert (grant.tenant, grant.run_id) == ("acme", "run1")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("none", "no_token"),
        ("tampered", "bad_signature"),
        ("other_secret", "bad_signature"),
        ("expired", "expired"),
        ("other_run", "wrong_run"),
    ],
)
def test_invalid_tokens_are_refused(case, code):
    token = sign("s3cret", "acme", "run1", 3600)
    args = {
        "none": (None, "run1"),
        "tampered": (token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"), "run1"),
        "other_secret": (sign("other", "acme", "run1", 3600), "run1"),
        "expired": (sign("s3cret", "acme", "run1", 60, now=0), "run1"),
        "other_run": (token, "run2"),
    }[case]
    with pytest.raises(LinkError) as info:
        verify("s3cret", *args)
    assert info.value.code == code


def test_no_secret_is_a_configuration_error():
    with pytest.raises(ConfigError, match="RETAINWISE_SECRET"):
        sign(None, "acme", "run1", 60)


def test_report_url_round_trips_through_the_query_string():
    settings = Settings(secret="s3cret", report_base_url="http://reports.example/")
    url = report_url(settings, "acme", "run1", 600)
    assert url.startswith("http://reports.example/?run=run1&token=")
    run, token = from_query_string(url.split("?", 1)[1])
    assert run == "run1" and verify("s3cret", token, run).tenant == "acme"


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("12h", 43200), ("7d", 604800), ("90", 90)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "-1h", "7 days", "1y"])
def test_bad_durations_are_input_errors(text):
    with pytest.raises(InputError):
        parse_duration(text)


def test_a_portal_token_grants_its_tenant_and_is_no_report_token():
    from retainwise.platform.links import portal_url, sign_portal, verify_portal

    token = sign_portal("s3cret", "acme", 600)
    assert verify_portal("s3cret", token).tenant == "acme"
    with pytest.raises(LinkError):
        verify("s3cret", token)  # a portal token opens no report
    with pytest.raises(LinkError):
        verify_portal("s3cret", sign("s3cret", "acme", "run1", 600))  # and a report token no portal
    with pytest.raises(LinkError) as info:
        verify_portal("s3cret", sign_portal("s3cret", "acme", 60, now=0))
    assert info.value.code == "expired"
    assert portal_url(Settings(secret="s3cret", report_base_url="http://r.example"), "acme").startswith(
        "http://r.example/portal?token="
    )
