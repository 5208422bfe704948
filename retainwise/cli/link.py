"""``retainwise link RUN_ID`` (a run's report) or ``retainwise link --tenant T`` (the tenant's portal).

``--expires`` is at most 90 days (:data:`retainwise.platform.links.MAX_LIFETIME_S`); the parser refuses
more with that reason. A disabled tenant gets no link (it would be refused on every visit); a tenant whose
links were revoked gets new ones, which work: revocation only ends the links issued before it.
"""

from __future__ import annotations

from retainwise.cli.output import print_json
from retainwise.cli.status import find_run
from retainwise.errors import InputError
from retainwise.platform.links import portal_url, report_url
from retainwise.settings import Settings


def _refuse_disabled(settings: Settings, tenant: str) -> None:
    """InputError when ``tenant`` is disabled: say so, and how to enable it, instead of a dead link."""
    from retainwise.platform.runs import RunStore
    from retainwise.platform.tenants_config import access

    if access(RunStore.from_settings(settings), tenant).disabled:
        raise InputError(
            f"Tenant {tenant!r} is disabled, so its links are refused: "
            f"`retainwise tenant enable {tenant}` first if it should have access again.",
            code="tenant_disabled",
        )


def cli_link(args) -> int:
    """Print a signed URL that expires after ``args.expires`` seconds.

    Raises :class:`InputError` for an unknown run, a run of another tenant than ``--tenant``, neither a
    run nor a tenant, or a disabled tenant; :class:`ConfigError` when RETAINWISE_SECRET is not set.
    """
    settings = Settings.from_env()
    if args.run_id is None:
        if args.tenant is None:
            raise InputError(
                "Name a run (retainwise link RUN_ID) or a tenant for its portal "
                "(retainwise link --tenant T).",
                code="nothing_to_link",
            )
        _refuse_disabled(settings, args.tenant)
        tenant, url = args.tenant, portal_url(settings, args.tenant, args.expires)
    else:
        run = find_run(settings, args.run_id)
        if args.tenant is not None and args.tenant != run.tenant:
            raise InputError(f"Run {run.id} does not belong to tenant {args.tenant!r}.", code="wrong_tenant")
        _refuse_disabled(settings, run.tenant)
        tenant, url = run.tenant, report_url(settings, run.tenant, run.id, args.expires)
    if args.json:
        print_json({"url": url, "tenant": tenant, "run_id": args.run_id, "expires_in_s": args.expires})
    else:
        print(url)
    return 0
