"""What the report server hands its Voila kernels: an environment without the link secret, and the grant it
verified instead of the token that would need the secret to verify again.

Why (issue 25): a Voila kernel parses files strangers upload, so it is treated as hostile once started. It
used to inherit the server's whole environment (``RETAINWISE_SECRET``: forge any tenant's link) because it
verified its request's token again and minted report links itself. Now:

- every kernel of the server starts from :func:`kernel_env`: no ``RETAINWISE_SECRET`` or
  ``RETAINWISE_PREVIOUS_SECRETS`` (whatever the page), plus :data:`GRANT_ENV` saying that the grant comes
  from the server; report kernels lose the database URL and AWS variables too (``reports.kernels``);
- the server, having checked the page's cookie (``gate.admit``), puts the verified grant into the query it
  hands the kernel (:func:`kernel_query`: ``rw_grant`` = tenant, run, kind, issued, expires as JSON) and drops
  any parameter of that name the visitor sent; for the portal it drops the token too. The query reaches the
  kernel only through the server (its environment, or ``/voila/query/<kernel>``, loopback-only), so the
  kernel trusts :func:`grant_from` without a signature to check;
- links the portal shows are ``/open?run=R``: the server mints the report's token (``reports.opener``).

Decision: a kernel without :data:`GRANT_ENV` (JupyterLab, a Voila other than ours) never trusts ``rw_grant``:
it verifies the token with the secret as before, so a visitor of such a Voila cannot name a grant.
What remains in a portal kernel: the database URL and storage credentials (it reads the tenant's runs,
mapping and staged uploads itself); report kernels have neither.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from retainwise.platform.links import Grant
from retainwise.reports.gate import query_params

#: Never in a kernel's environment: the key that signs links, and the earlier keys still accepted.
WITHHELD = ("RETAINWISE_SECRET", "RETAINWISE_PREVIOUS_SECRETS")
#: Set by the server in its kernels' environment: the grant comes through the query, verified.
GRANT_ENV = "RETAINWISE_KERNEL_GRANT"
#: The query parameter holding the server's grant (a visitor's own is dropped).
GRANT_PARAM = "rw_grant"


def kernel_env(env) -> dict[str, str]:
    """A kernel's environment from ``env`` (the server's, or what Voila built from it): no link secret."""
    out = {k: v for k, v in env.items() if k not in WITHHELD}
    out[GRANT_ENV] = "server"
    return out


def describe(route: str, grant: Grant) -> str:
    """``grant`` as the kernel receives it (JSON): tenant, run, kind (``report``/``portal``), issued, expires."""
    kind = "portal" if route == "portal" else "report"
    return json.dumps(
        {
            "tenant": grant.tenant,
            "run": grant.run_id,
            "kind": kind,
            "issued": grant.issued_at,
            "expires": int(grant.expires),
        },
        separators=(",", ":"),
    )


def kernel_query(query: str, route: str, grant: Grant, token: str | None) -> str:
    """The query the kernel of an admitted page receives: the visitor's parameters without any ``token`` or
    ``rw_grant`` of theirs, plus the server's grant; the report keeps its token (its kernel finds the visit
    the server prepared by it, ``reports.run_cache``), the portal needs none."""
    params = {k: v for k, v in query_params(query).items() if k not in ("token", GRANT_PARAM)}
    if route != "portal" and token:
        params["token"] = token
    params[GRANT_PARAM] = describe(route, grant)
    return urlencode(params)


def granted_by_server(env) -> bool:
    """Whether this kernel was started by our server (its grant comes in the query, verified)."""
    return env.get(GRANT_ENV) == "server"


def grant_from(query: str, kind: str) -> Grant:
    """The server's grant in ``query`` for a page of ``kind``. LinkError when there is none, it is of another
    kind, or it has expired (the server checked it a moment ago; a page kept open past it is refused)."""
    import time

    from retainwise.errors import LinkError

    try:
        described = json.loads(query_params(query)[GRANT_PARAM])
        if described["kind"] != kind:
            raise ValueError(kind)
        grant = Grant(
            tenant=str(described["tenant"]),
            run_id=str(described["run"] or ""),
            expires=int(described["expires"]),
            issued_at=None if described.get("issued") is None else float(described["issued"]),
        )
    except (KeyError, TypeError, ValueError):
        raise LinkError("This link is not valid.", code="invalid") from None
    if grant.expires < time.time():
        raise LinkError("This link has expired; ask for a new one.", code="expired")
    return grant
