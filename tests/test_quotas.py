"""Quotas counted from shared state (retainwise.platform.quotas): runs in flight and upload bytes per day,
refused in `retainwise submit` and the portal's queueing; staged uploads tagged and expired. Against the
moto server process over HTTP."""

from __future__ import annotations

import time

import pytest

from retainwise.cli import main
from retainwise.errors import InputError
from retainwise.platform import limits, quotas
from retainwise.platform.aws import client
from retainwise.reports.portal_runs import queue_staged

from .conftest import SAMPLE

pytestmark = pytest.mark.aws


def _tags(stack, key: str) -> dict[str, str]:
    tags = client("s3", stack.settings).get_object_tagging(Bucket=stack.settings.bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}


def _staged(stack, tenant: str, name: str = "staged.csv", body: bytes | None = None) -> str:
    key = f"uploads/{tenant}/portal/0123456789ab-{name}"
    stack.storage.put_bytes(
        key, body if body is not None else SAMPLE.read_bytes(), metadata={"original-name": name}
    )
    quotas.tag_staged(stack.storage, key)
    return key


def test_upload_bytes_in_the_last_day_are_counted_and_the_day_limit_refuses(stack):
    storage = stack.storage
    storage.put_bytes("uploads/acme/a-one.csv", b"x" * 600)
    storage.put_bytes("uploads/rival/b-one.csv", b"x" * 5000)  # another tenant's bytes are not acme's
    used, oldest = quotas.uploaded_today(storage, "acme")
    assert used == 600 and oldest is not None and abs(oldest - time.time()) < 120
    acme = limits.TenantLimits("acme", 5, upload_bytes_per_day=1000, uploads_per_minute=5, pages_per_minute=5)
    quotas.check_upload_bytes(storage, acme, 400)  # exactly at the limit is allowed
    with pytest.raises(limits.LimitError) as caught:
        quotas.check_upload_bytes(storage, acme, 401)
    assert caught.value.limit == "upload_bytes_per_day" and 86_000 < caught.value.retry_after <= 86_400
    assert "over your limit of 1.0 KB in 24 hours" in caught.value.message
    # a day later the same bytes no longer count
    assert quotas.uploaded_today(storage, "acme", now=time.time() + 86_401) == (0, None)


def test_staged_uploads_are_tagged_expire_after_a_day_and_the_queued_copy_is_not_tagged(stack):
    key = _staged(stack, "acme")
    kept = "uploads/acme/0123456789ab-queued.csv"
    quotas.copy_unstaged(stack.storage, key, kept)
    assert _tags(stack, key) == {quotas.STAGED_TAG[0]: quotas.STAGED_TAG[1]}
    assert _tags(stack, kept) == {}
    assert stack.storage.head(kept)["Metadata"] == {"original-name": "staged.csv"}
    assert quotas.expire_staged(stack.storage, "acme") == []  # not a day old yet
    assert quotas.expire_staged(stack.storage, "acme", now=time.time() + 86_401) == [key]
    assert stack.storage.list("uploads/acme/") == [kept]  # only the staging area is swept


def test_submit_refuses_past_the_tenants_queued_runs_with_one_clear_line(stack, capsys):
    limits.update(stack.store, stack.settings, "acme", {"queued_runs": 1})
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 0
    capsys.readouterr()
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "retainwise: error: You already have 1 file queued or being scored (the limit is 1): "
        "wait for one to finish, then try again."
    )
    assert len(stack.store.list_tenant("acme")) == 1 and len(stack.storage.list("uploads/acme/")) == 1
    assert main(["submit", str(SAMPLE), "--tenant", "rival"]) == 0  # another tenant is not held up


def test_a_disabled_tenant_queues_nothing_by_submit_or_the_portal(stack, capsys):
    from retainwise.platform import tenants_config

    tenants_config.set_disabled(stack.store, "acme", True)
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 2
    assert "Tenant 'acme' is disabled" in capsys.readouterr().err
    staged = _staged(stack, "acme")
    with pytest.raises(InputError, match="disabled"):
        queue_staged(stack.settings, stack.store, stack.storage, "acme", staged, "staged.csv")
    assert stack.store.list_tenant("acme") == [] and stack.storage.list("uploads/acme/") == [staged]
    tenants_config.set_disabled(stack.store, "acme", False)
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 0


def test_submit_refuses_a_file_over_the_tenants_bytes_per_day(stack, capsys):
    size = SAMPLE.stat().st_size
    limits.update(stack.store, stack.settings, "acme", {"upload_bytes_per_day": size + size // 2})
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 0
    capsys.readouterr()
    assert main(["submit", str(SAMPLE), "--tenant", "acme"]) == 2
    err = capsys.readouterr().err
    assert "over your limit of" in err and "in 24 hours: try again in" in err and "\n" == err[-1]
    assert len(stack.store.list_tenant("acme")) == 1


def test_the_portal_queues_nothing_past_the_queued_runs_and_keeps_the_staged_file(stack):
    limits.update(stack.store, stack.settings, "acme", {"queued_runs": 1})
    first = _staged(stack, "acme", "first.csv")
    queue_staged(stack.settings, stack.store, stack.storage, "acme", first, "first.csv")
    second = _staged(stack, "acme", "second.csv")
    with pytest.raises(limits.LimitError, match="the limit is 1"):
        queue_staged(stack.settings, stack.store, stack.storage, "acme", second, "second.csv")
    assert len(stack.store.list_tenant("acme")) == 1
    assert stack.storage.head(second) is not None  # still staged: "Start scoring" works once a run finishes
    [queued] = [k for k in stack.storage.list("uploads/acme/") if "/portal/" not in k]
    assert _tags(stack, queued) == {}  # the queued copy outlives the staged file's day
