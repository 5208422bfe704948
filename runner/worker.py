"""Where the ``worker`` command's handler used to live.

The handler is now :func:`retainwise.cli.worker.cli_worker` (signal handlers belong to the CLI);
this forwarder keeps ``retainwise worker`` working until the command table points there. It is
looked up by name because the runner may not import the CLI (an import-linter contract).
Delete it once ``retainwise.cli`` routes ``worker`` to ``retainwise.cli.worker:cli_worker``.
"""

from __future__ import annotations

import importlib


def cli_worker(args) -> int:
    """Forward to ``retainwise.cli.worker.cli_worker``."""
    return importlib.import_module("retainwise.cli.worker").cli_worker(args)
