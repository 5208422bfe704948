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
    for key in (
        rival,
        "uploads/acme/portal/../../rival/x.csv",
        "uploads/acme/x.csv",
        "results/acme/r/results.csv",
    ):
        portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": EXPORT.name}, [])
        assert (portal_page.upload.message, portal_page.upload.state) == (
            "This upload is not valid.",
            "error",
        )
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
    assert (
        run.status == "QUEUED"
        and run.upload_key.startswith("uploads/acme/")
        and run.upload_key.count("/") == 2
    )
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


# -- the tenant's own model and "Tell us who left" ------------------------------------------------
def test_the_own_model_line_says_the_active_model_or_how_to_get_one():
    from retainwise.reports.portal_outcomes import GENERAL, own_model_html

    assert GENERAL in own_model_html([]) and "general" in own_model_html(
        [{"version": "t-1", "status": "candidate"}]
    )
    line = own_model_html(
        [
            {
                "version": "t-<b>x",
                "status": "active",
                "trained_on": {"rows": 1500, "leavers": 209},
                "roc_auc": 0.853,
                "activated_at": "2024-12-03T10:00:00+00:00",
            },
            {"version": "t-old", "status": "retired"},
        ]
    )
    assert (
        "Your own model t-&lt;b&gt;x, trained on 1,500 of your customers (209 who left): on customers it had "
        "not seen it ranked a leaver above a stayer 85% of the time. Active since 3 Dec."
    ) in line
    assert "<b>" not in line


def test_outcomes_are_said_in_plain_words():
    from retainwise.reports.portal_outcomes import outcomes_words, size_refusal

    report = {
        "matched": 1234,
        "leavers": 210,
        "not_in_run": {"count": 2, "examples": ["X1", "X2"]},
        "scored_at": "2024-12-03T10:00:00+00:00",
        "realised": {"roc_auc": 0.81},
    }
    assert outcomes_words(report, replaced=True) == (
        "1,234 customers matched, 210 of them left. 2 ids in the file were not customers of that run (e.g. X1, X2). "
        "Our 3 Dec predictions ranked a leaver above a stayer 81% of the time. "
        "This replaces what you sent before for that run."
    )
    assert "20 MB" in size_refusal("big.csv", 21 * 1024 * 1024) and size_refusal("ok.csv", 10) is None


def scratch(stack):
    from pathlib import Path

    path = Path(stack.settings.home) / "scratch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def completed_run(stack, tenant: str = "acme") -> str:
    """A finished platform run of ``tenant`` whose snapshot, results and summary are in the bucket."""
    import pandas as pd

    run_id = stack.store.create(tenant=tenant, upload_key=f"uploads/{tenant}/x.csv").id
    prefix = f"results/{tenant}/{run_id}/"
    ids = [f"C{i}" for i in range(40)]
    keys = {}
    for name, frame in (
        ("snapshot.parquet", pd.DataFrame({"customer_id": ids, "tenure_months": range(40)})),
        (
            "results.parquet",
            pd.DataFrame({"customer_id": ids, "churn_probability": [i / 40 for i in range(40)]}),
        ),
    ):
        frame.to_parquet(scratch(stack) / name)
        keys[name] = stack.storage.put_file(scratch(stack) / name, prefix + name) and prefix + name
    keys["summary.json"], keys["results.csv"] = prefix + "summary.json", prefix + "results.csv"
    stack.storage.put_json(
        keys["summary.json"], {"finished_at": "2024-12-03T10:00:00+00:00", "rows_scored": 40}
    )
    stack.store.complete(run_id, summary={"rows_scored": 40}, output_keys=keys)
    return run_id


def send_outcomes(stack, portal_page, run_id: str, text: str, name: str = "who left.csv") -> None:
    key = staged_key("acme", name)
    (scratch(stack) / "outcomes.csv").write_text(text)
    stack.storage.put_file(scratch(stack) / "outcomes.csv", key)
    portal_page.outcomes._on_msg(None, {"kind": "uploaded", "run": run_id, "key": key, "name": name}, [])
    assert stack.storage.head(key) is None  # the staged file is removed either way


@pytest.mark.aws
def test_outcomes_sent_for_a_run_are_saved_as_its_labelled_data_and_replace(stack, portal_page):
    from retainwise.platform.labelled import BucketLabelled

    run_id = completed_run(stack)
    rows = "".join(f"C{i},{'yes' if i >= 30 else 'no'}\n" for i in range(40))
    send_outcomes(stack, portal_page, run_id, "customer_id,churned\n" + rows + "Z9,yes\n")
    status = portal_page.outcomes.widget
    assert status.state == "done", status.message
    assert status.message == (
        "who left.csv: 40 customers matched, 10 of them left. 1 id in the file was not a "
        "customer of that run (e.g. Z9). Our 3 Dec predictions ranked a leaver above a "
        "stayer 100% of the time."
    )
    assert stack.storage.head(f"tenants/acme/labelled/{run_id}.parquet") is not None
    assert BucketLabelled(stack.storage, "acme").read(run_id)["churned"].sum() == 10
    assert "Who left: 40 customers matched" in portal_page.runs.widget.value  # the row says it too
    send_outcomes(stack, portal_page, run_id, "customer_id,churned\nC1,yes\nC2,no\n")
    assert status.state == "done" and "replaces" in status.message
    assert len(BucketLabelled(stack.storage, "acme").read(run_id)) == 2


@pytest.mark.aws
def test_outcomes_for_another_tenants_run_or_matching_nobody_are_refused(stack, portal_page):
    rival = completed_run(stack, "rival")
    send_outcomes(stack, portal_page, rival, "customer_id,churned\nC1,yes\n")
    assert (
        portal_page.outcomes.widget.state == "error"
        and "your finished runs" in portal_page.outcomes.widget.message
    )
    assert stack.storage.list("tenants/rival/") == []
    run_id = completed_run(stack)
    send_outcomes(stack, portal_page, run_id, "customer_id,churned\nQ1,yes\nQ2,no\n")
    assert portal_page.outcomes.widget.state == "error" and "Q1" in portal_page.outcomes.widget.message
    assert stack.storage.list("tenants/acme/") == []
    portal_page.outcomes._on_msg(
        None, {"kind": "refused", "run": run_id, "name": "big.csv", "size": 10**9}, []
    )
    assert "at most 20 MB" in portal_page.outcomes.widget.message
