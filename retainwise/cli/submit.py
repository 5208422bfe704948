"""``retainwise submit FILE --tenant T [--train]``: upload a file, queue it, print the run id."""

from __future__ import annotations

from pathlib import Path

from retainwise.cli.output import print_json
from retainwise.settings import Settings


def cli_submit(args) -> int:
    """Upload and queue ``args.file`` for ``args.tenant``; print the run id (or JSON).

    Raises :class:`InputError` for a missing file or a bad tenant, :class:`ConfigError` when no stack
    is configured, :class:`StorageError` when S3, SQS or the run store fail.
    """
    from retainwise.platform.jobs import submit  # boto3 and SQLAlchemy (~0.4 s): only when submitting

    train = bool(getattr(args, "train", False))
    run_id = submit(args.file, args.tenant, Settings.from_env(), train=train)
    if args.json:
        print_json(
            {
                "run_id": run_id,
                "tenant": args.tenant,
                "file": Path(args.file).name,
                "status": "QUEUED",
                "kind": "training" if train else "scoring",
            }
        )
    else:
        print(run_id)
    return 0
