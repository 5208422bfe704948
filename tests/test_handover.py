"""What the report server hands its kernels: no link secret, the verified grant instead of the token."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from retainwise.errors import LinkError
from retainwise.platform.links import Grant
from retainwise.reports import handover
from retainwise.reports.handover import GRANT_PARAM, grant_from, kernel_env, kernel_query


def _grant(**kw) -> Grant:
    return Grant(
        **{"tenant": "acme", "run_id": "", "expires": int(time.time()) + 600, "issued_at": 1.5, **kw}
    )


def test_a_kernel_environment_has_no_link_secret_and_says_the_grant_comes_from_the_server():
    env = kernel_env(
        {
            "RETAINWISE_SECRET": "s",
            "RETAINWISE_PREVIOUS_SECRETS": "p",
            "RETAINWISE_BUCKET": "b",
            "PATH": "/bin",
        }
    )
    assert env == {"RETAINWISE_BUCKET": "b", "PATH": "/bin", handover.GRANT_ENV: "server"}
    assert handover.granted_by_server(env) and not handover.granted_by_server({"PATH": "/bin"})


def test_the_portal_kernel_gets_the_grant_not_the_token_and_a_visitor_cannot_name_one():
    forged = json.dumps({"tenant": "rival", "run": "", "kind": "portal", "expires": 2**40})
    query = kernel_query(f"token=T&{GRANT_PARAM}={forged}&x=1", "portal", _grant(), "T")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    assert "token" not in params and params["x"] == "1"
    grant = grant_from(query, "portal")
    assert (grant.tenant, grant.run_id, grant.issued_at) == ("acme", "", 1.5)


def test_a_report_kernel_keeps_its_token_to_find_its_visit():
    query = kernel_query("run=R&token=visitor", "", _grant(run_id="R"), "T")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    assert params["token"] == "T" and params["run"] == "R"
    assert grant_from(query, "report").run_id == "R"


@pytest.mark.parametrize(
    "query, code",
    [
        ("token=T", "invalid"),  # no grant at all
        (f"{GRANT_PARAM}=not-json", "invalid"),
        (kernel_query("", "", _grant(run_id="R"), "T"), "invalid"),  # a report's grant on the portal
        (kernel_query("", "portal", _grant(expires=int(time.time()) - 1), None), "expired"),
    ],
)
def test_a_missing_foreign_or_expired_grant_is_refused(query, code):
    with pytest.raises(LinkError) as refused:
        grant_from(query, "portal")
    assert refused.value.code == code


def test_without_our_server_the_portal_ignores_a_grant_in_the_query(monkeypatch):
    """Another Voila (no grant marker): the query's grant is not trusted; the token is checked instead."""
    from retainwise.reports.portal import Refusal, open_portal

    monkeypatch.setenv("RETAINWISE_SECRET", "test-secret")
    query = kernel_query("", "portal", _grant(), None)
    page = open_portal(environ={"SERVER_SOFTWARE": "voila/0.5", "QUERY_STRING": query})
    assert isinstance(page, Refusal) and page.reason == "This link is not valid."
