"""The portal's pieces without a browser: file names and sizes, the staging area, queueing once."""

from __future__ import annotations

import time

import pytest

from retainwise.errors import InputError
from retainwise.platform.links import Grant
from retainwise.reports.portal_upload import check_name, size_refusal, staged_key, staging_prefix
from retainwise.science.reading import MAX_BYTES, read_upload

from .conftest import ROOT

EXPORT = ROOT / "tests" / "data" / "exports" / "value_evidence.csv"


@pytest.mark.parametrize("name", ["../rival/x.csv", "a/b.csv", "a\\b.csv", "..", "", "x\x00.csv", "x" * 300])
def test_file_names_with_paths_are_refused(name):
    with pytest.raises(InputError):
        check_name(name)


def test_staged_keys_stay_in_the_tenants_staging_area():
    key = staged_key("acme", "Customers (May) ünïcode.csv")
    assert key.startswith("uploads/acme/portal/") and key.count("/") == 3
    with pytest.raises(InputError):
        staging_prefix("../rival")


@pytest.mark.parametrize("size", [0, MAX_BYTES + 1, 10 * MAX_BYTES])
def test_size_refusal_is_the_clis_own(tmp_path, size):
    path = tmp_path / "big export.csv"
    with open(path, "wb") as fh:
        fh.truncate(size)
    with pytest.raises(InputError) as cli:
        read_upload(path)
    assert size_refusal("big export.csv", size).message == cli.value.message


def test_sizes_within_the_limit_are_not_refused():
    assert size_refusal("x.csv", 1) is None and size_refusal("x.csv", MAX_BYTES) is None


# -- with storage and the run store (moto) -----------------------------------------------------
@pytest.fixture
def portal_page(stack):
    from retainwise.reports.portal import Portal

    return Portal(stack.settings, Grant(tenant="acme", run_id="", expires=int(time.time()) + 3600))


def stage(stack, tenant: str = "acme") -> str:
    key = staged_key(tenant, EXPORT.name)
    stack.storage.put_file(EXPORT, key)
    return key


@pytest.mark.aws
def test_a_key_outside_the_tenants_staging_area_is_never_read(stack, portal_page):
    rival = stage(stack, "rival")
    for key in (rival, "uploads/acme/portal/../../rival/x.csv", "uploads/acme/x.csv", "results/acme/r/results.csv"):
        portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": EXPORT.name}, [])
        assert (portal_page.upload.message, portal_page.upload.state) == ("This upload is not valid.", "error")
        assert portal_page._staged is None


@pytest.mark.aws
def test_start_scoring_twice_queues_one_run_with_the_confirmed_mapping(stack, portal_page):
    from retainwise.platform import mapping_store
    from retainwise.platform.queue import Queue

    key = stage(stack)
    portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": EXPORT.name}, [])
    assert portal_page.upload.state == "done", portal_page.upload.message
    portal_page._staged.editor.dropdowns["Pay by"].value = ""  # ignore
    portal_page._start()
    portal_page._start()  # a second click
    [run] = stack.store.list_tenant("acme")
    assert run.status == "QUEUED" and run.upload_key.startswith("uploads/acme/") and run.upload_key.count("/") == 2
    assert stack.storage.head(key) is None and stack.storage.head(run.upload_key) is not None
    saved = mapping_store.load(stack.store, "acme")
    assert saved["confirmed"]["Pay by"] is None and saved["confirmed"]["ID"] == "customer_id"
    bodies = [m.body for m in Queue(stack.settings).receive(10, wait_s=1)]
    assert sum(run.id in b for b in bodies) == 1  # one job (the copy's S3 event names the same upload)


@pytest.mark.aws
def test_an_unusable_staged_file_is_refused_with_the_clis_reason_and_removed(stack, portal_page, tmp_path):
    bad = tmp_path / "notes.csv"
    bad.write_bytes(b"customer_id,tenure\n")
    with pytest.raises(InputError) as cli:
        read_upload(bad)
    key = staged_key("acme", bad.name)
    stack.storage.put_file(bad, key)
    portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": bad.name}, [])
    assert (portal_page.upload.message, portal_page.upload.state) == (cli.value.message, "error")
    assert stack.storage.head(key) is None and stack.store.list_tenant("acme") == []


@pytest.mark.aws
def test_two_columns_sent_to_one_field_are_refused_and_can_be_fixed(stack, portal_page):
    key = stage(stack)
    portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": EXPORT.name}, [])
    dropdowns = portal_page._staged.editor.dropdowns
    dropdowns["Plan"].value = "contract"  # Package is read as contract too
    portal_page._start()
    assert "contract" in portal_page.columns_status.value and stack.store.list_tenant("acme") == []
    assert not portal_page.start_button.disabled
    dropdowns["Plan"].value = ""
    portal_page._start()
    assert len(stack.store.list_tenant("acme")) == 1


@pytest.mark.aws
def test_a_staged_file_that_cannot_be_copied_leaves_no_queued_run(stack, portal_page):
    key = stage(stack)
    portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": EXPORT.name}, [])
    stack.storage.s3.delete_object(Bucket=stack.storage.bucket, Key=key)  # gone before Start scoring
    portal_page._start()
    [run] = stack.store.list_tenant("acme")
    assert run.status == "FAILED" and "upload it again" in run.error
    assert "try again" in portal_page.columns_status.value and not portal_page.start_button.disabled
