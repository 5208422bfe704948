"""``retainwise redrive``: move the dead-letter queue's messages back to the job queue."""

from __future__ import annotations

import json

from retainwise.settings import Settings


def cli_redrive(args) -> int:
    """Move dead letters back (all, or ``--limit N``) and say how many. Raises ConfigError or StorageError.

    A run that gave up on a transient fault runs again when its message comes back; one that
    finished is recognised as a duplicate and not run twice.
    """
    from retainwise.platform.queue import Queue, redrive

    moved = redrive(Queue(Settings.from_env()), limit=getattr(args, "limit", None))
    if getattr(args, "json", False):
        print(json.dumps({"moved": moved}))
    else:
        print(
            f"moved {moved} message{'s' if moved != 1 else ''} from the dead-letter queue back to the job queue"
        )
    return 0
