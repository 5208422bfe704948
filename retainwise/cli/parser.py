"""The ``retainwise`` argument parser: every command, option and argument, each with its help text.

Values are checked here (see :mod:`retainwise.cli.values`), so a bad one ends with exit code 2 and a
usage line before any kernel, process or connection starts.
"""

from __future__ import annotations

import argparse

from retainwise.cli import values
from retainwise.cli.tenant import add_parser as add_tenant

JSON_HELP = "print machine-readable JSON on stdout instead of text"


class _Version(argparse.Action):
    """``--version``: the package's version, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import retainwise

        print(f"retainwise {retainwise.__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``retainwise`` command line. Raises nothing."""
    parser = argparse.ArgumentParser(prog="retainwise", description="Predict and explain customer churn.")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _score(sub)
    _train(sub)
    _outcomes(sub)
    _models(sub)
    _platform(sub)
    _runs(sub)
    add_tenant(sub)
    return parser


def _score(sub) -> None:
    """``score``: the pipeline and report notebooks on this machine's file."""
    p = sub.add_parser("score", help="score a customer file locally (the pipeline and report notebooks)")
    p.add_argument("file", help="customer file to score: CSV in any common dialect, or .xlsx")
    p.add_argument(
        "--out", required=True, help="output directory (results.csv, summary.json, report.html, ...)"
    )
    p.add_argument("--tenant", default="local", help="business the file belongs to (default: local)")
    p.add_argument("--run-id", default=None, help="run id to record (default: generated)")
    p.add_argument(
        "--quality-level",
        default="standard",
        choices=["basic", "standard", "strict"],
        help="how strict the data checks are (default: standard)",
    )
    p.add_argument(
        "--rules-share",
        type=values.probability,
        default=0.0,
        help="share of customers scored by the rules baseline (A/B test, 0 to 1; default 0)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    p.add_argument("--json", action="store_true", help=JSON_HELP + " (summary.json and the output paths)")


def _train(sub) -> None:
    """``train`` (the committed model or a tenant's own) and ``model`` (the committed model's card)."""
    p = sub.add_parser(
        "train",
        help="train the committed model through notebooks/training.ipynb, or with --tenant T a "
        "business's own model; gate it against what is used today",
        description="Without --tenant: train the committed model through notebooks/training.ipynb and gate it "
        "against the committed one. With --tenant T: train T's own model on its labelled customers "
        "(--data HISTORY, or the outcomes kept under RETAINWISE_HOME), gate it against what T gets "
        "today and register it under RETAINWISE_HOME/models/T (active when the gate promotes it).",
    )
    p.add_argument(
        "--tenant",
        type=values.tenant,
        default=None,
        help="train this business's own model on its labelled customers instead of the committed one",
    )
    p.add_argument(
        "--data",
        default=None,
        help="labelled training CSV (default: the bundled telco file); with --tenant a history file, "
        "customers with a churned column (default: the outcomes kept for the tenant)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for the new artefacts, model card and executed notebook "
        "(required unless --install or --tenant)",
    )
    p.add_argument(
        "--install",
        action="store_true",
        help="replace the committed model, only if the promotion gate accepts the new one",
    )
    p.add_argument("--force", action="store_true", help="with --install: install even if the gate rejects it")
    p.add_argument("--seed", type=int, default=42, help="seed of folds, search and masking (default 42)")
    p.add_argument(
        "--budget",
        type=values.whole(1),
        default=None,
        help="search trials per feature set, 1 or more (default 24)",
    )
    p.add_argument(
        "--json", action="store_true", help="the new model's figures and the gate's verdict as JSON"
    )

    p = sub.add_parser("model", help="print the committed model's card")
    p.add_argument("--json", action="store_true", help="the card as JSON")


def _outcomes(sub) -> None:
    """``outcomes``: who actually left, joined to a run's customers (a local or a platform run)."""
    p = sub.add_parser(
        "outcomes",
        help="who actually left: join an outcomes file to the run that scored those customers",
        description="Join FILE (a customer id column and a churned column: 1/0, yes/no, true/false, "
        "churned/stayed; optionally a date) to the snapshot of the customers as RUN_ID scored them, "
        "keep the labelled rows (tenants/<tenant>/labelled/<run_id>.parquet: under RETAINWISE_HOME, "
        "or the bucket for a platform run; sending outcomes again replaces the run's file) and print "
        "matched customers, leavers, unmatched ids and how that run's predictions did (ROC AUC).",
    )
    p.add_argument("file", help="outcomes file: CSV in any common dialect, or .xlsx")
    p.add_argument("--tenant", default="local", help="business the outcomes belong to (default: local)")
    p.add_argument(
        "--run",
        default=None,
        type=values.run_id,
        metavar="RUN_ID",
        help="run whose customers the outcomes are about (default: the tenant's latest run with a "
        "snapshot: scored on this machine, else in the run store)",
    )
    p.add_argument(
        "--json", action="store_true", help=JSON_HELP + " (the join's report and the labelled file)"
    )


def _models(sub) -> None:
    """``models``: the tenant models on this machine, and ``models activate TENANT VERSION``."""
    p = sub.add_parser(
        "models",
        help="list tenant models (on the platform when a bucket is configured), or activate one",
        description="List each tenant's model versions (active, candidate, retired): the platform's, in the "
        "bucket's models/, when a bucket is configured (retainwise up or RETAINWISE_BUCKET), else "
        "this machine's, under RETAINWISE_HOME/models; "
        "or `models activate TENANT VERSION` to make VERSION score the tenant's next upload (the "
        "active one it replaces is retired, kept for a roll-back).",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["activate"],
        default=None,
        metavar="activate",
        help="activate: make TENANT's VERSION the active one (omit to list)",
    )
    p.add_argument(
        "target", nargs="*", metavar="TENANT VERSION", help="with activate: the tenant and the version"
    )
    p.add_argument("--tenant", type=values.tenant, default=None, help="list only this business's models")
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _platform(sub) -> None:
    """Commands that run the platform's processes: up, worker, redrive."""
    p = sub.add_parser(
        "up", help="run the whole platform on this machine (S3/SQS endpoint, runners, reports)"
    )
    p.add_argument("--runners", type=values.whole(1), default=2, help="runner processes (default 2)")
    p.add_argument("--sample", action="store_true", help="submit the bundled sample upload once ready")
    p.add_argument("--no-voila", action="store_true", help="do not start the report server")
    p.add_argument(
        "--port",
        type=values.whole(1, 65535),
        default=None,
        help="port of the embedded S3/SQS endpoint (default: a free one)",
    )
    p.add_argument(
        "--exit-after-sample",
        action="store_true",
        help="stop everything once the sample run has finished (for scripts)",
    )

    p = sub.add_parser("worker", help="the queue runner process")
    p.add_argument(
        "--concurrency",
        type=values.whole(1),
        default=None,
        help="uploads run at once (default: RETAINWISE_CONCURRENCY, 1)",
    )
    p.add_argument(
        "--pool-size",
        type=values.whole(0),
        default=None,
        help="pre-started single-use kernels (default: the concurrency)",
    )
    p.add_argument("--no-pool", action="store_true", help="start a cold kernel for every run")
    # Defaults None: the settings (RETAINWISE_*, settings.env) decide unless an option is given.
    p.add_argument(
        "--poll-wait",
        type=values.whole(0, 20),
        default=None,
        help="SQS long-poll seconds, 0 to 20 (default: RETAINWISE_POLL_WAIT, 20)",
    )
    p.add_argument(
        "--retry-backoff",
        type=values.whole(0),
        default=None,
        help="seconds before a transiently failed upload is first retried, x4 each attempt "
        "(default: RETAINWISE_RETRY_BACKOFF, 30)",
    )
    p.add_argument("--once", action="store_true", help="exit when the queue is empty (for tests and scripts)")

    p = sub.add_parser("redrive", help="move the dead-letter queue's messages back to the job queue")
    p.add_argument(
        "--limit", type=values.whole(1), default=None, help="move at most this many (default: all)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _runs(sub) -> None:
    """Commands about uploads and their runs: submit, status, runs, download, link."""
    p = sub.add_parser("submit", help="upload a file and queue it for scoring; prints the run id")
    p.add_argument("file", help="customer file to upload: CSV or .xlsx")
    p.add_argument("--tenant", required=True, type=values.tenant, help="business the file belongs to")
    p.add_argument(
        "--train",
        action="store_true",
        help="a history file: train the tenant's own model from it (and its labelled history) instead "
        "of scoring",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)

    p = sub.add_parser("status", help="show a run's status and outputs")
    p.add_argument("run_id", type=values.run_id, help="the run id submit printed")
    p.add_argument("--json", action="store_true", help=JSON_HELP)

    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--tenant", type=values.tenant, default=None, help="only this business's runs")
    p.add_argument("--limit", type=values.whole(1), default=50, help="at most this many runs (default 50)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)

    p = sub.add_parser("download", help="fetch a run's outputs from storage into a folder")
    p.add_argument("run_id", type=values.run_id, help="the run id submit printed")
    p.add_argument(
        "--out",
        required=True,
        help="folder to write results.csv, summary.json, report.html and the executed notebooks into",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)

    p = sub.add_parser(
        "link", help="a signed, expiring URL: a run's report, or with --tenant alone the portal"
    )
    p.add_argument(
        "run_id",
        nargs="?",
        type=values.run_id,
        default=None,
        help="the run whose report to link (omit it, with --tenant, for the tenant's portal)",
    )
    p.add_argument(
        "--tenant",
        type=values.tenant,
        default=None,
        help="without a run id: link this business's portal; with one: check the run is theirs",
    )
    p.add_argument(
        "--expires", type=values.duration, default="7d", help="lifetime such as 30m, 12h, 7d (default 7d)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
