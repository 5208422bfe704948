"""``retainwise tenant limits T [--set name=value ...] [--json]``: a tenant's limits, shown or changed.

Without ``--set`` it shows the limits in force for T, each marked ``own`` (T's override) or
``default`` (the ``RETAINWISE_LIMIT_*`` setting). ``--set name=value`` (repeatable) overrides one for T;
``name=default`` drops the override. Values are checked by the parser (exit 2, one usage line) before
the run store is opened. Servers pick a change up within ``limits.CACHE_S`` seconds.
"""

from __future__ import annotations

import argparse


def _assignment(text: str) -> tuple[str, int | None]:
    from retainwise.errors import InputError
    from retainwise.platform.limits import parse_assignment

    try:
        return parse_assignment(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def add_parser(actions) -> None:
    """The ``limits`` action of ``retainwise tenant``."""
    from retainwise.cli.values import tenant
    from retainwise.platform.limits import LIMITS

    names = ", ".join(f"{n} ({what})" for n, what in LIMITS.items())
    s = actions.add_parser(
        "limits",
        help="show or set the tenant's limits (queued runs, upload bytes per day, requests per minute)",
        description=f"Show the tenant's limits, or override them with --set. The limits: {names}.",
    )
    s.add_argument("tenant", type=tenant, help="the business (tenant name)")
    s.add_argument(
        "--set",
        dest="changes",
        action="append",
        type=_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="override one limit for this tenant (repeatable); NAME=default returns it to the default",
    )
    s.add_argument("--json", action="store_true", help="machine-readable output")


def cli_limits(args) -> int:
    """Handle ``retainwise tenant limits``. StorageError when the run store fails."""
    from retainwise.cli.output import print_json, table
    from retainwise.platform import limits
    from retainwise.platform.runs import RunStore
    from retainwise.settings import Settings

    settings = Settings.from_env()
    store = RunStore.from_settings(settings)
    if args.changes:
        current = limits.update(store, settings, args.tenant, dict(args.changes))
    else:
        current = limits.for_tenant(store, settings, args.tenant)
    if args.json:
        print_json(current.to_dict())
        return 0
    rows = [
        {
            "limit": name,
            "value": f"{getattr(current, name):,}",
            "from": "own" if name in current.overridden else "default",
            "what": what,
        }
        for name, what in limits.LIMITS.items()
    ]
    print(f"tenant {args.tenant}")
    print(table(rows, ["limit", "value", "from", "what"]))
    return 0
