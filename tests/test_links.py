"""Signed report links."""

from __future__ import annotations

import pytest

from retainwise.errors import ConfigError, InputError, LinkError
from retainwise.platform.links import Grant, from_query_string, parse_duration, report_url, sign, verify
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


# -- issue 25: SHA-256 with an issue time, key rotation, legacy tokens, the lifetime cap ------------------
def _signed(secret: str, salt: str, payload: dict, legacy: bool = False) -> str:
    """A token signed the way itsdangerous does, with any payload (old format or hostile shapes)."""
    import hashlib

    from itsdangerous import URLSafeSerializer

    kwargs = {} if legacy else {"signer_kwargs": {"digest_method": hashlib.sha256}}
    return URLSafeSerializer(secret, salt=salt, **kwargs).dumps(payload)


def test_tokens_are_hmac_sha256_and_carry_their_issue_time():
    import base64
    import hashlib
    import hmac
    import time

    from retainwise.platform.links import REPORT_SALT

    before = time.time()
    token = sign("s3cret", "acme", "run1", 3600)
    payload, signature = token.rsplit(".", 1)
    # itsdangerous' django-concat key derivation, with SHA-256 throughout (SHA-1 would be 20 bytes, 27 chars)
    key = hashlib.sha256(REPORT_SALT.encode() + b"signer" + b"s3cret").digest()
    expected = base64.urlsafe_b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()).rstrip(b"=")
    assert signature.encode() == expected and len(signature) == 43
    grant = verify("s3cret", token, "run1")
    assert before - 0.001 <= grant.issued_at <= time.time()
    assert grant.expires == int(grant.issued_at + 3600)


def test_a_rotation_keeps_links_signed_with_a_listed_previous_key():
    from retainwise.platform.links import keys, portal_url, verify_portal

    old = Settings(secret="old-key", report_base_url="http://r.example")
    report, portal = sign(keys(old), "acme", "run1", 3600), portal_url(old, "acme").split("token=")[1]
    rotated = Settings(
        secret="new-key", previous_secrets="older-key, old-key", report_base_url="http://r.example"
    )
    assert keys(rotated) == ("new-key", "older-key", "old-key")
    assert verify(keys(rotated), report, "run1").tenant == "acme"
    assert verify_portal(keys(rotated), portal).tenant == "acme"
    fresh = sign(keys(rotated), "acme", "run1", 3600)
    assert verify("new-key", fresh).tenant == "acme"  # new links are signed with the new key only
    with pytest.raises(LinkError):
        verify("old-key", fresh)
    done = Settings(
        secret="new-key", report_base_url="http://r.example"
    )  # the old key dropped: its links end
    for check in (lambda: verify(keys(done), report), lambda: verify_portal(keys(done), portal)):
        with pytest.raises(LinkError) as info:
            check()
        assert info.value.code == "bad_signature"


def test_previous_secrets_are_read_from_the_environment(tmp_path):
    from retainwise.platform.links import keys

    env = {"RETAINWISE_HOME": str(tmp_path), "RETAINWISE_SECRET": "b", "RETAINWISE_PREVIOUS_SECRETS": "a,,c"}
    assert keys(Settings.from_env(env)) == ("b", "a", "c")
    assert keys(Settings(secret="b")) == ("b",)
    with pytest.raises(ConfigError, match="RETAINWISE_SECRET"):  # a previous key never signs in its place
        sign(keys(Settings(previous_secrets="a")), "acme", "run1", 60)


def test_a_legacy_sha1_token_works_only_while_its_key_is_listed_and_inside_the_window():
    import time

    from retainwise.platform.links import MAX_LIFETIME_S, verify_portal

    week = int(time.time()) + 7 * 86400
    legacy = _signed(
        "old-key", "retainwise.report-link.v1", {"t": "acme", "r": "run1", "e": week}, legacy=True
    )
    grant = verify(("new-key", "old-key"), legacy, "run1")
    assert (grant.tenant, grant.issued_at) == ("acme", None)
    portal = _signed("old-key", "retainwise.portal-link.v1", {"t": "acme", "e": week}, legacy=True)
    assert verify_portal("old-key", portal).tenant == "acme"
    with pytest.raises(LinkError) as info:
        verify("new-key", legacy)  # its key is no longer listed
    assert info.value.code == "bad_signature"
    forever = int(time.time()) + 99999999999 * 604800  # `--expires 99999999999w`, as the old CLI accepted
    for expires in (forever, int(time.time()) + MAX_LIFETIME_S + 86400):
        old = _signed("old-key", "retainwise.report-link.v1", {"t": "acme", "r": "run1", "e": expires}, True)
        with pytest.raises(LinkError) as info:
            verify("old-key", old)
        assert info.value.code == "too_long"
    # a SHA-1 signature is no SHA-256 one: the old salt signed with SHA-1 never passes the new check alone
    with pytest.raises(LinkError):
        verify(
            "old-key",
            _signed("old-key", "retainwise.report-link.v2", {"t": "acme", "r": "run1", "e": week}, True),
        )


