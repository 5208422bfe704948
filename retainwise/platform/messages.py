"""Queue messages: what the runner accepts, validated with pydantic.

Two shapes (the outside contract): the explicit job ``{"prediction_id", "upload_id",
"user_id", "s3_file_path", "queued_at"}`` (``user_id`` is the tenant), or an S3
``ObjectCreated`` event notification for a key under ``uploads/<tenant>/``.
AWS's ``s3:TestEvent`` (sent when a notification is configured) is ignored.
Anything else is rejected with :class:`MessageError` and never run (the class lives in
:mod:`retainwise.errors`; it is re-exported here for callers that import it from this module).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retainwise.errors import MessageError
from retainwise.platform.tenants import RUN_ID_RE, check_key, is_staged, is_tenant

__all__ = ["MessageError", "Work", "JobMessage", "S3Event", "check_key", "parse"]


@dataclass(frozen=True)
class Work:
    """One upload to score."""

    tenant: str
    key: str
    etag: str | None = None
    run_id: str | None = None
    upload_id: str | None = None


class JobMessage(BaseModel):
    """The explicit job: what ``submit`` sends and the runner accepts (one model for both)."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=32)
    upload_id: str = Field(min_length=1, max_length=64)
    user_id: str
    s3_file_path: str = Field(min_length=1, max_length=1024)
    queued_at: datetime

    @field_validator("prediction_id")
    @classmethod
    def _run_id(cls, v: str) -> str:
        if RUN_ID_RE.fullmatch(v) is None:
            raise ValueError("prediction_id may hold only letters, digits, '-' and '_'")
        return v

    @field_validator("user_id")
    @classmethod
    def _tenant(cls, v: str) -> str:
        if not is_tenant(v):
            raise ValueError("user_id is not a valid tenant name")
        return v

    @classmethod
    def for_upload(cls, *, run_id: str, upload_id: str, tenant: str, bucket: str, key: str) -> JobMessage:
        """The job for ``tenant``'s upload at ``key`` (validated like a received one)."""
        return cls(
            prediction_id=run_id,
            upload_id=upload_id,
            user_id=tenant,
            s3_file_path=f"s3://{bucket}/{key}",
            queued_at=datetime.now(UTC).replace(microsecond=0),
        )

    def body(self) -> dict:
        """The message body as JSON-ready data."""
        return self.model_dump(mode="json")


class _S3Object(BaseModel):
    key: str
    eTag: str | None = None
    size: int | None = None


class _S3Bucket(BaseModel):
    name: str


class _S3(BaseModel):
    bucket: _S3Bucket
    object: _S3Object


class _Record(BaseModel):
    eventSource: str
    eventName: str
    s3: _S3


class S3Event(BaseModel):
    Records: list[_Record] = Field(min_length=1)


def parse(body: str, bucket: str | None = None) -> list[Work]:
    """The uploads a message asks us to score ([] for an S3 test event). Raises MessageError."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MessageError("Message body is not JSON.", code="not_json") from exc
    if not isinstance(data, dict):
        raise MessageError("Message body is not a JSON object.", code="bad_shape")
    if data.get("Event") == "s3:TestEvent":
        return []
    try:
        if "Records" in data:
            event = S3Event.model_validate(data)
            work = []
            for rec in event.Records:
                if rec.eventSource != "aws:s3" or not rec.eventName.startswith("ObjectCreated:"):
                    raise MessageError(
                        f"Event {rec.eventName!r} from {rec.eventSource!r} is not an upload.",
                        code="bad_event",
                    )
                if bucket and rec.s3.bucket.name != bucket:
                    raise MessageError(
                        f"Event for bucket {rec.s3.bucket.name!r}, not ours.", code="wrong_bucket"
                    )
                raw_key = unquote_plus(rec.s3.object.key)
                if is_staged(raw_key):  # waits in the portal for its columns; its confirmed copy runs
                    continue
                tenant, key = check_key(raw_key)
                if not rec.s3.object.eTag:  # without it a finished upload cannot be told from a new version
                    raise MessageError(f"Event for {key!r} carries no ETag.", code="no_etag")
                work.append(Work(tenant=tenant, key=key, etag=rec.s3.object.eTag))
            return work
        job = JobMessage.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise MessageError(f"Malformed message: {where}: {first['msg']}.", code="invalid") from None
    path = job.s3_file_path
    if path.startswith("s3://"):
        bucket_name, _, path = path.removeprefix("s3://").partition("/")
        if bucket and bucket_name != bucket:
            raise MessageError(f"Job names bucket {bucket_name!r}, not ours.", code="wrong_bucket")
    tenant, key = check_key(path, job.user_id)
    return [Work(tenant=tenant, key=key, run_id=job.prediction_id, upload_id=job.upload_id)]
