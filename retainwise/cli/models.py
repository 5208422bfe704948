"""``retainwise models``: a tenant's model versions; ``models activate T VERSION`` to roll back or forward
(platform/registry.py).

Where: on the platform when a bucket is configured (``retainwise up`` or RETAINWISE_BUCKET, as for
``retainwise outcomes``): the bucket's ``models/<tenant>/registry.json``, which the runner reads to score a
tenant's uploads. Otherwise this machine's ``$RETAINWISE_HOME/models/``, which ``retainwise score --tenant``
reads.
"""

from __future__ import annotations

from retainwise.cli.output import print_json, table
from retainwise.errors import InputError
from retainwise.platform.registry import REGISTRY, BucketRegistry, LocalRegistry
from retainwise.platform.tenants import is_tenant
from retainwise.settings import Settings


class _Where:
    """The registry of each tenant, on this machine or in the platform's bucket."""

    def __init__(self, settings: Settings) -> None:
        self.home, self.storage = settings.home, None
        if settings.bucket:
            from retainwise.platform.storage import Storage

            self.storage = Storage(settings)

    def registry(self, tenant: str) -> LocalRegistry | BucketRegistry:
        return BucketRegistry(self.storage, tenant) if self.storage else LocalRegistry(self.home, tenant)

    def tenants(self) -> list[str]:
        """Every tenant with a registry (``models/<tenant>/registry.json``)."""
        if self.storage is None:
            return _local_tenants(self.home)
        found = {
            k.split("/")[1]
            for k in self.storage.list("models/")
            if k.count("/") == 2 and k.endswith("/" + REGISTRY)
        }
        return sorted(t for t in found if is_tenant(t))  # a stray key never stops the listing

    @property
    def train_hint(self) -> str:
        return (
            "`retainwise submit HISTORY --tenant {t} --train` trains one on the platform"
            if self.storage
            else "`retainwise train --tenant {t}` trains one from the tenant's history"
        )


def cli_models(args) -> int:
    """List versions (``--tenant T``, default every tenant with a model), or ``activate T VERSION``.
    InputError for a bad usage or an unknown version; StorageError from the platform."""
    where = _Where(Settings.from_env())
    if args.action == "activate":
        if len(args.target) != 2:
            raise InputError("Usage: retainwise models activate TENANT VERSION", code="usage")
        tenant, version = args.target
        entry = where.registry(tenant).activate(version)
        if args.json:
            print_json({"tenant": tenant, **entry})
        else:
            print(f"{tenant}: {version} is now active; the next upload of {tenant} is scored by it")
        return 0
    if args.target:
        raise InputError(
            f"Unknown models action {' '.join(args.target)!r}: use `retainwise models activate T VERSION`.",
            code="usage",
        )
    tenants = [args.tenant] if args.tenant else where.tenants()
    rows = [{"tenant": t, **e} for t in tenants for e in where.registry(t).versions()]
    if args.json:
        print_json(rows)
    elif not rows:
        who = f"{args.tenant} has no model of its own yet" if args.tenant else "No tenant models yet"
        print(f"{who}: {where.train_hint.format(t=args.tenant or 'T')}.")
    else:
        for row in rows:
            row["roc_auc"] = "" if row.get("roc_auc") is None else f"{row['roc_auc']:.3f}"
            row["rows"] = (row.get("trained_on") or {}).get("rows", "")
        print(table(rows, ["tenant", "version", "status", "roc_auc", "rows", "registered_at"]))
    return 0


def _local_tenants(home) -> list[str]:
    from urllib.parse import unquote

    root = home / "models"
    return sorted(unquote(p.name) for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
