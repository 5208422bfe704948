"""``retainwise outcomes FILE --tenant T [--run RUN_ID]``: who actually left, joined to the run that scored them.

The run: ``--run``, or the tenant's latest run with a snapshot. First the runs ``retainwise score`` recorded
on this machine (``$RETAINWISE_HOME/tenants/<tenant>/runs.json``); then, when a bucket is configured (the
platform: ``retainwise up`` or RETAINWISE_BUCKET), the run store's COMPLETED runs, whose snapshot, results
and summary are read from the bucket. The labelled data goes where the run lives (the local folder or the
bucket's ``tenants/<tenant>/labelled/``), one file per run: sending outcomes again replaces it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from retainwise.cli.output import print_json
from retainwise.errors import InputError
from retainwise.platform import labelled as store
from retainwise.settings import Settings

_NEEDED = store.RUN_FILES


@dataclass
class _Run:
    run_id: str
    folder: Path  # snapshot.parquet, results.parquet and summary.json
    where: store.LocalLabelled | store.BucketLabelled


def cli_outcomes(args) -> int:
    """Join ``args.file`` to the run's snapshot, keep the labelled data, print what matched and how the run's
    predictions did. Raises InputError for an unusable file or no such run; StorageError from the platform."""
    from retainwise.science.reading import read_upload

    outcomes = read_upload(args.file).frame
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="retainwise-outcomes-") as tmp:
        run = _local(settings, args.tenant, args.run) or _platform(settings, args.tenant, args.run, Path(tmp))
        saved, report, replaced = store.label_run(run.folder, outcomes, run.run_id, run.where)
        if saved is None:
            raise InputError(_nothing_matched(args.file, run.run_id, report), code="no_match")
    if args.json:
        print_json(
            {
                "run_id": run.run_id,
                "tenant": args.tenant,
                "labelled": saved,
                "replaced": replaced,
                "report": report,
            }
        )
    else:
        print(format_report(report, saved, replaced))
    return 0


def _local(settings: Settings, tenant: str, run_id: str | None) -> _Run | None:
    found = store.find_local_run(settings.home, tenant, run_id)
    if found is None:
        return None
    return _Run(found["run_id"], Path(found["output_dir"]), store.LocalLabelled(settings.home, tenant))


def _platform(settings: Settings, tenant: str, run_id: str | None, tmp: Path) -> _Run:
    """The run from the run store, its files downloaded to ``tmp``. InputError when there is none."""
    which = f"No run {run_id!r}" if run_id else "No run"
    if not settings.bucket:
        raise InputError(
            f"{which} of tenant {tenant!r} with a snapshot was scored on this machine: score a file "
            f"first (retainwise score FILE --out DIR --tenant {tenant}).",
            code="unknown_run",
        )
    from retainwise.platform.runs import COMPLETED, RunStore
    from retainwise.platform.storage import Storage

    runs = RunStore.from_settings(settings).list_tenant(tenant, limit=1000)
    runs = [
        r
        for r in runs
        if r.status == COMPLETED
        and all(n in (r.output_keys or {}) for n in _NEEDED)
        and (run_id is None or r.id == run_id)
    ]
    if not runs:
        raise InputError(
            f"{which} of tenant {tenant!r} with a snapshot was found on this machine or in the run store.",
            code="unknown_run",
        )
    run = max(runs, key=lambda r: r.finished_at or r.created_at)
    storage = Storage(settings)
    return _Run(
        run.id, store.fetch_run_files(storage, run.output_keys, tmp), store.BucketLabelled(storage, tenant)
    )


def _nothing_matched(file, run_id: str, report: dict) -> str:
    missing = report["not_in_run"]
    examples = ", ".join(missing["examples"][:3])
    return (
        f"None of the customers in {file} was scored by run {run_id} ({missing['count']} ids with an "
        f"outcome{', e.g. ' + examples if examples else ''}): check the tenant, or pass --run."
    )


_day = store.day_words


def format_report(report: dict, saved: str, replaced: bool) -> str:
    """The text ``retainwise outcomes`` prints."""
    lines = [
        f"Run {report['run_id']} (scored {_day(report.get('scored_at'))}): {report['matched']:,} customers "
        f"matched, {report['leavers']:,} leavers, {report['stayers']:,} stayed."
    ]
    missing = report["not_in_run"]
    if missing["count"]:
        verb = "was not a customer" if missing["count"] == 1 else "were not customers"
        lines.append(
            f"Unmatched ids: {missing['count']:,} in the file {verb} of that run "
            f"(e.g. {', '.join(missing['examples'])})."
        )
    if report["no_outcome"]:
        lines.append(f"{report['no_outcome']:,} of the run's customers have no outcome in the file.")
    for key, what in (
        ("churned_not_understood", "churned values not understood"),
        ("duplicate_ids", "ids repeated (the last row, or the latest by date, counts)"),
    ):
        if report.get(key, {}).get("count"):
            lines.append(f"{report[key]['count']:,} {what}: {', '.join(report[key]['examples'])}.")
    realised = report.get("realised") or {}
    if realised.get("roc_auc") is not None:
        lines.append(
            f"Our {_day(report.get('scored_at'))} predictions ranked a leaver above a stayer "
            f"{realised['roc_auc']:.0%} of the time (ROC AUC {realised['roc_auc']:.3f} on "
            f"{realised['n']:,} customers; Brier {realised['brier']:.3f})."
        )
    else:
        lines.append(
            "Accuracy of the run's predictions: not measurable until the outcomes hold both leavers "
            "and stayers."
        )
    lines.append(f"Labelled data {'replaced' if replaced else 'saved'}: {saved}")
    return "\n".join(lines)
