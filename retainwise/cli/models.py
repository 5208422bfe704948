"""``retainwise models``: a tenant's model versions on this machine; ``models activate T VERSION`` to roll
back or forward (platform/registry.py)."""

from __future__ import annotations

from retainwise.cli.output import print_json, table
from retainwise.errors import InputError
from retainwise.platform.registry import LocalRegistry
from retainwise.settings import Settings


def cli_models(args) -> int:
    """List versions (``--tenant T``, default every tenant with a model), or ``activate T VERSION``."""
    home = Settings.from_env().home
    if args.action == "activate":
        if len(args.target) != 2:
            raise InputError("Usage: retainwise models activate TENANT VERSION", code="usage")
        tenant, version = args.target
        entry = LocalRegistry(home, tenant).activate(version)
        if args.json:
            print_json({"tenant": tenant, **entry})
        else:
            print(f"{tenant}: {version} is now active; the next upload of {tenant} is scored by it")
        return 0
    if args.target:
        raise InputError(f"Unknown models action {' '.join(args.target)!r}: use `retainwise models activate T VERSION`.",
                         code="usage")
    tenants = [args.tenant] if args.tenant else _tenants(home)
    rows = [{"tenant": t, **e} for t in tenants for e in LocalRegistry(home, t).versions()]
    if args.json:
        print_json(rows)
    elif not rows:
        who = f"{args.tenant} has no model of its own yet" if args.tenant else "No tenant models yet"
        print(f"{who}: `retainwise train --tenant {args.tenant or 'T'}` trains one from the tenant's history.")
    else:
        for row in rows:
            row["roc_auc"] = "" if row.get("roc_auc") is None else f"{row['roc_auc']:.3f}"
            row["rows"] = (row.get("trained_on") or {}).get("rows", "")
        print(table(rows, ["tenant", "version", "status", "roc_auc", "rows", "registered_at"]))
    return 0


def _tenants(home) -> list[str]:
    from urllib.parse import unquote

    root = home / "models"
    return sorted(unquote(p.name) for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
