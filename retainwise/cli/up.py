"""``retainwise up``: start the local stack, print where everything is, announce finished runs, stop on a signal.

The stack itself (processes, supervision, provisioning) is :class:`retainwise.platform.stack.Platform`.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from retainwise.errors import ConfigError, RetainwiseError
from retainwise.platform.runs import COMPLETED, FAILED, RunStore
from retainwise.platform.stack import Platform, wait_for
from retainwise.settings import Settings


def cli_up(args) -> int:
    """Run the stack until SIGTERM/SIGINT (or the sample finishes with --exit-after-sample)."""
    platform = Platform(Settings.from_env(), runners=args.runners, voila=not args.no_voila, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        platform.start()
        _print_stack(platform, args)
        if args.sample or args.exit_after_sample:
            run = _sample(platform)
            if args.exit_after_sample:
                return 0 if run.status == COMPLETED else 1
        print(
            "running; Ctrl-C stops everything. Finished runs are listed here with their report links.",
            flush=True,
        )
        return _watch(platform, stop)
    finally:
        print("stopping (runners finish the run in hand) ...", flush=True)
        platform.stop()


def _print_stack(platform: Platform, args) -> None:
    s = platform.settings
    print(f"retainwise up: S3 + SQS endpoint  {s.aws_endpoint_url}  (moto, 127.0.0.1; data kept in memory)")
    print(f"               bucket            s3://{s.bucket}")
    print(f"               queue             {s.queue_url}")
    print(f"               run store         {shown_url(s.effective_database_url)}")
    print(f"               runners           {args.runners} (logs in {Path(s.home) / 'logs'})")
    if not args.no_voila:
        print(f"               reports           {s.report_base_url}")
    print(
        f"               settings          {Path(s.home) / 'settings.env'} (submit/status/link/worker use it)"
    )
    for run_id in platform.lost:
        print(
            f"run {run_id} FAILED: its upload was lost with an earlier stack's embedded storage", flush=True
        )


def shown_url(url: str) -> str:
    """``url`` as printed: a PostgreSQL URL's password masked (``***``), since the terminal and its scroll-back
    are no place for it; anything unparseable is printed as a placeholder rather than risk showing it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(the RETAINWISE_DATABASE_URL given)"


def _sample(platform: Platform):
    from retainwise.cli.status import format_status, run_record
    from retainwise.platform.jobs import submit
    from retainwise.platform.links import portal_url
    from retainwise.resources import SAMPLE_UPLOAD

    s = platform.settings
    store = RunStore.from_settings(s)
    run_id = submit(SAMPLE_UPLOAD, "sample", s, store)
    print(f"submitted the bundled sample as run {run_id}; waiting for it ...", flush=True)
    run = wait_for(store, run_id, timeout=s.run_timeout_s + 120)
    print(format_status(run_record(run, s)))
    print(f"  report   {_link(s, run)}")
    print(f"  portal   {portal_url(s, run.tenant)}")  # the sample tenant's own page: upload, runs, reports
    return run


def _watch(platform: Platform, stop: threading.Event) -> int:
    """Supervise and announce finished runs until ``stop``; 1 when the embedded endpoint died."""
    s = platform.settings
    store = RunStore.from_settings(s)
    announced: set[str] | None = None
    while not stop.wait(1.0):
        try:
            for name in platform.check():
                print(
                    f"retainwise up: {name} exited; started it again (see its log)",
                    file=sys.stderr,
                    flush=True,
                )
        except ConfigError as exc:
            print(f"retainwise up: {exc.message}", file=sys.stderr, flush=True)
            return 1
        try:
            runs = store.recent(limit=50)
        except RetainwiseError as exc:  # a store outage: keep supervising, report once it is back
            print(f"retainwise up: {exc.message} (retrying)", file=sys.stderr, flush=True)
            continue
        if announced is None:
            announced = {r.id for r in runs if r.status in (COMPLETED, FAILED)}
        for run in runs:
            if run.id in announced or run.status not in (COMPLETED, FAILED):
                continue
            announced.add(run.id)
            if run.status == COMPLETED:
                print(
                    f"run {run.id} ({run.tenant}) COMPLETED, {run.rows_scored} customers: {_link(s, run)}",
                    flush=True,
                )
            else:
                print(f"run {run.id} ({run.tenant}) FAILED: {run.error}", flush=True)
    return 0


def _link(settings: Settings, run) -> str:
    from retainwise.platform.links import report_url

    return report_url(settings, run.tenant, run.id)
