"""``retainwise tenant set T [--webhook URL] [--email ADDR] [--alert-points N]``: a tenant's notifications."""

from __future__ import annotations

import json
import sys

from retainwise.cli import tenant_access
from retainwise.cli.limits import add_parser as add_limits
from retainwise.cli.limits import cli_limits


def add_parser(sub) -> None:
    """The ``tenant`` command and its ``set`` and ``show`` subcommands."""
    p = sub.add_parser("tenant", help="a tenant's notification settings")
    actions = p.add_subparsers(dest="tenant_action", required=True, metavar="ACTION")
    s = actions.add_parser("set", help="set where and when the tenant hears about its runs")
    s.add_argument("tenant", help="the business (tenant name)")
    s.add_argument(
        "--webhook", default=None, help="URL that receives a signed POST per finished run ('' clears)"
    )
    s.add_argument(
        "--email", default=None, help="address that receives an e-mail per finished run ('' clears)"
    )
    s.add_argument(
        "--alert-points",
        type=float,
        default=None,
        help="alert when the share at HIGH risk rises more than N points against the previous run",
    )
    s.add_argument("--clear", action="store_true", help="remove every setting first")
    s.add_argument(
        "--new-webhook-key",
        action="store_true",
        help="replace the webhook signing key (the old one stops verifying at once)",
    )
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_limits(actions)  # ``tenant limits``: retainwise.cli.limits
    tenant_access.add_parsers(actions)  # ``tenant revoke-links|disable|enable``: retainwise.cli.tenant_access
    s = actions.add_parser("show", help="show the tenant's settings")
    s.add_argument("tenant", help="the business (tenant name)")
    s.add_argument("--json", action="store_true", help="machine-readable output")


def cli_tenant(args) -> int:
    """Handle ``retainwise tenant ...``. InputError for a bad tenant, URL, address or threshold."""
    from retainwise.platform import tenants_config
    from retainwise.platform.notify import new_webhook_key, webhook_key
    from retainwise.platform.runs import RunStore
    from retainwise.platform.tenants import check_tenant
    from retainwise.settings import Settings

    if args.tenant_action == "limits":
        return cli_limits(args)
    if args.tenant_action in tenant_access.ACTIONS:
        return tenant_access.cli_access(args)
    settings = Settings.from_env()
    store = RunStore.from_settings(settings)
    tenant = check_tenant(args.tenant)
    if args.tenant_action == "set":
        config = tenants_config.update(
            store,
            tenant,
            webhook_url=args.webhook,
            email=args.email,
            alert_points=args.alert_points,
            clear=args.clear,
        )
    else:
        config = tenants_config.get(store, tenant)
    access = tenants_config.access(store, tenant)
    data = {**config.__dict__, **tenant_access.describe(access)}
    if config.webhook_url:  # the tenant's own key (made with its first webhook), not derived from the secret
        fresh = args.tenant_action == "set" and getattr(args, "new_webhook_key", False)
        data["webhook_signing_key"] = (new_webhook_key if fresh else webhook_key)(store, tenant)
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2)
        print()
        return 0
    print(f"tenant {tenant}")
    print(f"  webhook       {config.webhook_url or '-'}")
    print(f"  e-mail        {config.email or '-'}")
    print(
        f"  alert         {f'HIGH share up more than {config.alert_points:g} points' if config.alert_points else '-'}"
    )
    print("\n".join(tenant_access.lines(access)))
    if config.webhook_url:
        print(
            f"  signing key   {data['webhook_signing_key']}  (HMAC-SHA256 of '<timestamp>.<body>', "
            "header X-RetainWise-Signature; de-duplicate on X-RetainWise-Event-Id)"
        )
    return 0
