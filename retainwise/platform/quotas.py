"""Quotas a tenant spends: runs in flight, and bytes uploaded in any 24 hours; staged uploads expire.

Both are counted from the shared state, not from memory, so every server process, runner and CLI agrees:

- runs in flight are the run store's QUEUED and PROCESSING runs of the tenant;
- bytes uploaded are the sizes of the objects under ``uploads/<tenant>/`` written in the last 24 hours
  (a staged portal upload and the copy queued from it are never both there: the staged one is deleted
  once queued). Counting from storage costs one listing per upload, which is cheap next to the upload.

A check and the write it guards are not one transaction: requests arriving at the same instant may each
pass, so a tenant can go over by the requests in flight at that moment, never by more.

Staged portal uploads (``uploads/<tenant>/portal/``, waiting for the tenant to confirm the columns) are
tagged :data:`STAGED_TAG` once written; on AWS the bucket's lifecycle rule (``infra/storage.tf``,
``expire-staged-uploads``) deletes tagged objects after a day. A tag, not a prefix, because the tenant
sits before ``portal/`` in the key and lifecycle prefixes cannot hold a wildcard; the copy that is queued
is written without the tag (:func:`copy_unstaged`). The embedded store (``retainwise up``'s moto) keeps no lifecycle, so
:func:`expire_staged` does the same on every upload the tenant makes: a day-old staged file is deleted
before its bytes would be counted.
"""

from __future__ import annotations

import time
from datetime import datetime

from retainwise.platform.limits import TenantLimits, limit_hit
from retainwise.platform.runs import PROCESSING, QUEUED, RunRow, RunStore
from retainwise.platform.tenants import STAGING, check_tenant

#: The tag staged uploads carry (key, value); the lifecycle rule of infra/storage.tf expires it.
STAGED_TAG = ("retainwise-stage", "staged")
#: How long a staged upload is kept (the lifecycle rule says 1 day).
STAGED_TTL_S = 86_400
DAY_S = 86_400


def tag_staged(storage, key: str) -> None:
    """Tag the staged upload at ``key`` for expiry (after it is written). StorageError when storage fails.

    A separate request, after the upload: the storage layer writes objects without tags. Should it fail,
    the endpoint answers 503, and the untagged file is still removed by :func:`expire_staged` (embedded)
    or the uploads' own retention rule (AWS).
    """
    from retainwise.platform.aws import translate

    with translate(f"tagging {key}"):
        storage.s3.put_object_tagging(
            Bucket=storage.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": STAGED_TAG[0], "Value": STAGED_TAG[1]}]},
        )


def copy_unstaged(storage, staged_key: str, key: str) -> str:
    """Copy the staged upload to ``key`` (metadata kept, the staged tag not: the copy is a queued upload,
    kept as long as any upload); returns the new object's ETag. StorageError when storage fails."""
    from retainwise.platform.aws import translate

    with translate(f"queueing {staged_key}"):
        copied = storage.s3.copy_object(
            Bucket=storage.bucket,
            Key=key,
            MetadataDirective="COPY",
            TaggingDirective="REPLACE",
            CopySource={"Bucket": storage.bucket, "Key": staged_key},
        )
    return copied["CopyObjectResult"]["ETag"]


def runs_in_flight(store: RunStore, tenant: str) -> int:
    """The tenant's runs that are QUEUED or PROCESSING. StorageError when the run store fails."""
    import sqlalchemy as sa

    with store._session("counting queued runs") as s:
        query = sa.select(sa.func.count()).where(
            RunRow.tenant == tenant, RunRow.status.in_([QUEUED, PROCESSING])
        )
        return int(s.execute(query).scalar_one())


def check_queued_runs(store: RunStore, limits: TenantLimits) -> None:
    """LimitError when the tenant already has ``limits.queued_runs`` runs in flight."""
    busy = runs_in_flight(store, limits.tenant)
    if busy >= limits.queued_runs:
        raise limit_hit(
            limits.tenant,
            "queued_runs",
            f"You already have {busy} file{'' if busy == 1 else 's'} queued or being scored (the limit is "
            f"{limits.queued_runs}): "
            "wait for one to finish, then try again.",
            retry_after=60,
        )


def _objects(storage, prefix: str) -> list[dict]:
    from retainwise.platform.aws import translate

    found: list[dict] = []
    with translate(f"listing {prefix}"):
        for page in storage.s3.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket, Prefix=prefix
        ):
            found += page.get("Contents", [])
    return found


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def expire_staged(storage, tenant: str, now: float | None = None) -> list[str]:
    """Delete ``tenant``'s staged uploads older than :data:`STAGED_TTL_S`; the keys deleted.

    The embedded store's stand-in for the lifecycle rule (on AWS the rule has usually done it already).
    """
    from retainwise.platform.aws import translate

    now = time.time() if now is None else now
    prefix = f"uploads/{check_tenant(tenant)}/{STAGING}/"
    old = [o["Key"] for o in _objects(storage, prefix) if now - _epoch(o["LastModified"]) > STAGED_TTL_S]
    for key in old:
        with translate(f"removing {key}"):
            storage.s3.delete_object(Bucket=storage.bucket, Key=key)
    return old


def uploaded_today(storage, tenant: str, now: float | None = None) -> tuple[int, float | None]:
    """(bytes the tenant uploaded in the 24 hours before ``now``, when the oldest of them was written)."""
    now = time.time() if now is None else now
    recent = [
        (o["Size"], _epoch(o["LastModified"]))
        for o in _objects(storage, f"uploads/{check_tenant(tenant)}/")
        if now - _epoch(o["LastModified"]) < DAY_S
    ]
    return sum(size for size, _ in recent), min((at for _, at in recent), default=None)


def check_upload_bytes(storage, limits: TenantLimits, size: int, now: float | None = None) -> None:
    """LimitError when ``size`` more bytes would take the tenant over its bytes per day.

    Day-old staged uploads are expired first (:func:`expire_staged`). ``retry_after`` is when the oldest
    upload of the window leaves it (the earliest moment anything frees up).
    """
    now = time.time() if now is None else now
    expire_staged(storage, limits.tenant, now)
    used, oldest = uploaded_today(storage, limits.tenant, now)
    if used + size <= limits.upload_bytes_per_day:
        return
    wait = (oldest + DAY_S - now) if oldest is not None else DAY_S
    raise limit_hit(
        limits.tenant,
        "upload_bytes_per_day",
        f"This file ({_mb(size)}) would take today's uploads to {_mb(used + size)}, over your limit of "
        f"{_mb(limits.upload_bytes_per_day)} in 24 hours: try again in {_hours(wait)}, or ask us to raise it.",
        retry_after=wait,
    )


def _mb(size: int) -> str:
    """``size`` bytes in the unit a person reads best (decimal, as the upload limit is written)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,} bytes"


def _hours(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} minutes"
    return f"{seconds / 3600:.0f} hours"
