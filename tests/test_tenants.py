"""The tenant and key rules: full matches everywhere a tenant or a key is accepted."""

from __future__ import annotations

import json

import pytest

from retainwise.errors import InputError, MessageError
from retainwise.platform.messages import parse
from retainwise.platform.tenants import (
    check_key,
    check_run_id,
    check_tenant,
    results_prefix,
    safe_name,
    upload_key,
)

HOSTILE = ["acme\n", "acme\r\n", "\nacme", "acme/..", "..", "Acme", "", "a" * 64, "acme\x00"]


@pytest.mark.parametrize("tenant", HOSTILE)
def test_hostile_tenant_names_are_refused(tenant):
    with pytest.raises(InputError):
        check_tenant(tenant)
    with pytest.raises(InputError):
        upload_key(tenant, "x.csv")
    with pytest.raises(InputError):
        results_prefix(tenant, "r1")


def test_good_tenant_names_pass():
    assert check_tenant("acme") == "acme" and check_tenant("shop-7_eu") == "shop-7_eu"


def test_a_trailing_newline_never_reaches_a_key():
    with pytest.raises(MessageError):
        check_key("uploads/acme\n/x.csv")
    with pytest.raises(MessageError):
        check_key("uploads/acme/x.csv\n")
    with pytest.raises(InputError):
        check_run_id("r1\n")


def test_the_newline_tenant_is_refused_in_both_message_shapes():
    job = {
        "prediction_id": "r1",
        "upload_id": "u1",
        "user_id": "acme\n",
        "queued_at": "2026-11-26T10:00:00Z",
        "s3_file_path": "s3://b/uploads/acme/x.csv",
    }
    with pytest.raises(MessageError):
        parse(json.dumps(job), bucket="b")
    job.update(user_id="acme", prediction_id="r1\n")
    with pytest.raises(MessageError):
        parse(json.dumps(job), bucket="b")
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads/acme%0A/x.csv", "eTag": "e"}},
            }
        ]
    }
    with pytest.raises(MessageError) as info:
        parse(json.dumps(event), bucket="b")
    assert info.value.code == "bad_tenant"


def test_submit_refuses_the_newline_tenant(tmp_path):
    from retainwise.platform.jobs import submit
    from retainwise.settings import Settings

    path = tmp_path / "x.csv"
    path.write_text("customer_id\n1\n")
    with pytest.raises(InputError, match="not allowed"):
        submit(path, "acme\n", Settings(home=tmp_path, bucket="b", queue_url="http://q"))


def test_file_names_are_made_safe():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("my file (1).csv") == "my_file_1_.csv"
    assert safe_name("..\\..\\x.csv") == "x.csv"
    assert safe_name("...") == "upload"


@pytest.mark.parametrize(
    "address",
    ["ops@example.com\n", "ops@example.com\r\n", "ops@example.com\nbcc@evil.example", " ops@example.com"],
)
def test_an_email_address_with_a_newline_or_space_is_refused(address):
    from retainwise.platform.tenants_config import check_email

    with pytest.raises(InputError) as info:
        check_email(address)
    assert info.value.code == "bad_email"


def test_a_plain_email_address_passes():
    from retainwise.platform.tenants_config import check_email

    assert check_email("ops@example.com") == "ops@example.com"


def test_a_tenants_access_lives_in_the_run_store(tmp_path):
    from retainwise.platform import tenants_config
    from retainwise.platform.runs import RunStore

    store = RunStore.open(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    assert tenants_config.access(store, "acme") == tenants_config.TenantAccess("acme")
    tenants_config.update(store, "acme", email="ops@example.com")
    revoked = tenants_config.revoke_links(store, "acme")
    assert revoked.links_valid_after is not None and revoked.links_valid_after.microsecond % 1000 == 0
    assert tenants_config.set_disabled(store, "acme", True) == tenants_config.TenantAccess(
        "acme", True, revoked.links_valid_after
    )
    assert tenants_config.get(store, "acme").email == "ops@example.com"  # the notifications are untouched
    assert tenants_config.access(store, "rival") == tenants_config.TenantAccess("rival")
    with pytest.raises(InputError):
        tenants_config.revoke_links(store, "acme\n")
