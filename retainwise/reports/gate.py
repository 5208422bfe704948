"""Who may open a page of the report server: the token check that runs before any kernel starts.

The server serves exactly the notebooks in :data:`GATES`, each behind its own check:
the report (``/``) needs a report token for a COMPLETED run of the token's tenant, the
portal (``/portal``) a portal token for the tenant. A request that fails gets the same
refusal page from the server process, with status 403, and never costs a kernel.
The notebooks check again before loading data (defence in depth).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from retainwise.errors import LinkError, RetainwiseError
from retainwise.platform.links import Grant, check_access, keys, verify, verify_portal
from retainwise.reports.render import render
from retainwise.reports.throttle import page_refusal

log = logging.getLogger("retainwise.reports.gate")

#: Reasons worth telling the visitor; every other refusal reads "not valid" (no oracle for attackers).
_TOLD = {"expired", "not_ready"}
NOT_VALID = "This link is not valid."
UNAVAILABLE = "The page could not be loaded right now. Please try again in a minute."


@dataclass(frozen=True)
class Gate:
    """A notebook the server serves and the check a request must pass first."""

    notebook: str  # file name under notebooks/
    check: Callable[[object, dict[str, str]], Grant]  # (settings, query parameters) -> Grant; LinkError


def query_params(query: str) -> dict[str, str]:
    """The first value of each parameter of a query string."""
    return {k: v[0] for k, v in parse_qs(query or "", keep_blank_values=False).items()}


def _store(database_url: str):
    from retainwise.platform.runs import shared_store

    return shared_store(database_url)


def check_report(settings, params: dict[str, str]) -> Grant:
    """The grant of a report request. LinkError for a bad token, another tenant's run or a run not COMPLETED."""
    from retainwise.platform.runs import COMPLETED

    grant = verify(keys(settings), params.get("token"), params.get("run"))
    store = _store(settings.effective_database_url)
    check_access(store, grant)  # a disabled tenant, or a link issued before its links were revoked
    run = store.get(grant.run_id)
    if run is None or run.tenant != grant.tenant:
        raise LinkError("This report link is not valid.", code="wrong_tenant")
    if run.status != COMPLETED:
        raise LinkError(f"This report is not ready yet (status {run.status}).", code="not_ready")
    return grant


def check_portal(settings, params: dict[str, str]) -> Grant:
    """The tenant's grant of a portal request. LinkError for a missing, tampered, expired or revoked token."""
    grant = verify_portal(keys(settings), params.get("token"))
    check_access(_store(settings.effective_database_url), grant)
    return grant


#: URL path (below the server's base URL) -> what it serves.
GATES: dict[str, Gate] = {
    "": Gate("report.ipynb", check_report),
    "portal": Gate("portal.ipynb", check_portal),
}


def grant_for(gate: Gate, settings, params: dict[str, str]) -> Grant:
    """``gate``'s check of ``params``, the one every entrance shares: the page (:func:`admit`), the link's
    exchange for a cookie and a kernel's API (``front_door``). LinkError for anything that is not a valid
    grant, including a correctly signed payload of the wrong shape (an expiry that is not a number): such
    a token must be refused like any other, never crash the server."""
    try:
        return gate.check(settings, params)
    except (TypeError, ValueError, OverflowError):
        raise LinkError("This link is not valid.", code="bad_payload") from None


def refusal_reason(exc: RetainwiseError) -> str:
    """What the visitor is told for ``exc``: the reason when it helps them, otherwise "not valid"."""
    if isinstance(exc, LinkError):
        return exc.message if exc.code in _TOLD else NOT_VALID
    return UNAVAILABLE


def admit(gate: Gate, settings, query: str) -> str | None:
    """None when the request may have a kernel, else the refusal page's HTML (the reason is logged)."""
    try:
        grant = grant_for(gate, settings, query_params(query))
        # the verified tenant's page loads per minute: past it, a 429 page with Retry-After (a Refusal)
        return page_refusal(settings, grant.tenant)
    except RetainwiseError as exc:
        log.warning("page refused: %s %s", gate.notebook, getattr(exc, "code", "error"))
        return refusal_page(refusal_reason(exc))


def refusal_page(reason: str) -> str:
    """The whole refusal page (no data, no scripts)."""
    return render("refusal.html.j2", reason=reason, page=True)


def refusal_html(reason: str) -> str:
    """The refusal as a fragment, for the notebook."""
    return render("refusal.html.j2", reason=reason, page=False)
