"""``retainwise status RUN_ID``: a run's status, counts, error and outputs."""

from __future__ import annotations

from retainwise.cli.output import print_json
from retainwise.errors import InputError
from retainwise.platform.tenants import upload_name
from retainwise.settings import Settings


def find_run(settings: Settings, run_id: str):
    """The run ``run_id`` from the run store. Raises :class:`InputError` when there is none."""
    # SQLAlchemy costs ~0.25 s to import (measured): only the commands that read the store pay it.
    from retainwise.platform.runs import RunStore

    run = RunStore.from_settings(settings).get(run_id)
    if run is None:
        raise InputError(
            f"No run {run_id!r} in the run store at {settings.effective_database_url}.", code="unknown_run"
        )
    return run


def run_record(run, settings: Settings) -> dict:
    """What the commands show of a run: its fields, the uploaded file's own name and its outputs' URLs."""
    data = run.to_dict()
    data["file"] = upload_name(run.upload_key)
    if settings.bucket and run.output_keys:
        data["outputs"] = {name: f"s3://{settings.bucket}/{key}" for name, key in run.output_keys.items()}
    return data


def cli_status(args) -> int:
    """Print the run's status. Raises :class:`InputError` for an unknown run, StorageError when the store fails."""
    settings = Settings.from_env()
    data = run_record(find_run(settings, args.run_id), settings)
    if args.json:
        print_json(data)
    else:
        print(format_status(data))
    return 0


def format_status(data: dict) -> str:
    """A run record as a few lines of text."""
    lines = [
        f"run {data['id']}  tenant {data['tenant']}  {data['status']}  (attempts: {data['attempts']})",
        f"  file     {data['file']}",
    ]
    if data.get("rows_done") is not None and data.get("rows_scored") is None:
        lines.append(f"  progress {data['rows_done']:,} rows done")
    if data.get("rows_scored") is not None:
        lines.append(
            f"  scored   {data['rows_scored']:,} of {data['rows_in']:,} rows; quality "
            f"{data['quality_score']}; model {data['model_version']}"
        )
    if data.get("error"):
        lines.append(f"  error    {data['error']}")
    for name, url in (data.get("outputs") or {}).items():
        lines.append(f"  output   {name}: {url}")
    times = [
        f"{k.removesuffix('_at')} {data[k]}"
        for k in ("created_at", "started_at", "finished_at")
        if data.get(k)
    ]
    lines.append("  " + "; ".join(times))
    return "\n".join(lines)
