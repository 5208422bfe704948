"""``retainwise download RUN_ID --out DIR``: a run's outputs, from storage to a folder."""

from __future__ import annotations

from pathlib import Path

from retainwise.cli.output import print_json
from retainwise.cli.status import find_run
from retainwise.errors import InputError
from retainwise.settings import Settings


def cli_download(args) -> int:
    """Download every output the run recorded into ``args.out``; print what was written.

    Raises :class:`InputError` for an unknown run or one with no outputs yet (QUEUED, PROCESSING),
    :class:`ConfigError` without a bucket, :class:`StorageError` when storage fails.
    """
    from retainwise.platform.storage import Storage  # boto3, ~0.17 s: imported by the commands that use it

    settings = Settings.from_env()
    run = find_run(settings, args.run_id)
    if not run.output_keys:
        raise InputError(
            f"Run {run.id} is {run.status} and has no outputs to download yet"
            f"{': ' + run.error if run.error else ''}.",
            code="no_outputs",
        )
    out = Path(args.out).resolve()
    storage = Storage(settings)
    written = {}
    for name, key in sorted(run.output_keys.items()):
        target = (out / name).resolve()
        if not target.is_relative_to(out):  # names come from the run store: never write outside --out
            raise InputError(
                f"Output name {name!r} of run {run.id} leaves the folder; not written.",
                code="bad_output_name",
            )
        storage.download(key, target)
        written[name] = str(target)
    if args.json:
        print_json({"run_id": run.id, "status": run.status, "files": written})
    else:
        print(f"run {run.id} ({run.status}): {len(written)} files in {out}")
        for name in written:
            print(f"  {name}")
    return 0