@pytest.mark.parametrize("expires", ["soon", None, True, [1], {"a": 1}, 1e400])
def test_a_signed_payload_whose_expiry_is_not_a_number_is_refused_cleanly(expires):
    import time

    from retainwise.platform.links import PORTAL_SALT, REPORT_SALT, verify_portal

    now = time.time()
    report = _signed("s3cret", REPORT_SALT, {"t": "acme", "r": "run1", "e": expires, "i": now})
    portal = _signed("s3cret", PORTAL_SALT, {"t": "acme", "e": expires, "i": now})
    for check in (lambda: verify("s3cret", report), lambda: verify_portal("s3cret", portal)):
        with pytest.raises(LinkError) as info:
            check()
        assert info.value.code == "bad_payload"


@pytest.mark.parametrize("issued", [None, "now", False])
def test_a_token_without_a_numeric_issue_time_is_refused(issued):
    import time

    from retainwise.platform.links import REPORT_SALT

    payload = {"t": "acme", "r": "run1", "e": int(time.time()) + 60}
    token = _signed("s3cret", REPORT_SALT, payload if issued is None else {**payload, "i": issued})
    with pytest.raises(LinkError) as info:
        verify("s3cret", token)
    assert info.value.code == "bad_payload"


def test_a_signed_token_living_past_the_cap_is_refused():
    import time

    from retainwise.platform.links import MAX_LIFETIME_S, REPORT_SALT

    now = time.time()
    long = _signed(
        "s3cret", REPORT_SALT, {"t": "acme", "r": "run1", "e": now + MAX_LIFETIME_S + 60, "i": now}
    )
    future = _signed(
        "s3cret", REPORT_SALT, {"t": "acme", "r": "run1", "e": now + 86400 * 2, "i": now + 86400}
    )
    for token in (long, future):
        with pytest.raises(LinkError) as info:
            verify("s3cret", token)
        assert info.value.code == "too_long"


@pytest.mark.parametrize(
    "mangle", [lambda t: t + "é", lambda t: "é" + t, lambda t: t[:-2] + "éé", lambda t: "ü.ü"]
)
def test_non_ascii_tokens_are_refused_not_crashed_on(mangle):
    from retainwise.platform.links import sign_portal, verify_portal

    for token, check in (
        (sign("s3cret", "acme", "run1", 600), verify),
        (sign_portal("s3cret", "acme", 600), verify_portal),
    ):
        with pytest.raises(LinkError) as info:
            check("s3cret", mangle(token))
        assert info.value.code in ("bad_token", "bad_signature")


def test_an_oversized_token_is_refused_unread():
    with pytest.raises(LinkError) as info:
        verify("s3cret", "a" * 5000 + "." + "b" * 43)
    assert info.value.code == "bad_token"


@pytest.mark.parametrize("text", ["3650d", "91d", "13w", "99999999999w", "7776001"])
def test_lifetimes_over_ninety_days_are_refused_with_the_reason(text):
    with pytest.raises(InputError) as info:
        parse_duration(text)
    assert (
        info.value.code == "too_long"
        and "90 days" in info.value.message
        and "90d or less" in info.value.message
    )


@pytest.mark.parametrize("text", ["90d", "12w", "7776000"])
def test_ninety_days_is_accepted(text):
    assert parse_duration(text) <= 90 * 86400


def test_sign_refuses_a_lifetime_over_the_cap():
    from retainwise.platform.links import sign_portal

    with pytest.raises(InputError):
        sign("s3cret", "acme", "run1", 91 * 86400)
    with pytest.raises(InputError):
        sign_portal("s3cret", "acme", 0)


