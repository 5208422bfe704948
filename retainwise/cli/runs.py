"""``retainwise runs [--tenant T]``: runs, newest first."""

from __future__ import annotations

from retainwise.cli.output import print_json, table
from retainwise.platform.tenants import upload_name
from retainwise.settings import Settings

COLUMNS = ["id", "tenant", "file", "status", "rows", "created", "finished"]


def cli_runs(args) -> int:
    """Print the runs (all tenants', or ``--tenant``'s), newest first. Raises StorageError when the store fails."""
    from retainwise.platform.runs import RunStore  # SQLAlchemy, ~0.25 s: imported by the commands that use it

    store = RunStore.from_settings(Settings.from_env())
    if args.tenant:
        runs = store.list_tenant(args.tenant, limit=args.limit)
    else:  # the most recently touched runs include every newly created one; shown by creation
        runs = sorted(store.recent(limit=args.limit), key=lambda r: r.created_at, reverse=True)
    rows = [_row(r.to_dict()) for r in runs]
    if args.json:
        print_json(rows)
    elif rows:
        print(table(rows, COLUMNS))
    else:
        print("no runs yet" + (f" for tenant {args.tenant}" if args.tenant else ""))
    return 0


def _row(run: dict) -> dict:
    """One line of the list: the uploaded file's own name, rows scored (or read), times as ISO text."""
    return {
        "id": run["id"],
        "tenant": run["tenant"],
        "file": upload_name(run["upload_key"]),
        "status": run["status"],
        "rows": run["rows_scored"] if run["rows_scored"] is not None else run["rows_in"],
        "created": run["created_at"],
        "finished": run["finished_at"],
    }
