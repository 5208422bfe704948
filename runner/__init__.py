"""The queue runner: takes uploads from SQS and runs the pipeline notebooks once per upload.

Read :func:`runner.process.process` for every path a message can take, and :mod:`runner.loop`
for how its outcome is applied. :func:`run_worker` runs one runner process until its stop event is
set; the ``retainwise worker`` command (``retainwise.cli.worker``) installs the signal handlers.
It must never import ``retainwise.cli``.
"""

from .loop import run_worker

__all__ = ["run_worker"]
