"""Notifications: signed webhooks with retries, SES e-mail, the HIGH-share alert, `retainwise tenant set`."""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from retainwise.errors import InputError
from retainwise.platform import notify, tenants_config
from retainwise.platform.runs import RunStore
from retainwise.platform.tenants import results_prefix


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every POST and answers with the queued statuses."""

    def __init__(self, answers=()) -> None:
        self.requests: list[dict] = []
        self.answers = list(answers)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/churn"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def signed_ok(key: str, request: dict) -> bool:
    h = request["headers"]  # header names are case-insensitive
    return notify.verify_signature(
        key, h.get(notify.TIMESTAMP_HEADER.lower()), request["body"], h.get(notify.SIGNATURE_HEADER.lower())
    )


# -- signing ----------------------------------------------------------------------------
def test_signature_checks_body_key_and_time():
    key, body, now = notify.webhook_key("s3cret", "acme"), b'{"run_id":"r1"}', 1_700_000_000
    sig = notify.signature(key, str(now), body)
    assert notify.verify_signature(key, str(now), body, sig, now=now)
    assert not notify.verify_signature(key, str(now), body + b" ", sig, now=now)
    assert not notify.verify_signature(notify.webhook_key("s3cret", "rival"), str(now), body, sig, now=now)
    assert not notify.verify_signature(key, str(now), body, sig, now=now + 3600)  # replayed an hour later
    assert not notify.verify_signature(key, None, body, sig, now=now)


def test_webhook_is_retried_with_backoff_then_delivered():
    pauses = []
    with Receiver(answers=[503, 500]) as r:
        ok = notify.post_webhook(
            r.url, "k", {"event": "run.completed", "run_id": "r1"}, backoff=(1, 2, 4), sleep=pauses.append
        )
    assert ok and len(r.requests) == 3
    assert pauses == [0, 1, 2]
    assert all(signed_ok("k", req) for req in r.requests)


def test_webhook_client_error_is_not_retried():
    with Receiver(answers=[404]) as r:
        assert not notify.post_webhook(
            r.url, "k", {"event": "run.failed", "run_id": "r1"}, backoff=(1, 2), sleep=lambda s: None
        )
    assert len(r.requests) == 1


def test_unreachable_webhook_gives_up_without_raising():
    with Receiver() as r:
        url = r.url
    assert not notify.post_webhook(
        url, "k", {"event": "run.failed", "run_id": "r1"}, backoff=(0, 0), sleep=lambda s: None
    )


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
    assert "https://hooks.example/churn" in out and notify.webhook_key("s3cret", "acme") in out
    store = RunStore.open(f"sqlite:///{home / 'runs.sqlite3'}")
    assert tenants_config.get(store, "acme") == tenants_config.TenantSettings(
        "acme", "https://hooks.example/churn", "ops@acme.example", 5.0
    )
    cli_tenant(tenant_args("set", "acme", "--email", ""))
    assert tenants_config.get(store, "acme").email is None
    assert tenants_config.get(store, "acme").webhook_url == "https://hooks.example/churn"
    assert tenants_config.get(store, "rival") == tenants_config.TenantSettings("rival")


@pytest.mark.parametrize(
    "argv",
    [
        ["--webhook", "file:///etc/passwd"],
        ["--webhook", "javascript:alert(1)"],
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
def test_alert_when_high_share_rises_more_than_the_threshold(stack, receiver):
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
    key = notify.webhook_key(stack.settings.secret, "acme")
    assert all(signed_ok(key, r) for r in receiver.requests)
    assert receiver.events()[2]["report_url"].startswith(stack.settings.report_base_url)


@pytest.mark.aws
def test_failed_run_is_announced_with_its_reason_and_other_tenants_hear_nothing(stack, receiver):
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


def test_run_finished_returns_at_once_and_never_raises(monkeypatch):
    started = threading.Event()

    def slow(settings, run_id, summary=None):
        started.set()
        time.sleep(0.5)

    monkeypatch.setattr(notify, "deliver", slow)
    t = time.perf_counter()
    notify.run_finished(object(), "r1")
    assert (
        time.perf_counter() - t < 0.1
    )  # a ratio would be nicer; this is "does not wait for the 0.5 s sleep"
    assert started.wait(5) and notify.flush(5)
    monkeypatch.setattr(notify, "deliver", lambda *a, **k: 1 / 0)
    notify.run_finished(object(), "r2")
    assert notify.flush(5)


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
def test_runner_posts_one_signed_webhook_per_finished_run_and_the_alert(stack, receiver, tmp_path):
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
    key = notify.webhook_key(stack.settings.secret, "acme")
    assert all(signed_ok(key, r) for r in receiver.requests)
    assert receiver.events()[3]["previous_run_id"] == first
