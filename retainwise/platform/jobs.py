"""Putting uploads on the queue (``retainwise submit``; its handler is ``retainwise.cli.submit``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from retainwise.errors import InputError
from retainwise.platform.messages import JobMessage
from retainwise.platform.runs import RunStore
from retainwise.platform.storage import Storage, check_tenant, upload_key
from retainwise.settings import Settings


def submit(
    path: str | Path, tenant: str, settings: Settings, store: RunStore | None = None, *, train: bool = False
) -> str:
    """Upload ``path`` for ``tenant``, record the run as QUEUED and send its job message. Returns the run id.

    ``train``: ``path`` is a history (a customer file with a churned column): the run trains the tenant's
    own model from it and its labelled data instead of scoring it (a key under ``uploads/<tenant>/train/``).

    The upload's S3 event reaches the queue too; the runner recognises it as the
    same upload (tenant, key, ETag) and runs it once.
    """
    from retainwise.platform.queue import Queue

    path = Path(path)
    check_tenant(tenant)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file.", code="missing_file")
    store = store or RunStore.from_settings(settings)
    storage = Storage(settings)
    key = upload_key(tenant, path.name, train=train)
    run_id = uuid.uuid4().hex[:12]
    upload_id = key.rsplit("/", 1)[-1][:12]  # the key's uuid part
    # Record first: a worker that sees the S3 event before our job message must find this run, not make another.
    store.create(tenant=tenant, upload_key=key, run_id=run_id, upload_id=upload_id)
    etag = storage.put_file(path, key)
    store.set_etag(run_id, etag)
    job = JobMessage.for_upload(
        run_id=run_id, upload_id=upload_id, tenant=tenant, bucket=storage.bucket, key=key
    )
    Queue(settings).send(job.body())
    return run_id
