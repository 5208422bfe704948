"""The notification outbox: order per tenant, exclusive leases, retries, per-tenant sending, and restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest

from retainwise.platform import notify, outbox, tenants_config
from retainwise.platform.outbox import DELIVERED, EMAIL, FAILED, PENDING, WEBHOOK
from retainwise.platform.outbox_sender import Sender, settle
from retainwise.platform.runs import RunStore
from retainwise.platform.webhooks import Attempt

from ._webhook_receiver import Receiver, wait_until
from .conftest import ROOT


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """A fresh run store on SQLite, and on PostgreSQL (the claim and the heads query are SQL that must agree)."""
    if request.param == "sqlite":
        yield RunStore.open(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
        return
    import sqlalchemy as sa

    base = (
        os.environ.get("RETAINWISE_TEST_POSTGRES_URL")
        or subprocess.run(
            ["bash", str(ROOT / ".ci" / "postgres.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    name = f"rw_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    s = RunStore.open(base.rsplit("/", 1)[0] + "/" + name)
    yield s
    s.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def event(name: str, tenant: str = "acme") -> dict:
    return {"id": outbox.new_event_id(), "event": "run.completed", "run_id": name, "tenant": tenant}


def heads(store) -> list[tuple[str, str, str]]:
    return [(i.tenant, i.channel, i.event["run_id"]) for i in outbox.heads(store)]


def test_each_tenant_and_channel_goes_oldest_first_one_at_a_time(store):
    outbox.add(store, "acme", [event("r1"), event("r2")], [WEBHOOK, EMAIL])
    outbox.add(store, "rival", [event("r3", "rival")], [WEBHOOK])
    assert heads(store) == [("acme", WEBHOOK, "r1"), ("acme", EMAIL, "r1"), ("rival", WEBHOOK, "r3")]
    first = outbox.heads(store)[0]
    assert outbox.claim(store, first.seq, lease_s=60)
    assert ("acme", WEBHOOK, "r2") not in heads(store)  # r2 waits while r1 is in flight
    outbox.delivered(store, first.seq)
    assert ("acme", WEBHOOK, "r2") in heads(store)


def test_a_claim_is_exclusive_until_its_lease_runs_out(store):
    outbox.add(store, "acme", [event("r1")], [WEBHOOK])
    [item] = outbox.heads(store)
    assert outbox.claim(store, item.seq, lease_s=0.3)
    assert not outbox.claim(store, item.seq, lease_s=0.3)  # another sender, while the lease is live
    wait_until(lambda: outbox.heads(store), timeout=10, what="the lease to run out")
    assert outbox.claim(store, item.seq, lease_s=60)  # a dead sender's row is taken over
    assert outbox.listing(store)[0].attempts == 2


def test_a_failed_attempt_waits_its_backoff_and_the_last_one_gives_up(store):
    outbox.add(store, "acme", [event("r1")], [WEBHOOK])
    [item] = outbox.heads(store)
    outbox.claim(store, item.seq, lease_s=60)
    assert outbox.retry_later(store, item, "answered 503", backoff=(3600,))
    assert outbox.heads(store) == []  # not due for an hour
    outbox.add(store, "rival", [event("r2", "rival")], [WEBHOOK])
    [other] = outbox.heads(store)
    outbox.claim(store, other.seq, lease_s=60)
    assert outbox.retry_later(store, other, "answered 503", backoff=(0,))
    [again] = outbox.heads(store)
    outbox.claim(store, again.seq, lease_s=60)
    assert not outbox.retry_later(store, again, "answered 503", backoff=(0,))
    [gone] = outbox.listing(store, "rival")
    assert gone.status == FAILED and gone.last_error == "gave up after 2 attempts: answered 503"


def test_a_refused_attempt_is_final(store):
    outbox.add(store, "acme", [event("r1")], [WEBHOOK])
    [item] = outbox.heads(store)
    outbox.claim(store, item.seq, lease_s=60)
    settle(store, item, Attempt("refused", "answered 302: redirects are not followed"))
    assert outbox.listing(store)[0].status == FAILED and outbox.heads(store) == []


def test_one_slow_tenant_delays_no_other(store):
    gate, sent = threading.Event(), []

    def send(item):
        sent.append(item.event["run_id"])
        if item.tenant == "slow":
            gate.wait(60)  # an endpoint that takes its whole deadline
        return Attempt("delivered", "answered 200")

    outbox.add(store, "slow", [event("s1", "slow"), event("s2", "slow")], [WEBHOOK])
    outbox.add(store, "fast", [event("f1", "fast"), event("f2", "fast")], [WEBHOOK])
    sender = Sender(store, send, lease_s=lambda channel: 60, poll_s=0.05).start()
    try:
        wait_until(
            lambda: [i.status for i in outbox.listing(store, "fast")] == [DELIVERED] * 2,
            what="the fast tenant's notifications",
        )
        assert [i.status for i in outbox.listing(store, "slow")] == [PENDING, PENDING]  # s1 still in flight
        gate.set()
        wait_until(lambda: sender.idle(), what="the slow tenant's notifications")
    finally:
        gate.set()
        sender.stop(5)
    assert [i.status for i in outbox.listing(store, "slow")] == [DELIVERED] * 2
    assert sent.index("s1") < sent.index("s2") and sent.index("f1") < sent.index("f2")


def test_a_send_that_breaks_counts_as_a_failed_attempt(store):
    outbox.add(store, "acme", [event("r1")], [WEBHOOK])
    sender = Sender(store, lambda item: 1 / 0, lease_s=lambda channel: 60, poll_s=0.05).start()
    try:
        wait_until(lambda: outbox.listing(store)[0].last_error, what="the failed attempt recorded")
    finally:
        sender.stop(5)
    [row] = outbox.listing(store)
    assert row.status == PENDING and row.attempts == 1 and "ZeroDivisionError" in row.last_error


# -- a sender killed mid-attempt -------------------------------------------------------------------
SENDER_PROCESS = (
    "import time\n"
    "from retainwise.platform import notify\n"
    "from retainwise.settings import Settings\n"
    "notify.start(Settings.from_env())\n"
    "time.sleep(600)\n"
)


def failed_run(settings) -> str:
    store = RunStore.from_settings(settings)
    run = store.create(tenant="acme", upload_key="uploads/acme/export.csv")
    store.claim(run.id, lease_s=60)
    store.fail(run.id, error="export.csv is empty: upload a CSV with a header row.", code="empty_file")
    return run.id


def start_sender(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SENDER_PROCESS], env=env, start_new_session=True)


@pytest.mark.slow
def test_a_notification_pending_when_its_sender_is_killed_is_delivered_after_restart(home, monkeypatch):
    from retainwise.settings import Settings

    monkeypatch.setenv("RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1")
    monkeypatch.setenv("RETAINWISE_WEBHOOK_TIMEOUT", "1")  # a lease of 7 s: the restart need not wait long
    settings = Settings.from_env()
    hold = threading.Event()
    processes = []
    with Receiver(hold=hold) as receiver:
        store = RunStore.from_settings(settings)
        tenants_config.update(store, "acme", webhook_url=receiver.url)
        [recorded] = notify.record(settings, failed_run(settings))
        try:
            processes.append(start_sender(dict(os.environ)))
            wait_until(lambda: receiver.requests, what="the first attempt")  # held: never answered
            os.killpg(processes[0].pid, signal.SIGKILL)
            processes[0].wait(10)
            assert [i.status for i in outbox.listing(store, "acme")] == [PENDING]
            hold.set()
            processes.append(start_sender(dict(os.environ)))
            wait_until(lambda: len(receiver.requests) >= 2, timeout=60, what="the delivery after the restart")
            wait_until(
                lambda: outbox.listing(store, "acme")[0].status == DELIVERED, what="the row marked done"
            )
        finally:
            for p in processes:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
    ids = [r["headers"][notify.EVENT_ID_HEADER.lower()] for r in receiver.requests]
    assert (
        ids == [recorded["id"]] * 2 and [e["id"] for e in receiver.events()] == ids
    )  # the same event, twice
    key = notify.webhook_key(store, "acme")
    assert all(
        notify.verify_signature(
            key,
            r["headers"][notify.TIMESTAMP_HEADER.lower()],
            r["body"],
            r["headers"][notify.SIGNATURE_HEADER.lower()],
        )
        for r in receiver.requests
    )