# -- revocation: the run store's per-tenant links_valid_after and disabled flag --------------------------
@pytest.fixture
def store(tmp_path):
    from retainwise.platform.runs import RunStore

    return RunStore.open(f"sqlite:///{tmp_path / 'runs.sqlite3'}")


def test_revoking_a_tenants_links_refuses_those_issued_before_and_no_one_else(store):
    import time

    from retainwise.platform import tenants_config
    from retainwise.platform.links import check_access, sign_portal, verify_portal

    old_report = verify("s3cret", sign("s3cret", "acme", "run1", 3600))
    old_portal = verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))
    rival = verify_portal("s3cret", sign_portal("s3cret", "rival", 3600))
    legacy = verify(
        "s3cret",
        _signed(
            "s3cret", "retainwise.report-link.v1", {"t": "acme", "r": "r", "e": int(time.time()) + 3600}, True
        ),
    )
    for grant in (old_report, old_portal, rival, legacy):
        check_access(store, grant)  # nothing revoked yet
    tenants_config.revoke_links(store, "acme")
    for grant in (old_report, old_portal, legacy):  # a legacy token has no issue time: it counts as before
        with pytest.raises(LinkError) as info:
            check_access(store, grant)
        assert info.value.code == "revoked" and info.value.message == "This link is not valid."
    check_access(store, rival)
    check_access(store, verify("s3cret", sign("s3cret", "acme", "run1", 3600)))  # issued just after: works
    later = verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))
    time.sleep(0.002)  # the cut is kept to the millisecond: a link of the same millisecond is let through
    tenants_config.revoke_links(store, "acme")  # a second revocation moves the cut forward
    with pytest.raises(LinkError):
        check_access(store, later)


def test_a_disabled_tenant_has_every_link_refused_until_enabled(store):
    from retainwise.platform import tenants_config
    from retainwise.platform.links import check_access, sign_portal, verify_portal

    grant = verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))
    assert tenants_config.set_disabled(store, "acme", True).disabled
    for token in (grant, verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))):  # old and new alike
        with pytest.raises(LinkError) as info:
            check_access(store, token)
        assert info.value.code == "disabled"
    check_access(store, verify_portal("s3cret", sign_portal("s3cret", "rival", 3600)))
    assert not tenants_config.set_disabled(store, "acme", False).disabled
    check_access(store, grant)  # enabling brings back the links that were not revoked


# -- the webhook signature check (issue 25, a smaller item): a mismatch, never an exception --------------
@pytest.mark.parametrize(
    ("timestamp", "header"),
    [("now", "sha256=é" + "0" * 63), ("now", "sha256=\udcff"), ("²³⁴", None), ("now", "ü")],
)
def test_a_webhook_signature_with_non_ascii_text_is_false_not_an_error(timestamp, header):
    import time

    from retainwise.platform import notify

    now = int(time.time())
    body = b'{"event": "run.completed"}'
    good = notify.signature("key", str(now), body)
    stamp = str(now) if timestamp == "now" else timestamp
    assert notify.verify_signature("key", stamp, body, header or good, now=now) is False
    assert notify.verify_signature("key", str(now), body, good, now=now) is True


def test_links_a_page_mints_carry_its_issue_time_and_die_with_its_revocation(store):
    import time

    from retainwise.platform import tenants_config
    from retainwise.platform.links import check_access, sign_portal, verify_portal

    settings = Settings(secret="s3cret", report_base_url="http://r.example")
    page = verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))  # a portal page opened now
    time.sleep(0.002)
    tenants_config.revoke_links(store, "acme")
    minted = verify("s3cret", report_url(settings, "acme", "run2", 600, parent=page).split("token=")[1])
    assert minted.issued_at == page.issued_at and minted.expires <= page.expires
    with pytest.raises(LinkError) as info:  # minted after the revocation, from a page opened before it
        check_access(store, minted)
    assert info.value.code == "revoked"
    legacy_parent = Grant("acme", "", page.expires)  # a legacy page: no issue time of its own
    url = report_url(settings, "acme", "run2", 600, parent=legacy_parent)
    legacy = verify("s3cret", url.split("token=")[1])
    with pytest.raises(LinkError):
        check_access(store, legacy)
    fresh = verify_portal("s3cret", sign_portal("s3cret", "acme", 3600))
    check_access(
        store, verify("s3cret", report_url(settings, "acme", "run2", 600, parent=fresh).split("token=")[1])
    )
