"""Telling a tenant that a run finished: a signed webhook and/or an e-mail, and an alert when HIGH risk jumps.

Per tenant and optional (``retainwise tenant set``, :mod:`retainwise.platform.tenants_config`):

- **webhook**: a POST of JSON (``event``, run id, status, counts, share at HIGH
  risk, report link or failure reason). The body is signed with HMAC-SHA256
  under a per-tenant key derived from ``RETAINWISE_SECRET`` (printed by
  ``retainwise tenant set``): ``X-RetainWise-Signature: sha256=HEX`` over
  ``"<timestamp>." + body``, the timestamp in ``X-RetainWise-Timestamp``, so a
  receiver can check both origin and freshness (:func:`verify_signature`).
  Network errors, 429 and 5xx are retried with exponential backoff
  (:data:`BACKOFF_S`); other answers are final.
- **e-mail** through SES (moto's SES on one machine).
- **alert**: when a run COMPLETED with a share of customers at HIGH risk more
  than ``alert_points`` percentage points above the tenant's previous
  COMPLETED run, one more event (``alert.high_share``) goes out the same ways.

Nothing here may slow a runner down or fail a run: :func:`run_finished`
hands the work to one background thread per process and returns at once;
every error is logged, never raised.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

from retainwise.errors import RetainwiseError

log = logging.getLogger("retainwise.notify")

SIGNATURE_HEADER = "X-RetainWise-Signature"
TIMESTAMP_HEADER = "X-RetainWise-Timestamp"
EVENT_HEADER = "X-RetainWise-Event"
#: Seconds to wait before each retry of a webhook (after the first attempt): about a minute in all.
BACKOFF_S = (1, 2, 4, 8, 16, 32)
TIMEOUT_S = 10
SENDER = "notifications@retainwise.example"


# -- signing ------------------------------------------------------------------------
def webhook_key(secret: str | None, tenant: str) -> str:
    """The key ``tenant``'s webhook bodies are signed with (derived, so one leaked key exposes one tenant)."""
    from retainwise.errors import ConfigError

    if not secret:
        raise ConfigError("RETAINWISE_SECRET is not set: webhooks cannot be signed.")
    return hmac.new(secret.encode(), f"webhook:{tenant}".encode(), hashlib.sha256).hexdigest()


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
    if not timestamp or not header or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(key, timestamp, body), header)


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


# -- sending -------------------------------------------------------------------------
def post_webhook(url: str, key: str, event: dict, backoff=BACKOFF_S, sleep=time.sleep) -> bool:
    """POST ``event`` signed with ``key``, retrying transient failures with ``backoff``. True when accepted."""
    body = json.dumps(event, separators=(",", ":"), default=str).encode()
    for attempt, pause in enumerate((0, *backoff)):
        sleep(pause)
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "RetainWise-Webhook/1",
                EVENT_HEADER: event["event"],
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: signature(key, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:  # noqa: S310 - http(s) checked on save
                log.info("webhook delivered: %s %s %s", event["event"], event["run_id"], resp.status)
                return True
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                log.warning(
                    "webhook refused (%s): %s %s, not retried", exc.code, event["event"], event["run_id"]
                )
                return False
            log.warning("webhook attempt %d failed (%s)", attempt + 1, exc.code)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("webhook attempt %d failed (%s)", attempt + 1, type(exc).__name__)
    log.error("webhook gave up after %d attempts: %s %s", len(backoff) + 1, event["event"], event["run_id"])
    return False


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


@functools.cache
def _store(url: str):
    from retainwise.platform.runs import RunStore

    return RunStore.open(url, migrate=False)  # one engine (and connection pool) per process, not per run


def deliver(settings, run_id: str, summary: dict | None = None) -> list[dict]:
    """Work out and send every notification of a finished run (blocking). Returns the events sent."""
    from retainwise.platform import tenants_config
    from retainwise.platform.storage import Storage

    store = _store(settings.effective_database_url)
    run = store.get(run_id)
    config = tenants_config.get(store, run.tenant) if run else None
    if config is None or not (config.webhook_url or config.email):
        return []
    events = events_for(settings, store, Storage(settings), run, summary)
    for event in events:
        if config.webhook_url:
            post_webhook(config.webhook_url, webhook_key(settings.secret, run.tenant), event)
        if config.email:
            try:
                send_email(settings, config.email, event)
            except RetainwiseError as exc:
                log.warning("e-mail not sent: %s", exc.message)
    return events


class _Sender:
    """One daemon thread per process delivering notifications in order, so no caller ever waits."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._work, name="retainwise-notify", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while True:
            settings, run_id, summary = self.jobs.get()
            try:
                deliver(settings, run_id, summary)
            except Exception as exc:  # a notification must never take anything down
                log.error("notification for run %s failed: %s: %s", run_id, type(exc).__name__, exc)
            finally:
                self.jobs.task_done()


_sender: _Sender | None = None
_lock = threading.Lock()


def run_finished(settings, run_id: str, summary: dict | None = None) -> None:
    """Queue the notifications of a COMPLETED or FAILED run and return at once. Never raises."""
    global _sender
    try:
        with _lock:
            if _sender is None:
                _sender = _Sender()
        _sender.jobs.put((settings, run_id, summary))
    except Exception as exc:  # noqa: BLE001 - see above
        log.error("notification for run %s not queued: %s", run_id, exc)


def flush(timeout: float = 60) -> bool:
    """Wait up to ``timeout`` seconds for queued notifications (a stopping runner). True when all went out."""
    if _sender is None:
        return True
    deadline = time.monotonic() + timeout
    while _sender.jobs.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _sender.jobs.unfinished_tasks
