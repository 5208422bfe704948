"""``retainwise submit`` and ``retainwise status``: putting uploads on the queue and asking after them."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from retainwise.errors import InputError
from retainwise.platform.messages import JobMessage
from retainwise.platform.runs import RunStore
from retainwise.platform.storage import Storage, check_tenant, upload_key
from retainwise.settings import Settings


def submit(path: str | Path, tenant: str, settings: Settings, store: RunStore | None = None) -> str:
    """Upload ``path`` for ``tenant``, record the run as QUEUED and send its job message. Returns the run id.

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
    key = upload_key(tenant, path.name)
    run_id = uuid.uuid4().hex[:12]
    upload_id = key.rsplit("/", 1)[-1][:12]  # the key's uuid part
    # Record first: a worker that sees the S3 event before our job message must find this run, not make another.
    store.create(tenant=tenant, upload_key=key, run_id=run_id, upload_id=upload_id)
    etag = storage.put_file(path, key)
    store.set_etag(run_id, etag)
    job = JobMessage.for_upload(run_id=run_id, upload_id=upload_id, tenant=tenant, bucket=storage.bucket, key=key)
    Queue(settings).send(job.body())
    return run_id


def cli_submit(args) -> int:
    settings = Settings.from_env()
    print(submit(args.file, args.tenant, settings))
    return 0


def cli_status(args) -> int:
    settings = Settings.from_env()
    run = RunStore.from_settings(settings).get(args.run_id)
    if run is None:
        raise InputError(f"No run {args.run_id!r} in the run store at {settings.effective_database_url}.",
                         code="unknown_run")
    data = run.to_dict()
    if settings.bucket and run.output_keys:
        data["outputs"] = {name: f"s3://{settings.bucket}/{key}" for name, key in run.output_keys.items()}
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        print()
        return 0
    print(format_status(data))
    return 0


def format_status(data: dict) -> str:
    lines = [f"run {data['id']}  tenant {data['tenant']}  {data['status']}  (attempts: {data['attempts']})",
             f"  upload   {data['upload_key']}"]
    if data.get("rows_scored") is not None:
        lines.append(f"  scored   {data['rows_scored']} of {data['rows_in']} rows; quality {data['quality_score']}; "
                     f"model {data['model_version']}")
    if data.get("error"):
        lines.append(f"  error    {data['error']}")
    for name, url in (data.get("outputs") or {}).items():
        lines.append(f"  output   {name}: {url}")
    times = [f"{k.removesuffix('_at')} {data[k]}" for k in ("created_at", "started_at", "finished_at") if data.get(k)]
    lines.append("  " + "; ".join(times))
    return "\n".join(lines)
