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
