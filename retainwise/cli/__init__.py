"""The ``retainwise`` console script: argument parsing and every command handler.

Nothing outside this package reads argparse namespaces, prints to the terminal or installs signal
handlers. Handlers are imported only when their command runs so ``retainwise --help`` stays fast;
each takes the parsed arguments and returns an exit code.

Exit codes: 0 success; 2 unusable input or usage (one line on stderr, never a traceback); 1 any
other RetainWise error (also one line).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from retainwise.errors import InputError, RetainwiseError

# command -> "module:function"
HANDLERS = {
    "score": "retainwise.cli.score:cli_score",
    "train": "retainwise.cli.train:cli_train",
    "model": "retainwise.cli.train:cli_model",
    "up": "retainwise.platform.stack:cli_up",
    "submit": "retainwise.platform.jobs:cli_submit",
    "status": "retainwise.platform.jobs:cli_status",
    "worker": "runner.worker:cli_worker",
    "link": "retainwise.platform.links:cli_link",
}


def _trials(text: str) -> int:
    """A search budget: a whole number of trials, 1 or more (refused by the parser otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retainwise", description="Predict and explain customer churn.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("score", help="run the pipeline notebooks locally on a CSV")
    p.add_argument("file", help="customer CSV (or .xlsx) to score")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--tenant", default="local", help="business the file belongs to (default: local)")
    p.add_argument("--run-id", default=None, help="run id to record (default: generated)")
    p.add_argument("--quality-level", default="standard", choices=["basic", "standard", "strict"])
    p.add_argument("--rules-share", type=float, default=0.0,
                   help="share of customers scored by the rules baseline (A/B test, 0..1; default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("train", help="train a model through notebooks/training.ipynb and gate it against the "
                                     "committed one")
    p.add_argument("--data", default=None, help="labelled training CSV (default: the bundled telco file)")
    p.add_argument("--out", default=None, help="folder for the new artefacts, model card and executed notebook "
                                               "(required unless --install)")
    p.add_argument("--install", action="store_true",
                   help="replace the committed model, only if the promotion gate accepts the new one")
    p.add_argument("--force", action="store_true", help="with --install: install even if the gate rejects it")
    p.add_argument("--seed", type=int, default=42, help="seed of folds, search and masking (default 42)")
    p.add_argument("--budget", type=_trials, default=None, help="search trials per feature set (default 24)")

    p = sub.add_parser("model", help="print the committed model's card")
    p.add_argument("--json", action="store_true", help="the card as JSON")

    p = sub.add_parser("up", help="run the whole platform on this machine")
    p.add_argument("--runners", type=int, default=2, help="runner processes (default 2)")
    p.add_argument("--sample", action="store_true", help="submit the bundled sample upload once ready")
    p.add_argument("--no-voila", action="store_true", help="do not start the report server")
    p.add_argument("--port", type=int, default=None, help="port of the embedded S3/SQS endpoint")
    p.add_argument("--exit-after-sample", action="store_true",
                   help="stop everything once the sample run has finished (for scripts)")

    p = sub.add_parser("submit", help="upload a file and queue it for scoring")
    p.add_argument("file")
    p.add_argument("--tenant", required=True)

    p = sub.add_parser("status", help="show a run's status and outputs")
    p.add_argument("run_id")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("worker", help="the queue runner process")
    p.add_argument("--concurrency", type=int, default=1, help="uploads run at once (default 1)")
    p.add_argument("--pool-size", type=int, default=None,
                   help="pre-started single-use kernels (default: the concurrency)")
    p.add_argument("--no-pool", action="store_true", help="start a cold kernel for every run")
    p.add_argument("--poll-wait", type=int, default=20, help="SQS long-poll seconds (default 20)")
    p.add_argument("--retry-backoff", type=int, default=5,
                   help="seconds before a transiently failed upload is retried, times its receive count")
    p.add_argument("--once", action="store_true", help="exit when the queue is empty (for tests and scripts)")

    p = sub.add_parser("link", help="a signed, expiring report URL for a run")
    p.add_argument("run_id")
    p.add_argument("--expires", default="7d", help="lifetime such as 30m, 12h, 7d (default 7d)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
