"""boto3 clients for S3 and SQS, and where botocore errors become RetainWise errors.

The endpoint comes from the settings (``AWS_ENDPOINT_URL``; ``retainwise up``
points it at the embedded moto server). AWS's own per-service variables
(``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_SQS``) still win, as boto3
documents. Against a local endpoint with no credentials configured, dummy
credentials are used (moto accepts any).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from retainwise.errors import InputError, StorageError, StorageRefusedError

#: S3/SQS error codes that retrying will not fix.
PERMANENT = {
    "NoSuchKey",
    "NoSuchBucket",
    "AccessDenied",
    "InvalidObjectState",
    "404",
    "403",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}


def client(service: str, settings):
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or settings.aws_endpoint_url
    kwargs = {
        "region_name": settings.aws_region,
        "config": Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    }
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kwargs)


@contextmanager
def translate(doing: str, *, missing_is_input: bool = False):
    """Turn botocore errors raised inside the block into StorageError (or InputError for a missing upload)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        # Without s3:ListBucket (infra/ grants none) a missing key answers AccessDenied, not NoSuchKey.
        if missing_is_input and code in ("NoSuchKey", "404", "AccessDenied", "403"):
            raise InputError(
                f"The upload is gone from storage (or not readable) while {doing}; upload the file again.",
                code="upload_missing",
            ) from exc
        # The class says whether a retry may help: a missing queue or a denied key will not come back.
        kind = StorageRefusedError if code in PERMANENT else StorageError
        raise kind(f"Storage refused {doing} ({code}).", code=f"aws_{code or 'error'}") from exc
    except BotoCoreError as exc:
        raise StorageError(
            f"Storage unreachable while {doing} ({type(exc).__name__}).", code="aws_unreachable"
        ) from exc
