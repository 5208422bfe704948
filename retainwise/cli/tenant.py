"""``retainwise tenant set T [--webhook URL] [--email ADDR] [--alert-points N]``: a tenant's notifications."""

from __future__ import annotations

import json
import sys


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
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s = actions.add_parser("show", help="show the tenant's settings")
    s.add_argument("tenant", help="the business (tenant name)")
    s.add_argument("--json", action="store_true", help="machine-readable output")


def cli_tenant(args) -> int:
    """Handle ``retainwise tenant ...``. InputError for a bad tenant, URL, address or threshold."""
    from retainwise.platform import tenants_config
    from retainwise.platform.notify import webhook_key
    from retainwise.platform.runs import RunStore
    from retainwise.platform.storage import check_tenant
    from retainwise.settings import Settings

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
    data = dict(config.__dict__)
    if config.webhook_url:
        data["webhook_signing_key"] = webhook_key(settings.secret, tenant)
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
    if config.webhook_url:
        print(
            f"  signing key   {data['webhook_signing_key']}  (HMAC-SHA256 of '<timestamp>.<body>', "
            "header X-RetainWise-Signature)"
        )
    return 0
