"""The ``retainwise`` console script: argument parsing and every command handler.

Nothing outside this package reads argparse namespaces, prints to the terminal or installs signal
handlers. The parser is :mod:`retainwise.cli.parser`; each command's handler is a module here named
after it, imported only when the command runs so ``retainwise --help`` stays fast. A handler takes
the parsed arguments and returns an exit code.

Exit codes: 0 success; 2 unusable input or usage (one line on stderr, never a traceback); 1 any
other RetainWise error (also one line).
"""

from __future__ import annotations

import importlib
import sys

from retainwise.cli.parser import build_parser
from retainwise.errors import InputError, RetainwiseError

__all__ = ["HANDLERS", "build_parser", "main"]

# command -> "module:function"
HANDLERS = {
    "score": "retainwise.cli.score:cli_score",
    "train": "retainwise.cli.train:cli_train",
    "model": "retainwise.cli.train:cli_model",
    "models": "retainwise.cli.models:cli_models",
    "up": "retainwise.cli.up:cli_up",
    "worker": "retainwise.cli.worker:cli_worker",
    "redrive": "retainwise.cli.redrive:cli_redrive",
    "submit": "retainwise.cli.submit:cli_submit",
    "status": "retainwise.cli.status:cli_status",
    "runs": "retainwise.cli.runs:cli_runs",
    "download": "retainwise.cli.download:cli_download",
    "link": "retainwise.cli.link:cli_link",
    "tenant": "retainwise.cli.tenant:cli_tenant",
    "outcomes": "retainwise.cli.outcomes:cli_outcomes",
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's), run the command; its exit code. Never raises RetainwiseError."""
    args = build_parser().parse_args(argv)
    module_name, _, func_name = HANDLERS[args.command].partition(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except InputError as exc:
        print(f"retainwise: error: {exc.message}", file=sys.stderr)
        return 2
    except RetainwiseError as exc:
        print(f"retainwise: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("retainwise: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
