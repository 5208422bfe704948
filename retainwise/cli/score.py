"""``retainwise score``: run the pipeline notebook on a local file and print what it found."""

from __future__ import annotations

import csv
import heapq
import json
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from retainwise.cli.output import print_json
from retainwise.execution.execute import RunOutcome, score_file
from retainwise.platform import labelled, mapping_store
from retainwise.platform.registry import LocalRegistry
from retainwise.science.progress import FILE as PROGRESS_FILE
from retainwise.science.progress import read_progress
from retainwise.settings import Settings


def cli_score(args) -> int:
    """Score ``args.file`` into ``args.out``; print the summary. Raises what :func:`score_file` raises."""
    start = time.perf_counter()
    if not args.quiet:
        print(
            f"Scoring {args.file} for tenant '{args.tenant}' (one notebook run: map, validate, predict, explain)…",
            file=sys.stderr,
        )
    home = Settings.from_env().home
    own_model = LocalRegistry.active_for(home, args.tenant)  # the tenant's own model, once it has one
    with _progress(Path(args.out), enabled=not args.quiet):
        outcome = score_file(
            args.file,
            args.out,
            tenant=args.tenant,
            run_id=args.run_id,
            quality_level=args.quality_level,
            progress=not args.quiet,
            rules_share=args.rules_share,
            saved_mapping=mapping_store.load(home, args.tenant),
            tenant_model_dir=own_model,
        )
    _save_mapping(home, args.tenant, Path(args.out) / "mapping.json")
    # the run, for `retainwise outcomes`; a file that said who left is labelled data at once
    labelled.keep_scored_run(home, args.tenant, args.out, outcome.summary)
    if args.json:
        print_json({"summary": outcome.summary, "outputs": {k: str(v) for k, v in outcome.outputs.items()}})
    else:
        print(format_summary(outcome, args.out, time.perf_counter() - start))
    return 0


@contextmanager
def _progress(output_dir: Path, *, enabled: bool):
    """While the body runs, print the stage, rows done / total and an ETA on stderr as the pipeline advances."""
    if not enabled:
        yield
        return
    (output_dir / PROGRESS_FILE).unlink(
        missing_ok=True
    )  # an earlier run's file in the same folder is not ours
    stop = threading.Event()
    follower = threading.Thread(target=_follow, args=(output_dir, stop), name="score-progress", daemon=True)
    follower.start()
    try:
        yield
    finally:
        stop.set()
        follower.join()


def _follow(output_dir: Path, stop: threading.Event) -> None:
    first = shown = None  # first: (stage, time, rows) when the stage was first seen, the rate behind the ETA
    while True:
        finished = stop.wait(0.5)  # one last look after the run: a late last update is still shown
        record = read_progress(output_dir)
        if record is not None and (key := (record.get("stage"), record["rows_done"])) != shown:
            shown, now = key, time.monotonic()
            if first is None or first[0] != key[0]:
                first = (key[0], now, key[1])
            # Papermill's cell bar ends in "\r", not a newline: start on a line of our own (cleared on a terminal)
            lead = "\r\x1b[K" if sys.stderr.isatty() else "\n"
            print(f"{lead}{_progress_line(record, now, first)}", file=sys.stderr, flush=True)
        if finished:
            return


def _progress_line(record: dict, now: float, first: tuple) -> str:
    """``prediction: rows 5,000 / 10,000 (50%), about 4 s left`` (no total while the file is still read)."""
    done, total = int(record["rows_done"]), record.get("rows_total")
    line = f"{record.get('stage') or 'rows'}: rows {done:,}"
    if not total:
        return line
    line += f" / {int(total):,} ({done / int(total):.0%})"
    seconds, rows = now - first[1], done - first[2]
    if rows > 0 and seconds > 0:
        line += f", about {max(0.0, (int(total) - done) * seconds / rows):.0f} s left"
    return line


def _save_mapping(home: Path, tenant: str, written: Path) -> None:
    """Keep the mapping this run used for the tenant's next upload (the pipeline wrote it to ``written``)."""
    if written.is_file():
        mapping_store.save(home, tenant, json.loads(written.read_text(encoding="utf-8")))


def format_summary(outcome: RunOutcome, out: str | Path, seconds: float) -> str:
    """The short text summary ``retainwise score`` prints. Raises OSError when results.csv is unreadable."""
    s = outcome.summary
    q = s["quality"]
    rc = s["risk_counts"]
    lines = [
        f"Scored {s['rows_scored']:,} customers from {s.get('input', {}).get('name', '')} "
        f"({s['rows_rejected']:,} rows rejected) in {seconds:.1f} s — run {s['run_id']}",
        f"Data quality: {q['score']:.0f}/100 ({q['level']} checks, {len(q['issues'])} issues)",
        f"Risk: HIGH {rc['HIGH']:,} · MEDIUM {rc['MEDIUM']:,} · LOW {rc['LOW']:,}   (model {s['model']['version']})",
        "Most at risk:",
    ]
    top = s.get("top_at_risk", [])[:5]  # the pipeline's own list: results.csv of a million is 700 MB to read
    if (
        not top
    ):  # a summary from before top_at_risk: the five highest probabilities, streamed from results.csv
        with open(outcome.outputs["results.csv"], newline="", encoding="utf-8") as fh:
            top = heapq.nlargest(5, csv.DictReader(fh), key=lambda row: float(row["churn_probability"]))
    for row in top:
        lines.append(
            f"  {row['customer_id']:<14} {float(row['churn_probability']):6.1%}  {row['churn_risk']:<6} "
            f"{row['explanation']}"
        )
    lines.append(f"Outputs in {out}: {', '.join(outcome.outputs)}")
    return "\n".join(lines)
