"""``retainwise link RUN_ID`` (a run's report) or ``retainwise link --tenant T`` (the tenant's portal)."""

from __future__ import annotations

from retainwise.cli.output import print_json
from retainwise.cli.status import find_run
from retainwise.errors import InputError
from retainwise.platform.links import portal_url, report_url
from retainwise.settings import Settings


def cli_link(args) -> int:
    """Print a signed URL that expires after ``args.expires`` seconds.

    Raises :class:`InputError` for an unknown run, a run of another tenant than ``--tenant``, or
    neither a run nor a tenant; :class:`ConfigError` when RETAINWISE_SECRET is not set.
    """
    settings = Settings.from_env()
    if args.run_id is None:
        if args.tenant is None:
            raise InputError(
                "Name a run (retainwise link RUN_ID) or a tenant for its portal "
                "(retainwise link --tenant T).",
                code="nothing_to_link",
            )
        tenant, url = args.tenant, portal_url(settings, args.tenant, args.expires)
    else:
        run = find_run(settings, args.run_id)
        if args.tenant is not None and args.tenant != run.tenant:
            raise InputError(f"Run {run.id} does not belong to tenant {args.tenant!r}.", code="wrong_tenant")
        tenant, url = run.tenant, report_url(settings, run.tenant, run.id, args.expires)
    if args.json:
        print_json({"url": url, "tenant": tenant, "run_id": args.run_id, "expires_in_s": args.expires})
    else:
        print(url)
    return 0
