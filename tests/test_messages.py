"""Queue messages: the two accepted shapes, and everything else rejected with a reason."""

from __future__ import annotations

import json

import pytest

from retainwise.errors import MessageError
from retainwise.platform.messages import parse


def job(**overrides) -> str:
    body = {
        "prediction_id": "run1",
        "upload_id": "u1",
        "user_id": "acme",
        "s3_file_path": "s3://bucket/uploads/acme/abc-file.csv",
        "queued_at": "2026-11-26T10:00:00Z",
    }
    body.update(overrides)
    return json.dumps({k: v for k, v in body.items() if v is not None})


def s3_event(key: str, bucket: str = "bucket", name: str = "ObjectCreated:Put") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": name,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": "e1", "size": 3}},
                }
            ]
        }
    )


def test_explicit_job_names_its_run_and_tenant():
    (work,) = parse(job(), bucket="bucket")
    assert (work.tenant, work.key, work.run_id, work.upload_id) == (
        "acme",
        "uploads/acme/abc-file.csv",
        "run1",
        "u1",
    )


def test_s3_event_key_is_url_decoded():
    (work,) = parse(s3_event("uploads/acme/my+file%281%29.csv"), bucket="bucket")
    assert work.key == "uploads/acme/my file(1).csv" and work.etag == "e1" and work.run_id is None


def test_s3_test_event_is_ignored():
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-11-26T10:00:00Z",
            "Bucket": "bucket",
            "RequestId": "x",
            "HostId": "y",
        }
    )
    assert parse(body, bucket="bucket") == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "not_json"),
        ("[1, 2]", "bad_shape"),
        (json.dumps({"hello": "world"}), "invalid"),
        (job(queued_at=None), "invalid"),
        (job(extra="field"), "invalid"),
        (job(user_id="../etc"), "invalid"),
        (job(s3_file_path="s3://bucket/uploads/other/abc.csv"), "tenant_mismatch"),
        (job(s3_file_path="s3://bucket/uploads/acme/../other/x.csv"), "bad_key"),
        (job(s3_file_path="s3://bucket/results/acme/r/results.csv"), "bad_key"),
        (job(s3_file_path="s3://elsewhere/uploads/acme/x.csv"), "wrong_bucket"),
        (job(prediction_id="a/b"), "invalid"),
        (s3_event("uploads/acme/sub/dir.csv"), "bad_key"),
        (s3_event("uploads/Bad Tenant/x.csv"), "bad_tenant"),
        (s3_event("uploads/acme/%2E%2E"), "bad_key"),
        (s3_event("uploads/acme/x.csv", bucket="elsewhere"), "wrong_bucket"),
        (s3_event("uploads/acme/x.csv", name="ObjectRemoved:Delete"), "bad_event"),
        (json.dumps({"Records": []}), "invalid"),
        (
            json.dumps(
                {
                    "Records": [
                        {
                            "eventSource": "aws:s3",
                            "eventName": "ObjectCreated:Put",  # no ETag: refused
                            "s3": {"bucket": {"name": "bucket"}, "object": {"key": "uploads/acme/x.csv"}},
                        }
                    ]
                }
            ),
            "no_etag",
        ),
        (job(user_id="acme\n"), "invalid"),
        (s3_event("uploads/acme%0A/x.csv"), "bad_tenant"),
    ],
)
def test_anything_else_is_rejected_with_a_reason(body, code):
    with pytest.raises(MessageError) as info:
        parse(body, bucket="bucket")
    assert info.value.code == code
    assert info.value.message and "\n" not in info.value.message


def test_submit_and_the_runner_share_one_job_model():
    from retainwise.platform.messages import JobMessage

    job_body = JobMessage.for_upload(
        run_id="r1", upload_id="u1", tenant="acme", bucket="bucket", key="uploads/acme/abc-file.csv"
    ).body()
    (work,) = parse(json.dumps(job_body), bucket="bucket")
    assert (work.tenant, work.key, work.run_id) == ("acme", "uploads/acme/abc-file.csv", "r1")
    with pytest.raises(ValueError):
        JobMessage.for_upload(
            run_id="r1", upload_id="u1", tenant="acme\n", bucket="bucket", key="uploads/acme/x"
        )


def test_a_file_waiting_in_the_portal_is_not_a_job_but_its_confirmed_copy_is():
    assert parse(s3_event("uploads/acme/portal/0123456789ab-x.csv"), bucket="bucket") == []
    [work] = parse(s3_event("uploads/acme/0123456789ab-x.csv"), bucket="bucket")
    assert (work.tenant, work.key) == ("acme", "uploads/acme/0123456789ab-x.csv")
    # only the tenant's own staging folder is quiet; any other deeper key is still refused
    with pytest.raises(MessageError):
        parse(s3_event("uploads/acme/other/0123456789ab-x.csv"), bucket="bucket")
