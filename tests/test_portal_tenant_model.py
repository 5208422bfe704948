"""A tenant trains its own model from the portal (Debian's Chromium, moto's server, one runner process):
"Train on your history" queues a training run (no column review), the runs list shows it as a training run
with the gate's verdict (no report), acme's next upload is scored by acme's model and another tenant's is
not, and activating another version switches what scores acme's next upload."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from retainwise.platform.jobs import submit
from retainwise.platform.links import portal_url
from retainwise.platform.registry import BucketRegistry
from retainwise.platform.runs import COMPLETED
from retainwise.platform.tenants import is_training_key, results_prefix

from . import _report_server as rs
from ._report_server import screenshot
from ._stack import Stack
from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from tenant_simulator import simulate  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser = rs.browser  # the shared fixture
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def portal(moto_server, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    work = tmp_path_factory.mktemp("portal-train")
    stack = Stack.create(
        moto_server.url, work, run_timeout_s=120, visibility_timeout_s=150
    )  # training: seconds
    port = free_port()
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    stack.start_worker()
    server = rs.start_server(stack, port, work / "voila.log")
    try:
        yield {"stack": stack, "work": work}
    finally:
        rs.stop_server(server)
        stack.stop_workers()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


def _export(folder: Path, n: int, seed: int, *, churned: bool) -> Path:
    export, _, left = simulate(n, seed)
    if churned:
        export["Churned"] = np.where(left == 1, "Yes", "No")
    path = folder / (f"acme <history> {n}.csv" if churned else f"accounts-{seed}.csv")  # a name to escape
    export.to_csv(path, index=False)
    return path


def _scored_by(stack, tenant: str, path: Path) -> dict:
    run = stack.wait_status(submit(path, tenant, stack.settings), timeout=120)
    assert run.status == COMPLETED, run.error
    return json.loads(stack.storage.get_text(results_prefix(tenant, run.id) + "summary.json"))["model"]


def _activate(stack, tenant: str, version: str) -> str:
    """``retainwise models activate`` against the stack when it reaches the bucket; else the registry itself."""
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "models", "activate", tenant, version],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    registry = BucketRegistry(stack.storage, tenant)
    if done.returncode == 0 and any(
        e["version"] == version and e["status"] == "active" for e in registry.versions()
    ):
        return "cli"
    registry.activate(version)
    return "registry"


def test_tenant_trains_its_model_from_the_portal_and_its_next_uploads_use_it(
    portal, desktop, browser, tmp_path
):
    stack = portal["stack"]
    history = _export(tmp_path, 1200, 1, churned=True)
    url = portal_url(stack.settings, "acme", 3600)
    desktop.goto(url, wait_until="domcontentloaded", timeout=60_000)
    desktop.wait_for_selector("button.rw-train-file", timeout=90_000)
    desktop.set_input_files("input.rw-file", str(history))
    desktop.dblclick("button.rw-train-file")  # a double click queues one run
    desktop.wait_for_function(
        "document.querySelector('.rw-upload-status').textContent.includes('queued to train')", timeout=60_000
    )
    assert desktop.locator(".rw-map-row").count() == 0  # no column review for a history
    [run] = stack.store.list_tenant("acme")
    assert run.upload_key.startswith("uploads/acme/train/") and is_training_key(run.upload_key)
    assert stack.storage.list("uploads/acme/portal/") == []  # the staged copy is gone
    row = desktop.locator(f'tr[data-run="{run.id}"]')
    assert row.get_attribute("data-kind") == "training"
    assert "&lt;history&gt;" in row.inner_html() and "<history>" in row.locator(".rw-run-file").inner_text()
    desktop.wait_for_selector(f'tr[data-run="{run.id}"][data-status="COMPLETED"]', timeout=150_000)
    run = stack.store.get(run.id)
    summary = json.loads(stack.storage.get_text(results_prefix("acme", run.id) + "summary.json"))
    model = summary["model"]
    assert summary["kind"] == "training" and model["status"] == "active", model
    said = row.locator(".rw-training-verdict").inner_text()
    assert said.startswith(f"Your model {model['version']} now scores your uploads.") and "1,200" in said, (
        said
    )
    assert row.locator("a").count() == 0 and row.locator(".rw-tell").count() == 0  # no report, no download
    desktop.wait_for_selector(
        f'.rw-own-model[data-model="{model["version"]}"]', timeout=10_000
    )  # line updated
    screenshot(desktop, "portal-desktop-training.png")
    phone_context = browser.new_context(
        viewport=rs.PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    phone = phone_context.new_page()
    phone.goto(url, wait_until="domcontentloaded", timeout=60_000)
    phone.wait_for_selector(f'tr[data-run="{run.id}"] .rw-training-verdict', timeout=90_000)
    screenshot(phone, "portal-phone-training.png")
    phone_context.close()

    fresh = _export(tmp_path, 300, 9, churned=False)
    scored = _scored_by(stack, "acme", fresh)
    assert scored["kind"] == "tenant" and scored["version"] == model["version"]
    assert _scored_by(stack, "globex", fresh)["kind"] != "tenant"

    # another version (the same booster under a new name, a candidate), activated: acme's next run uses it
    copy = tmp_path / "copy"
    for name in ("model.ubj", "card.json"):
        stack.storage.download(f"models/acme/{model['version']}/{name}", copy / name)
    card = json.loads((copy / "card.json").read_text())
    (copy / "card.json").write_text(json.dumps({**card, "version": f"{model['version']}-b"}))
    registry = BucketRegistry(stack.storage, "acme")
    assert registry.register(copy, activate=False)["status"] == "candidate"
    how = _activate(stack, "acme", f"{model['version']}-b")
    print(f"activated through the {how}")
    statuses = {e["version"]: e["status"] for e in registry.versions()}
    assert statuses == {model["version"]: "retired", f"{model['version']}-b": "active"}
    assert _scored_by(stack, "acme", fresh)["version"] == f"{model['version']}-b"
    started = time.monotonic()
    _activate(stack, "acme", model["version"])  # and back
    assert _scored_by(stack, "acme", fresh)["version"] == model["version"]
    print(f"roll back and score: {time.monotonic() - started:.0f}s")
