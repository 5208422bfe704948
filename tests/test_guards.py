"""The front door's pure parts (no server): cookie names, token-free URLs, the kernel bindings, the loopback
and same-origin checks the guarded routes apply. The server itself is exercised in test_front_door.py."""

from __future__ import annotations

from retainwise.reports.front_door import (
    PORTAL_COOKIE,
    Binding,
    KernelGrants,
    cookie_name,
    page_path,
    with_token,
)
from retainwise.reports.guards import is_loopback, same_origin


def test_cookie_names_are_per_run_and_never_carry_user_text():
    one, other = cookie_name("", "abc123"), cookie_name("", "def456")
    assert one != other and one.startswith("rw_r_") and len(one) == len("rw_r_") + 16
    assert set(cookie_name("", 'x"; Path=/; evil')[5:]) <= set("0123456789abcdef")  # hashed, not echoed
    assert cookie_name("portal", None) == PORTAL_COOKIE


def test_the_redirect_target_and_the_kernels_query():
    assert page_path("/", "", "r1") == "/?run=r1"
    assert page_path("/base/", "portal", "") == "/base/portal"
    assert with_token("run=r1&token=old", "new") == "run=r1&token=new"
    assert with_token("run=r1&token=old", None) == "run=r1"


def test_bindings_drop_kernels_that_are_gone():
    grants = KernelGrants()
    grants.bind("k1", Binding("", "acme", "r1"))
    grants.bind("k2", Binding("portal", "acme", ""), alive=["k2"])
    assert grants.get("k1") is None and grants.get("k2") == Binding("portal", "acme", "")


def test_loopback_and_same_origin():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.5") and not is_loopback("") and not is_loopback("localhost")
    host = {"Host": "reports.example.com"}
    assert same_origin({**host, "Origin": "https://reports.example.com", "Sec-Fetch-Site": "same-origin"})
    assert same_origin(host)  # not a browser: no Origin to judge (the token or SameSite still apply)
    assert not same_origin({**host, "Origin": "https://evil.example"})
    assert not same_origin({**host, "Sec-Fetch-Site": "same-site"})
