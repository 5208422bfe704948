"""Notifications: signed webhooks through the outbox, SES e-mail, the HIGH-share alert, `retainwise tenant set`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time

import pytest

from retainwise.errors import ConfigError, InputError
from retainwise.platform import notify, outbox, tenants_config
from retainwise.platform.runs import RunStore
from retainwise.platform.tenants import results_prefix
from retainwise.platform.webhooks import RETRY, Attempt

from ._webhook_receiver import Receiver, wait_until


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def local_hooks(home, monkeypatch):
    """Settings of an isolated home whose webhooks may go to plain http on 127.0.0.1 (the receivers)."""
    from retainwise.settings import Settings

    monkeypatch.setenv("RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1")
    monkeypatch.setenv("RETAINWISE_WEBHOOK_TIMEOUT", "2")
    return Settings.from_env()


@pytest.fixture
def hook_stack(make_stack):
    """A stack whose webhooks may go to the receivers on 127.0.0.1."""
    return make_stack(webhook_allow_http_hosts="127.0.0.1", webhook_timeout_s=2)


def signed_ok(key: str, request: dict) -> bool:
    h = request["headers"]  # header names are case-insensitive
    return notify.verify_signature(
        key, h.get(notify.TIMESTAMP_HEADER.lower()), request["body"], h.get(notify.SIGNATURE_HEADER.lower())
    )


def failed_run(store: RunStore, tenant: str = "acme") -> str:
    run = store.create(tenant=tenant, upload_key=f"uploads/{tenant}/export.csv")
    store.claim(run.id, lease_s=60)
    store.fail(run.id, error="export.csv is empty: upload a CSV with a header row.", code="empty_file")
    return run.id


# -- signing ----------------------------------------------------------------------------
def test_signature_checks_body_key_and_time():
    key, body, now = "k" * 64, b'{"run_id":"r1"}', 1_700_000_000
    sig = notify.signature(key, str(now), body)
    assert notify.verify_signature(key, str(now), body, sig, now=now)
    assert not notify.verify_signature(key, str(now), body + b" ", sig, now=now)
    assert not notify.verify_signature("j" * 64, str(now), body, sig, now=now)
    assert not notify.verify_signature(key, str(now), body, sig, now=now + 3600)  # replayed an hour later
    assert not notify.verify_signature(key, None, body, sig, now=now)


def test_webhook_keys_are_the_tenants_own_and_outlive_the_link_secret(home):
    store = RunStore.open(f"sqlite:///{home / 'runs.sqlite3'}")
    for tenant in ("acme", "rival"):
        tenants_config.update(store, tenant, webhook_url=f"https://hooks.example/{tenant}")
    key = notify.webhook_key(store, "acme")
    assert len(key) == 64 and notify.webhook_key(store, "acme") == key  # made once, then kept
    assert notify.webhook_key(store, "rival") != key
    fresh = notify.new_webhook_key(store, "acme")
    assert fresh != key and notify.webhook_key(store, "acme") == fresh
    with pytest.raises(ConfigError, match="no webhook"):
        notify.webhook_key(store, "nobody")


# -- one attempt, and what the outbox does with it ------------------------------------------------
def test_a_signed_post_carries_the_event_and_its_id(local_hooks, receiver):
    event = {"id": outbox.new_event_id(), "event": "run.completed", "run_id": "r1"}
    attempt = notify.post_webhook(local_hooks, receiver.url, "k", event)
    assert attempt.outcome == "delivered"
    [request] = receiver.requests
    assert signed_ok("k", request) and json.loads(request["body"]) == event
    assert request["headers"][notify.EVENT_ID_HEADER.lower()] == event["id"]


def test_unreachable_webhook_is_retried_later_without_raising(local_hooks):
    with Receiver() as r:
        url = r.url
    event = {"id": "e1", "event": "run.failed", "run_id": "r1"}
    assert notify.post_webhook(local_hooks, url, "k", event).outcome == RETRY


def test_a_transient_failure_stays_in_the_outbox_until_the_sender_delivers_it(local_hooks):
    store = RunStore.from_settings(local_hooks)
    with Receiver(answers=[503]) as r:
        tenants_config.update(store, "acme", webhook_url=r.url)
        [event] = notify.deliver(local_hooks, failed_run(store))
        [row] = outbox.listing(store, "acme")
        assert row.status == outbox.PENDING and row.last_error == "answered 503"
        notify.start(local_hooks).wake.set()
        try:
            wait_until(lambda: outbox.listing(store, "acme")[0].status == outbox.DELIVERED, what="the retry")
        finally:
            notify.stop(5)
    assert [e["id"] for e in r.events()] == [event["id"]] * 2
    assert all(signed_ok(notify.webhook_key(store, "acme"), req) for req in r.requests)


def test_a_client_error_is_not_retried(local_hooks):
    store = RunStore.from_settings(local_hooks)
    with Receiver(answers=[404]) as r:
        tenants_config.update(store, "acme", webhook_url=r.url)
        notify.deliver(local_hooks, failed_run(store))
    assert len(r.requests) == 1 and outbox.listing(store, "acme")[0].status == outbox.FAILED


def test_run_finished_records_and_returns_while_the_send_is_still_going(local_hooks, monkeypatch):
    store = RunStore.from_settings(local_hooks)
    tenants_config.update(store, "acme", webhook_url="https://hooks.example/churn")
    release, sending = threading.Event(), threading.Event()

    def send_item(settings, store, item):
        sending.set()
        release.wait(30)
        return Attempt("delivered", "answered 200")

    monkeypatch.setattr(notify, "send_item", send_item)
    try:
        notify.run_finished(local_hooks, failed_run(store))  # returns although the send is blocked
        assert [i.status for i in outbox.listing(store, "acme")] == [outbox.PENDING]
        assert sending.wait(10)
        release.set()
        assert notify.flush(10)
        assert [i.status for i in outbox.listing(store, "acme")] == [outbox.DELIVERED]
    finally:
        release.set()
        notify.stop(5)
    notify.run_finished(object(), "r2")  # nothing usable: logged, never raised


# -- settings and the command --------------------------------------------------------------
def tenant_args(*argv: str) -> argparse.Namespace:
    from retainwise.cli.tenant import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["tenant", *argv])


def test_tenant_set_stores_settings_in_the_run_store(home, capsys, monkeypatch):
    from retainwise.cli.tenant import cli_tenant

    monkeypatch.setenv("RETAINWISE_SECRET", "s3cret")
    cli_tenant(
        tenant_args(
            "set",
            "acme",
            "--webhook",
            "https://hooks.example/churn",
            "--email",
            "ops@acme.example",
            "--alert-points",
            "5",
        )
    )
    out = capsys.readouterr().out
    store = RunStore.open(f"sqlite:///{home / 'runs.sqlite3'}")
    key = notify.webhook_key(store, "acme")
    assert "https://hooks.example/churn" in out and key in out
    assert tenants_config.get(store, "acme") == tenants_config.TenantSettings(
        "acme", "https://hooks.example/churn", "ops@acme.example", 5.0
    )
    monkeypatch.setenv("RETAINWISE_SECRET", "rotated")  # the link secret changes: the webhook key does not
    cli_tenant(tenant_args("set", "acme", "--email", ""))
    assert key in capsys.readouterr().out
    assert tenants_config.get(store, "acme").email is None
    assert tenants_config.get(store, "acme").webhook_url == "https://hooks.example/churn"
    assert tenants_config.get(store, "rival") == tenants_config.TenantSettings("rival")
    cli_tenant(tenant_args("set", "acme", "--new-webhook-key", "--json"))
    assert (
        json.loads(capsys.readouterr().out)["webhook_signing_key"] == notify.webhook_key(store, "acme") != key
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--webhook", "file:///etc/passwd"],
        ["--webhook", "javascript:alert(1)"],
        ["--webhook", "http://169.254.169.254/latest/meta-data/iam/"],
        ["--webhook", "http://127.0.0.1:5432"],
        ["--webhook", "http://0x7f000001/"],
        ["--webhook", "https://10.0.0.8/hooks"],
        ["--webhook", "http://hooks.example/churn"],  # plain http to a host the operator did not allow
        ["--email", "ops@acme.example, evil@x.example"],
        ["--alert-points", "0"],
        ["--alert-points", "500"],
    ],
)
def test_tenant_set_refuses_bad_values(home, argv):
    from retainwise.cli.tenant import cli_tenant

    with pytest.raises(InputError):
        cli_tenant(tenant_args("set", "acme", *argv))


# -- runs, alerts and e-mail (moto) ------------------------------------------------------------
def finished_run(stack, tenant: str, high: int, scored: int = 100, status: str = "COMPLETED"):
    store, storage = stack.store, stack.storage
    run = store.create(tenant=tenant, upload_key=f"uploads/{tenant}/export-{high}.csv")
    store.claim(run.id, lease_s=60)
    if status == "FAILED":
        return store.fail(
            run.id, error="export.csv is empty: upload a CSV with a header row.", code="empty_file"
        )
    summary = {
        "rows_in": scored,
        "rows_scored": scored,
        "risk_counts": {"HIGH": high, "MEDIUM": 0, "LOW": scored - high},
    }
    key = results_prefix(tenant, run.id) + "summary.json"
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=json.dumps(summary).encode())
    time.sleep(0.01)  # created_at orders the runs
    return store.complete(run.id, summary=summary, output_keys={"summary.json": key})


@pytest.mark.aws
def test_alert_when_high_share_rises_more_than_the_threshold(hook_stack, receiver):
    stack = hook_stack
    tenants_config.update(stack.store, "acme", webhook_url=receiver.url, alert_points=5)
    first = finished_run(stack, "acme", high=10)
    assert [e["event"] for e in notify.deliver(stack.settings, first.id)] == [
        "run.completed"
    ]  # nothing before it
    small = finished_run(stack, "acme", high=14)  # +4 points: under the threshold
    assert [e["event"] for e in notify.deliver(stack.settings, small.id)] == ["run.completed"]
    jump = finished_run(stack, "acme", high=25)  # +11 points against the previous run
    events = notify.deliver(stack.settings, jump.id)
    assert [e["event"] for e in events] == ["run.completed", "alert.high_share"]
    assert events[1]["previous_run_id"] == small.id and events[1]["rise_points"] == pytest.approx(11.0)
    assert [e["event"] for e in receiver.events()] == ["run.completed"] * 3 + ["alert.high_share"]
    key = notify.webhook_key(stack.store, "acme")
    assert all(signed_ok(key, r) for r in receiver.requests)
    assert len({e["id"] for e in receiver.events()}) == 4  # every event its own id
    assert receiver.events()[2]["report_url"].startswith(stack.settings.report_base_url)


@pytest.mark.aws
def test_failed_run_is_announced_with_its_reason_and_other_tenants_hear_nothing(hook_stack, receiver):
    stack = hook_stack
    tenants_config.update(stack.store, "acme", webhook_url=receiver.url)
    failed = finished_run(stack, "acme", high=0, status="FAILED")
    notify.deliver(stack.settings, failed.id)
    assert notify.deliver(stack.settings, finished_run(stack, "rival", high=50).id) == []
    [event] = receiver.events()
    assert event["event"] == "run.failed" and event["run_id"] == failed.id
    assert event["error"].startswith("export.csv is empty")


@pytest.mark.aws
def test_email_goes_out_through_ses(stack):
    from retainwise.platform.aws import client

    tenants_config.update(stack.store, "acme", email="ops@acme.example")
    ses = client("ses", stack.settings)
    before = sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"])
    notify.deliver(stack.settings, finished_run(stack, "acme", high=30).id)
    after = sum(p["DeliveryAttempts"] for p in ses.get_send_statistics()["SendDataPoints"])
    assert after == before + 1


# -- through a real runner process ---------------------------------------------------------
def _uploads(tmp_path):
    import pandas as pd

    from .conftest import TRAINING

    frame = pd.read_csv(TRAINING)
    calm = frame[(frame["Churn"] == "No") & (frame["Contract"] == "Two year")].head(150)
    risky = frame[(frame["Churn"] == "Yes") & (frame["Contract"] == "Month-to-month")].head(150)
    paths = []
    for name, part in (("calm.csv", calm), ("risky.csv", risky)):
        part.drop(columns=["Churn"]).to_csv(tmp_path / name, index=False)
        paths.append(tmp_path / name)
    return paths


@pytest.mark.aws
@pytest.mark.slow
def test_runner_posts_one_signed_webhook_per_finished_run_and_the_alert(hook_stack, receiver, tmp_path):
    stack = hook_stack
    from retainwise.platform.jobs import submit

    tenants_config.update(stack.store, "acme", webhook_url=receiver.url, alert_points=5)
    stack.start_worker()
    calm, risky = _uploads(tmp_path)
    first = submit(calm, "acme", stack.settings)
    assert stack.wait_status(first).status == "COMPLETED"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"")
    failed = submit(broken, "acme", stack.settings)
    assert stack.wait_status(failed).status == "FAILED"
    second = submit(risky, "acme", stack.settings)
    assert stack.wait_status(second).status == "COMPLETED"
    stack.wait_for(lambda: len(receiver.requests) >= 4, timeout=60, what="four webhooks")
    time.sleep(1)  # nothing more arrives
    events = [(e["event"], e["run_id"]) for e in receiver.events()]
    assert events == [
        ("run.completed", first),
        ("run.failed", failed),
        ("run.completed", second),
        ("alert.high_share", second),
    ]
    key = notify.webhook_key(stack.store, "acme")
    assert all(signed_ok(key, r) for r in receiver.requests)
    assert receiver.events()[3]["previous_run_id"] == first


@pytest.mark.aws
@pytest.mark.slow
def test_a_notification_pending_when_the_runner_is_killed_is_delivered_after_restart(hook_stack):
    stack, hold = hook_stack, threading.Event()
    with Receiver(hold=hold) as receiver:
        tenants_config.update(stack.store, "acme", webhook_url=receiver.url)
        [recorded] = notify.record(stack.settings, failed_run(stack.store))
        first = stack.start_worker("--no-pool")
        wait_until(lambda: receiver.requests, timeout=60, what="the first attempt")  # held: never answered
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert [i.status for i in outbox.listing(stack.store, "acme")] == [outbox.PENDING]
        hold.set()
        stack.start_worker("--no-pool")
        stack.wait_for(lambda: len(receiver.requests) >= 2, timeout=60, what="the delivery after the restart")
        stack.wait_for(
            lambda: outbox.listing(stack.store, "acme")[0].status == outbox.DELIVERED,
            what="the row marked done",
        )
    ids = [r["headers"][notify.EVENT_ID_HEADER.lower()] for r in receiver.requests]
    assert ids == [recorded["id"]] * 2 and [e["id"] for e in receiver.events()] == ids
