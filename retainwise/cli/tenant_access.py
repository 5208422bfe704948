"""``retainwise tenant revoke-links T``, ``tenant disable T`` and ``tenant enable T``: a tenant's access.

Decisions:

- ``revoke-links`` ends every report and portal link issued to T so far (pages, uploads and the kernels of
  pages already open); links issued afterwards work. Other tenants' links are untouched. It is the way to
  answer a leaked link or an off-boarded user without rotating ``RETAINWISE_SECRET`` (which ends every
  tenant's links).
- ``disable`` refuses every link of T, old and new, and ``retainwise link`` issues none; ``enable`` undoes
  it. The two are independent: enabling brings back the links T had unless they were revoked as well, so
  off-boarding a tenant for good is ``disable`` and ``revoke-links``.
- Times are printed in UTC, as the run store keeps them.
"""

from __future__ import annotations

import json
import sys

ACTIONS = ("revoke-links", "disable", "enable")


def add_parsers(actions) -> None:
    """The ``revoke-links``, ``disable`` and ``enable`` subcommands of ``tenant``."""
    helps = {
        "revoke-links": "every link issued to the tenant so far stops working (new links work)",
        "disable": "refuse every link of the tenant until it is enabled again",
        "enable": "let the tenant's links work again (revoked links stay revoked)",
    }
    for name, text in helps.items():
        s = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        s.add_argument("tenant", help="the business (tenant name)")
        s.add_argument("--json", action="store_true", help="machine-readable output")


def describe(state) -> dict:
    """A tenant's access as JSON fields (``links_valid_after`` an ISO 8601 UTC time or None)."""
    after = state.links_valid_after
    return {
        "disabled": state.disabled,
        "links_valid_after": None if after is None else after.isoformat(timespec="milliseconds") + "Z",
    }


def lines(state) -> list[str]:
    """A tenant's access as the lines of ``tenant show`` (and of the access commands)."""
    after = state.links_valid_after
    return [
        f"  access        {'DISABLED: every link is refused' if state.disabled else 'enabled'}",
        f"  links         {'all unexpired links work' if after is None else 'only those issued after '}"
        + ("" if after is None else f"{after.isoformat(sep=' ', timespec='milliseconds')} UTC"),
    ]


def cli_access(args) -> int:
    """Handle ``tenant revoke-links|disable|enable T``. InputError for a bad tenant name."""
    from retainwise.platform import tenants_config
    from retainwise.platform.runs import RunStore
    from retainwise.platform.tenants import check_tenant
    from retainwise.settings import Settings

    store = RunStore.from_settings(Settings.from_env())
    tenant = check_tenant(args.tenant)
    if args.tenant_action == "revoke-links":
        state = tenants_config.revoke_links(store, tenant)
        done = f"every link issued to {tenant} so far is refused; `retainwise link --tenant {tenant}` issues a new one"
    else:
        state = tenants_config.set_disabled(store, tenant, args.tenant_action == "disable")
        done = f"{tenant} is {'disabled' if state.disabled else 'enabled'}"
    if args.json:
        json.dump({"tenant": tenant, **describe(state)}, sys.stdout, indent=2)
        print()
        return 0
    print(done)
    print("\n".join(lines(state)))
    return 0
