"""Telling a tenant that a run finished: a signed webhook and/or an e-mail, and an alert when HIGH risk jumps.

Per tenant and optional (``retainwise tenant set``, :mod:`retainwise.platform.tenants_config`):

- **webhook**: a POST of JSON (``id``, ``event``, run id, status, counts, share at HIGH risk,
  report link or failure reason) under the rules of :mod:`retainwise.platform.webhooks` (https to
  a public address, pinned, no redirects, one deadline: ``RETAINWISE_WEBHOOK_TIMEOUT``).
- **e-mail** through SES (moto's SES on one machine).
- **alert**: when a run COMPLETED with a share of customers at HIGH risk more than
  ``alert_points`` percentage points above the tenant's previous COMPLETED run, one more event
  (``alert.high_share``) goes out the same ways.

How a receiver checks a webhook: the body is signed with HMAC-SHA256 under the tenant's own
webhook key (random, made when the webhook is first set, kept in the run store, independent of
``RETAINWISE_SECRET`` so rotating the link secret never breaks receivers; ``retainwise tenant
show T`` reveals it to the operator). ``X-RetainWise-Signature: sha256=HEX`` is the HMAC, keyed
with the key's text as UTF-8, of ``"<X-RetainWise-Timestamp>." + body``; a receiver recomputes it
over the raw body, compares in constant time, refuses timestamps older than a few minutes
(:func:`verify_signature`), and de-duplicates on ``X-RetainWise-Event-Id`` (the body's ``id``):
delivery is at least once.

Durable and never in the way: :func:`run_finished` writes the events to the outbox in the run
store (:mod:`retainwise.platform.outbox`) and returns; the process's sender
(:mod:`retainwise.platform.outbox_sender`) delivers them, retrying network errors, 429 and 5xx
with backoff; other answers are final. A runner killed before sending leaves them in the outbox
for the next runner's sender. Every error is logged, never raised to the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time

import sqlalchemy as sa

from retainwise.errors import ConfigError, RetainwiseError, StorageError, TransientError
from retainwise.platform import outbox, webhooks
from retainwise.platform.outbox import EMAIL, WEBHOOK, Item
from retainwise.platform.outbox_sender import Sender, settle
from retainwise.platform.runs import RunStore
from retainwise.platform.webhooks import DELIVERED, REFUSED, RETRY, Attempt

log = logging.getLogger("retainwise.notify")

SIGNATURE_HEADER = "X-RetainWise-Signature"
TIMESTAMP_HEADER = "X-RetainWise-Timestamp"
EVENT_HEADER = "X-RetainWise-Event"
EVENT_ID_HEADER = "X-RetainWise-Event-Id"
SENDER = "notifications@retainwise.example"
#: Lease on an e-mail row: SES calls are bounded by botocore's own timeouts, not by the webhook deadline.
EMAIL_LEASE_S = 120


# -- signing ------------------------------------------------------------------------
def webhook_key(store: RunStore, tenant: str) -> str:
    """``tenant``'s webhook signing key: made (256 random bits) the first time it is asked for, then kept.

    ConfigError when the tenant has no settings row (no webhook was ever set).
    """
    from retainwise.platform.tenants_config import TenantSettingsRow

    with store._session("reading a webhook key") as s:
        row = s.get(TenantSettingsRow, tenant)
        if row is None:
            raise ConfigError(f"Tenant {tenant!r} has no webhook: set one with `retainwise tenant set`.")
        if row.webhook_secret:
            return row.webhook_secret
        # Only where none is set yet: two processes racing here agree on the one that landed first.
        s.execute(
            sa.update(TenantSettingsRow)
            .where(TenantSettingsRow.tenant == tenant, TenantSettingsRow.webhook_secret.is_(None))
            .values(webhook_secret=secrets.token_hex(32))
        )
    with store._session("reading a webhook key") as s:
        return s.get(TenantSettingsRow, tenant).webhook_secret


def new_webhook_key(store: RunStore, tenant: str) -> str:
    """Replace ``tenant``'s webhook key (the old one stops verifying at once). ConfigError without a row."""
    from retainwise.platform.tenants_config import TenantSettingsRow

    with store._session("replacing a webhook key") as s:
        done = s.execute(
            sa.update(TenantSettingsRow)
            .where(TenantSettingsRow.tenant == tenant)
            .values(webhook_secret=secrets.token_hex(32))
        )
        if done.rowcount != 1:
            raise ConfigError(f"Tenant {tenant!r} has no webhook: set one with `retainwise tenant set`.")
    return webhook_key(store, tenant)


