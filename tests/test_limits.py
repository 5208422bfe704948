"""Per-tenant limits (retainwise.platform.limits), the per-minute counts (rate), the run-store quota and the
429 page (reports.throttle): units, on a SQLite run store and in this process's memory."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from retainwise.cli import main
from retainwise.errors import ConfigError, InputError
from retainwise.platform import limits, quotas, rate
from retainwise.platform.links import sign_portal
from retainwise.platform.runs import RunStore
from retainwise.platform.tenants_config import TenantSettingsRow
from retainwise.settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path / "home", secret="test-secret")


@pytest.fixture
def store(settings):
    return RunStore.from_settings(settings)  # migrated: tenant_settings.limits exists


@pytest.fixture(autouse=True)
def _fresh_counts():
    rate.reset()
    limits._cache.clear()
    yield
    rate.reset()
    limits._cache.clear()


# -- the limits and their values -----------------------------------------------------------------
def test_defaults_come_from_settings_and_the_environment():
    env = {"RETAINWISE_LIMIT_QUEUED_RUNS": "3", "RETAINWISE_LIMIT_PAGES_PER_MINUTE": "7"}
    got = limits.defaults(Settings.from_env(env))
    assert got["queued_runs"] == 3 and got["pages_per_minute"] == 7
    assert got["upload_bytes_per_day"] == Settings().limit_upload_bytes_per_day > 0
    with pytest.raises(ConfigError, match="RETAINWISE_LIMIT_UPLOADS_PER_MINUTE"):
        Settings.from_env({"RETAINWISE_LIMIT_UPLOADS_PER_MINUTE": "0"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("queued_runs=5", ("queued_runs", 5)),
        ("upload_bytes_per_day=500MB", ("upload_bytes_per_day", 500_000_000)),
        ("upload_bytes_per_day=2G", ("upload_bytes_per_day", 2_000_000_000)),
        ("upload_bytes_per_day=1_000", ("upload_bytes_per_day", 1000)),
        ("pages_per_minute=default", ("pages_per_minute", None)),
    ],
)
def test_assignments_are_read(text, expected):
    assert limits.parse_assignment(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "queued_runs",
        "bogus=3",
        "queued_runs=0",
        "queued_runs=-1",
        "queued_runs=2.5",
        "pages_per_minute=5M",
        "x=y",
    ],
)
def test_bad_assignments_are_refused_with_a_clear_line(text):
    with pytest.raises(InputError) as caught:
        limits.parse_assignment(text)
    assert caught.value.code == "bad_limit" and "\n" not in caught.value.message


def test_a_tenant_without_overrides_gets_the_defaults(store, settings):
    got = limits.for_tenant(store, settings, "acme")
    assert got.to_dict() == {"tenant": "acme", **limits.defaults(settings), "overridden": []}


def test_overrides_are_set_kept_per_tenant_and_dropped(store, settings):
    got = limits.update(store, settings, "acme", {"queued_runs": 2, "upload_bytes_per_day": 10_000})
    assert (got.queued_runs, got.upload_bytes_per_day) == (2, 10_000)
    assert got.overridden == {"queued_runs", "upload_bytes_per_day"}
    assert limits.for_tenant(store, settings, "rival").overridden == frozenset()
    got = limits.update(store, settings, "acme", {"queued_runs": None})
    assert got.queued_runs == settings.limit_queued_runs and got.overridden == {"upload_bytes_per_day"}
    with pytest.raises(InputError):
        limits.update(store, settings, "acme", {"queued_runs": 0})
    with pytest.raises(InputError):
        limits.update(store, settings, "acme", {"no_such_limit": 3})


def test_a_damaged_limits_row_means_the_safe_defaults_never_unlimited(store, settings, caplog):
    limits.update(store, settings, "acme", {"queued_runs": 2})
    for damaged in ("not json", "[1, 2]", json.dumps({"queued_runs": 0, "pages_per_minute": True, "x": 1})):
        with store._session("test") as s:
            s.get(TenantSettingsRow, "acme").limits = damaged
        with caplog.at_level(logging.WARNING, "retainwise.platform.limits"):
            got = limits.for_tenant(store, settings, "acme")
        assert got.to_dict() == {"tenant": "acme", **limits.defaults(settings), "overridden": []}
    assert "the default" in caplog.text


def test_servers_read_a_tenants_limits_at_most_every_few_seconds(store, settings, monkeypatch):
    assert limits.current(settings, "acme", store).queued_runs == settings.limit_queued_runs
    limits.update(store, settings, "acme", {"queued_runs": 1})
    assert limits.current(settings, "acme", store).queued_runs == settings.limit_queued_runs  # cached
    monkeypatch.setattr(limits, "CACHE_S", 0.0)
    assert limits.current(settings, "acme", store).queued_runs == 1


def test_the_cli_shows_and_sets_a_tenants_limits(settings, monkeypatch, capsys):
    monkeypatch.setenv("RETAINWISE_HOME", str(settings.home))
    assert (
        main(["tenant", "limits", "acme", "--set", "queued_runs=3", "--set", "upload_bytes_per_day=1G"]) == 0
    )
    out = capsys.readouterr().out
    assert "queued_runs           3" in out and "1,000,000,000  own" in out
    assert main(["tenant", "limits", "acme", "--set", "queued_runs=default", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["queued_runs"] == Settings().limit_queued_runs and shown["overridden"] == [
        "upload_bytes_per_day"
    ]
    with pytest.raises(SystemExit) as refused:  # refused by the parser: exit 2 and one usage line
        main(["tenant", "limits", "acme", "--set", "queued_runs=lots"])
    assert refused.value.code == 2
    assert "queued_runs='lots' is not valid" in capsys.readouterr().err


# -- refusals ------------------------------------------------------------------------------------
def test_a_limit_hit_is_an_input_error_logged_as_a_security_event_without_a_token(caplog):
    with caplog.at_level(logging.WARNING, "retainwise.security"):
        error = limits.limit_hit("acme", "queued_runs", "Too many.", retry_after=0.2)
    assert isinstance(error, InputError) and error.code == "limit_queued_runs" and error.retry_after == 1
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "retainwise.security"]
    assert line["kind"] == "limit_hit" and line["tenant"] == "acme" and line["limit"] == "queued_runs"
    assert not {"token", "t"} & set(line)


def test_requests_past_the_limit_per_minute_are_refused_with_when_to_retry():
    acme = limits.TenantLimits("acme", 1, 1, uploads_per_minute=2, pages_per_minute=3)
    for _ in range(3):
        rate.take(acme, "pages")
    with pytest.raises(limits.LimitError) as caught:
        rate.take(acme, "pages")
    assert caught.value.limit == "pages_per_minute" and 1 <= caught.value.retry_after <= 60
    assert "3 page loads a minute is the most allowed" in caught.value.message
    rate.take(acme, "uploads")  # each endpoint and each tenant counts on its own
    rate.take(limits.TenantLimits("rival", 1, 1, 2, 3), "pages")


def test_page_loads_arriving_together_on_a_fresh_server_are_counted_together():
    acme = limits.TenantLimits("acme", 1, 1, uploads_per_minute=1, pages_per_minute=2)
    start, allowed = threading.Barrier(12), []

    def load():
        start.wait()
        try:
            rate.take(acme, "pages")
            allowed.append(True)
        except limits.LimitError:
            pass

    threads = [threading.Thread(target=load) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 2


def test_runs_in_flight_count_queued_and_processing_runs_of_the_tenant_only(store):
    acme = limits.TenantLimits(
        "acme", queued_runs=2, upload_bytes_per_day=1, uploads_per_minute=1, pages_per_minute=1
    )
    first = store.create(tenant="acme", upload_key="uploads/acme/a-1.csv")
    store.create(tenant="rival", upload_key="uploads/rival/b-1.csv")
    quotas.check_queued_runs(store, acme)
    store.create(tenant="acme", upload_key="uploads/acme/a-2.csv")
    store.claim(first.id, lease_s=60)  # PROCESSING still counts
    assert quotas.runs_in_flight(store, "acme") == 2
    with pytest.raises(limits.LimitError) as caught:
        quotas.check_queued_runs(store, acme)
    assert caught.value.message.startswith("You already have 2 files queued or being scored (the limit is 2)")
    store.complete(first.id, summary={}, output_keys={})
    quotas.check_queued_runs(store, acme)  # a finished run frees its place


# -- the 429 page --------------------------------------------------------------------------------
def test_page_loads_past_the_limit_get_a_429_page_with_retry_after(store, settings):
    from retainwise.reports.gate import GATES, admit

    settings = settings.replace(limit_pages_per_minute=2)
    query = f"token={sign_portal(settings.secret, 'acme', 3600)}"
    assert admit(GATES["portal"], settings, query) is None
    assert admit(GATES["portal"], settings, query) is None
    refusal = admit(GATES["portal"], settings, query)
    assert refusal.status == 429 and 1 <= int(refusal.headers["Retry-After"]) <= 60
    assert "Too many requests" in refusal and "2 page loads a minute is the most allowed" in refusal
    assert "rw-score-file" not in refusal
    # a refused token is not counted against anyone, and still gets the plain 403 refusal
    bad = admit(GATES["portal"], settings, "token=not-a-token")
    assert getattr(bad, "status", 403) == 403 and "not valid" in bad
