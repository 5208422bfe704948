"""Putting uploads on the queue (``retainwise submit``; its handler is ``retainwise.cli.submit``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from retainwise.errors import InputError, RetainwiseError
from retainwise.platform import limits, quotas, tenants_config
from retainwise.platform.messages import JobMessage
from retainwise.platform.runs import RunStore
from retainwise.platform.storage import Storage
from retainwise.platform.tenants import check_tenant, upload_key
from retainwise.settings import Settings


def submit(
    path: str | Path, tenant: str, settings: Settings, store: RunStore | None = None, *, train: bool = False
) -> str:
    """Upload ``path`` for ``tenant``, record the run as QUEUED and send its job message. Returns the run id.

    ``train``: ``path`` is a history (a customer file with a churned column): the run trains the tenant's
    own model from it and its labelled data instead of scoring it (a key under ``uploads/<tenant>/train/``).

    The upload's S3 event reaches the queue too; the runner recognises it as the
    same upload (tenant, key, ETag) and runs it once.

    Raises LimitError (an InputError: the CLI exits 2 with its line) when the file would take the tenant
    over its upload bytes per day, or the tenant already has its limit of runs in flight
    (:mod:`retainwise.platform.limits`); nothing is uploaded or recorded then.
    """
    path = Path(path)
    check_tenant(tenant)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file.", code="missing_file")
    store = store or RunStore.from_settings(settings)
    storage = Storage(settings)
    # the tenant's bytes per day (checked here, before the upload; the portal checks at its endpoint)
    quotas.check_upload_bytes(storage, limits.for_tenant(store, settings, tenant), path.stat().st_size)
    return enqueue(
        settings, store, storage, tenant, path.name, lambda key: storage.put_file(path, key), train=train
    )


def enqueue(
    settings: Settings,
    store: RunStore,
    storage: Storage,
    tenant: str,
    name: str,
    place: Callable[[str], str],
    *,
    train: bool = False,
) -> str:
    """Record a QUEUED run for a file called ``name``, have ``place(key)`` put it at its upload key (it
    returns the object's ETag), then send the run's job message. Returns the run id.

    The one way a run is queued, by ``submit`` (which uploads a local file) and by the portal (which
    copies a staged upload). The run is recorded before the object exists: the object's S3 event may
    reach a runner before our job message, and it must find this run, not make another. When placing
    fails there is no object and no event, so nothing would ever pick the run up: it is marked FAILED
    (``not_queued``) instead of staying QUEUED, and the error is raised.
    """
    from retainwise.platform.queue import Queue

    # A disabled tenant (off-boarded, or its links leaked) is sent nothing and queues nothing, whoever asks.
    if tenants_config.access(store, tenant).disabled:
        raise InputError(
            f"Tenant {tenant!r} is disabled: enable it with `retainwise tenant enable {tenant}` first.",
            code="tenant_disabled",
        )
    # the tenant's runs in flight, for the CLI and the portal alike: LimitError (nothing recorded) at the limit
    quotas.check_queued_runs(store, limits.for_tenant(store, settings, tenant))
    key = upload_key(tenant, name, train=train)
    run_id = uuid.uuid4().hex[:12]
    upload_id = key.rsplit("/", 1)[-1][:12]  # the key's uuid part
    store.create(tenant=tenant, upload_key=key, run_id=run_id, upload_id=upload_id)
    try:
        etag = place(key)
    except RetainwiseError:
        doing = "training" if train else "scoring"
        store.fail(
            run_id,
            error=f"The file could not be queued for {doing}; please upload it again.",
            code="not_queued",
        )
        raise
    store.set_etag(run_id, etag)
    job = JobMessage.for_upload(
        run_id=run_id, upload_id=upload_id, tenant=tenant, bucket=storage.bucket, key=key
    )
    Queue(settings).send(job.body())
    return run_id