def signature(key: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    return "sha256=" + hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    key: str,
    timestamp: str | None,
    body: bytes,
    header: str | None,
    tolerance_s: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` under ``key`` and ``timestamp`` is within ``tolerance_s``."""
    if not timestamp or not header or not (timestamp.isascii() and timestamp.isdigit()):  # "²" is a digit
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance_s:
        return False
    # as bytes: compare_digest raises TypeError for a str with non-ASCII characters; that is a mismatch
    return hmac.compare_digest(signature(key, timestamp, body).encode(), header.encode("utf-8", "replace"))


# -- what to say ----------------------------------------------------------------------
def high_share(summary: dict | None) -> float | None:
    """Share of scored customers at HIGH risk in a run's summary (None without one)."""
    if not summary or not summary.get("rows_scored"):
        return None
    return (summary.get("risk_counts") or {}).get("HIGH", 0) / summary["rows_scored"]


def _summary_of(storage, run) -> dict | None:
    key = (run.output_keys or {}).get("summary.json")
    return json.loads(storage.get_text(key)) if key else None


def _previous_completed(store, run):
    from retainwise.platform.runs import COMPLETED

    earlier = [
        r
        for r in store.list_tenant(run.tenant, limit=200)
        if r.id != run.id and r.status == COMPLETED and r.created_at <= run.created_at
    ]
    return earlier[0] if earlier else None


def events_for(settings, store, storage, run, summary: dict | None = None) -> list[dict]:
    """The events a finished ``run`` raises: its own, plus the alert when the HIGH share jumped."""
    from retainwise.platform import tenants_config
    from retainwise.platform.links import report_url
    from retainwise.platform.runs import COMPLETED

    event = {
        "id": outbox.new_event_id(),  # the receiver's de-duplication key: delivery is at least once
        "event": f"run.{run.status.lower()}",
        "run_id": run.id,
        "tenant": run.tenant,
        "status": run.status,
        "file": run.upload_key.rsplit("/", 1)[-1],
        "rows_in": run.rows_in,
        "rows_scored": run.rows_scored,
        "finished_at": run.finished_at.isoformat(timespec="seconds") + "Z" if run.finished_at else None,
    }
    if run.status != COMPLETED:
        return [{**event, "error": run.error}]
    summary = summary if summary is not None else _summary_of(storage, run)
    share = high_share(summary)
    event.update(
        risk_counts=(summary or {}).get("risk_counts"),
        high_share=share,
        report_url=report_url(settings, run.tenant, run.id),
    )
    events = [event]
    points = tenants_config.get(store, run.tenant).alert_points
    previous = _previous_completed(store, run) if points and share is not None else None
    before = high_share(_summary_of(storage, previous)) if previous else None
    if before is not None and (share - before) * 100 > points:
        events.append(
            {
                **event,
                "id": outbox.new_event_id(),
                "event": "alert.high_share",
                "previous_run_id": previous.id,
                "previous_high_share": before,
                "rise_points": round((share - before) * 100, 2),
                "alert_points": points,
            }
        )
    return events


def email_text(event: dict) -> tuple[str, str]:
    """(subject, plain-text body) of the e-mail for ``event``."""
    run, file = event["run_id"], event.get("file") or "your file"
    if event["event"] == "alert.high_share":
        subject = f"RetainWise alert: customers at high risk up {event['rise_points']:.1f} points"
        body = (
            f"In run {run} ({file}) {event['high_share']:.1%} of your customers are at HIGH risk of leaving, "
            f"up from {event['previous_high_share']:.1%} in your previous run "
            f"(your alert threshold: {event['alert_points']:g} points).\n\nReport: {event['report_url']}\n"
        )
    elif event["status"] == "COMPLETED":
        subject = f"RetainWise: {file} is scored"
        body = (
            f"Run {run} scored {event['rows_scored']} customers; {event['high_share']:.1%} are at HIGH risk.\n\n"
            f"Report: {event['report_url']}\n"
        )
    else:
        subject = f"RetainWise: {file} could not be scored"
        body = f"Run {run} failed: {event.get('error')}\n"
    return subject, body


# -- sending one item -------------------------------------------------------------------
def post_webhook(settings, url: str, key: str, event: dict, context=None) -> Attempt:
    """One signed POST of ``event`` to ``url`` (no retry here: the outbox schedules those)."""
    body = json.dumps(event, separators=(",", ":"), default=str).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RetainWise-Webhook/1",
        EVENT_HEADER: event["event"],
        EVENT_ID_HEADER: event["id"],
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(key, stamp, body),
    }
    return webhooks.post(
        url,
        body,
        headers,
        allow_http=webhooks.allowed_hosts(settings.webhook_allow_http_hosts),
        deadline_s=settings.webhook_timeout_s,
        context=context,
    )


def send_email(settings, address: str, event: dict) -> None:
    """Send ``event`` to ``address`` through SES. StorageError when SES fails."""
    from retainwise.platform.aws import client, translate

    ses = client("ses", settings)
    subject, body = email_text(event)
    with translate("sending a notification e-mail"):
        if (
            settings.aws_endpoint_url
        ):  # moto's SES, like a fresh AWS account, sends only from verified senders
            ses.verify_email_identity(EmailAddress=SENDER)
        ses.send_email(
            Source=SENDER,
            Destination={"ToAddresses": [address]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            },
        )


def send_item(settings, store: RunStore, item: Item) -> Attempt:
    """One attempt at one outbox row, to where the tenant's settings point *now* (a cleared one: refused)."""
    from retainwise.platform import tenants_config

    config = tenants_config.get(store, item.tenant)
    if item.channel == WEBHOOK:
        if not config.webhook_url:
            return Attempt(REFUSED, "the tenant's webhook was removed")
        return post_webhook(settings, config.webhook_url, webhook_key(store, item.tenant), item.event)
    if not config.email:
        return Attempt(REFUSED, "the tenant's e-mail address was removed")
    try:
        send_email(settings, config.email, item.event)
    except TransientError as exc:
        return Attempt(RETRY, exc.message)
    except RetainwiseError as exc:
        return Attempt(REFUSED, exc.message)
    return Attempt(DELIVERED, "sent through SES")


# -- recording and the sender ---------------------------------------------------------------
def _store(settings) -> RunStore:
    from retainwise.platform.runs import shared_store

    return shared_store(settings.effective_database_url)  # one engine per database and process, not per run


def record(settings, run_id: str, summary: dict | None = None) -> list[dict]:
    """Write the notifications of a finished run to the outbox (none without a webhook or e-mail). Raises."""
    from retainwise.platform import tenants_config
    from retainwise.platform.runs import COMPLETED
    from retainwise.platform.storage import Storage

    store = _store(settings)
    run = store.get(run_id)
    config = tenants_config.get(store, run.tenant) if run else None
    channels = [
        c for c, on in ((WEBHOOK, config and config.webhook_url), (EMAIL, config and config.email)) if on
    ]
    if not channels:
        return []
    storage = Storage(settings) if run.status == COMPLETED else None  # a failed run reads nothing from S3
    events = events_for(settings, store, storage, run, summary)
    outbox.add(store, run.tenant, events, channels)
    return events


def deliver(settings, run_id: str, summary: dict | None = None) -> list[dict]:
    """Record a finished run's notifications and make the first attempt at each now (blocking).

    Returns the events. What fails transiently stays in the outbox for the sender's retries.
    """
    store = _store(settings)
    events = record(settings, run_id, summary)
    ids = {e["id"] for e in events}
    for item in outbox.listing(store, events[0]["tenant"], outbox.PENDING) if events else []:
        if item.event_id in ids and outbox.claim(store, item.seq, _lease_s(settings, item.channel)):
            settle(store, item, send_item(settings, store, item))
    return events


def _lease_s(settings, channel: str) -> float:
    # Longer than any one attempt can last (the deadline, twice, plus the store's writes), so a live
    # sender never loses its row to another; short enough that a dead sender's row goes out soon after.
    return EMAIL_LEASE_S if channel == EMAIL else 2 * settings.webhook_timeout_s + 5


_senders: dict[str, Sender] = {}
_lock = threading.RLock()


def start(settings) -> Sender:
    """This process's sender for ``settings``' run store, started once. StorageError when the store fails."""
    store = _store(settings)
    with _lock:
        url = settings.effective_database_url
        if url not in _senders or _senders[url].stopping.is_set():
            _senders[url] = Sender(
                store, lambda item: send_item(settings, store, item), lease_s=lambda c: _lease_s(settings, c)
            ).start()
        return _senders[url]


def run_finished(settings, run_id: str, summary: dict | None = None) -> None:
    """Record a COMPLETED or FAILED run's notifications in the outbox and wake the sender. Never raises.

    Recording is the one part done before returning (a few rows in the run store, and the previous
    run's summary when an alert threshold is set): what is recorded is never lost to a stopping runner.
    """
    try:
        if record(settings, run_id, summary):
            start(settings).wake.set()
    except Exception as exc:  # noqa: BLE001 - a notification must never fail or slow a run
        level = logging.WARNING if isinstance(exc, StorageError) else logging.ERROR
        log.log(level, "notifications of run %s not recorded: %s: %s", run_id, type(exc).__name__, exc)


def flush(timeout: float = 60) -> bool:
    """Wait up to ``timeout`` seconds until every sender here is idle (nothing due, nothing in flight)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.idle() for s in list(_senders.values())):
            return True
        time.sleep(0.05)
    return False


def stop(timeout: float = 10) -> bool:
    """Stop this process's senders, waiting up to ``timeout`` s for attempts in flight (a stopping runner).

    What is not finished stays in the outbox for another runner. True when nothing was cut short.
    """
    with _lock:
        senders = list(_senders.values())
        _senders.clear()
    deadline = time.monotonic() + timeout
    return all([s.stop(max(0.0, deadline - time.monotonic())) for s in senders])
