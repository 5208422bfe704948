"""The command line as a user meets it: --version, help on everything, bad values refused by the parser,
and runs / status / download / link / submit against moto's server process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import pytest

from retainwise.cli import HANDLERS, build_parser
from retainwise.platform.runs import COMPLETED

from .conftest import SAMPLE


def rw(*args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retainwise", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, deeper in _subparsers(sub):
                    yield f"{name} {inner}", deeper


def test_version_matches_the_package_metadata():
    from importlib.metadata import version

    proc = rw("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"retainwise {version('retainwise')}"
    import retainwise

    assert retainwise.__version__ == version("retainwise")


def test_every_command_option_and_argument_has_help_text():
    commands = dict(_subparsers(build_parser()))
    assert set(HANDLERS) <= {name.split()[0] for name in commands}
    missing = [
        f"{name}: {'/'.join(a.option_strings) or a.dest}"
        for name, sub in commands.items()
        for a in sub._actions
        if not isinstance(a, argparse._SubParsersAction) and not (a.help or "").strip()
    ]
    assert missing == []


def test_every_command_is_routed_to_a_handler_inside_cli():
    import importlib

    for command, target in HANDLERS.items():
        module, _, func = target.partition(":")
        assert module.startswith("retainwise.cli."), command
        assert callable(getattr(importlib.import_module(module), func)), command


@pytest.mark.parametrize(
    "args",
    [
        ("score", "x.csv", "--out", "OUT", "--rules-share", "2"),
        ("score", "x.csv", "--out", "OUT", "--rules-share", "nan"),
        ("train", "--budget", "-1"),
        ("link", "abc", "--expires", "0m"),
        ("link", "abc", "--expires", "soon"),
        ("submit", "x.csv", "--tenant", "../other"),
        ("runs", "--tenant", "Acme Inc"),
        ("worker", "--concurrency", "0"),
        ("up", "--port", "70000"),
        ("status", "not a run/../x"),
    ],
)
def test_bad_values_are_refused_by_the_parser_before_any_work(tmp_path, args):
    args = tuple(str(tmp_path / "out") if a == "OUT" else a for a in args)
    started = time.monotonic()
    proc = rw(*args, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "usage: retainwise" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing was run: not even the output folder exists
    assert time.monotonic() - started < 10  # a kernel start alone takes longer on this machine


def test_python_dash_m_retainwise_is_the_console_script():
    direct = subprocess.run(["retainwise", "--help"], capture_output=True, text=True, timeout=30)
    module = rw("--help")
    assert direct.returncode == module.returncode == 0
    assert direct.stdout == module.stdout and "download" in module.stdout and "runs" in module.stdout


# -- against moto's server process -----------------------------------------------------------------
def _completed_run(stack, tmp_path, tenant="acme", name="customers.csv"):
    """A COMPLETED run whose outputs are in the bucket, recorded the way the runner records them."""
    from retainwise.platform.tenants import results_prefix, upload_key

    key = upload_key(tenant, name)
    run = stack.store.create(tenant=tenant, upload_key=key)
    out = tmp_path / f"outputs-{run.id}"
    (out / "notebooks").mkdir(parents=True)
    (out / "results.csv").write_text("customer_id,churn_probability\nC1,0.9\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({"rows_in": 1, "rows_scored": 1}), encoding="utf-8")
    (out / "report.html").write_text("<html>report</html>", encoding="utf-8")
    (out / "notebooks" / "pipeline.ipynb").write_text("{}", encoding="utf-8")
    (out / "notebooks" / "report.ipynb").write_text("{}", encoding="utf-8")
    keys = stack.storage.put_outputs(out, results_prefix(tenant, run.id))
    stack.store.claim(run.id, lease_s=30)
    return stack.store.complete(run.id, summary={"rows_in": 1, "rows_scored": 1}, output_keys=keys), out


@pytest.mark.aws
def test_runs_lists_newest_first_with_the_uploaded_file_name(stack, tmp_path):
    first, _ = _completed_run(stack, tmp_path, "acme", "old.csv")
    second = stack.store.create(tenant="acme", upload_key="uploads/acme/0123456789ab-new export.csv")
    other = stack.store.create(tenant="beta", upload_key="uploads/beta/0123456789ab-theirs.csv")
    proc = rw("runs", "--tenant", "acme", "--json", env=stack.env())
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == [second.id, first.id]
    assert [r["file"] for r in rows] == ["new export.csv", "old.csv"]
    assert list(rows[0]) == ["id", "tenant", "file", "status", "rows", "created", "finished"]
    assert (rows[1]["status"], rows[1]["rows"], rows[0]["status"]) == (COMPLETED, 1, "QUEUED")
    everyone = rw("runs", env=stack.env())
    assert everyone.returncode == 0 and other.id in everyone.stdout and "theirs.csv" in everyone.stdout
    assert everyone.stdout.index(other.id) < everyone.stdout.index(first.id)
    assert "0123456789ab" not in everyone.stdout  # internal key prefixes never shown


@pytest.mark.aws
def test_download_fetches_every_output_from_storage(stack, tmp_path):
    run, original = _completed_run(stack, tmp_path)
    proc = rw("download", run.id, "--out", str(tmp_path / "got"), "--json", env=stack.env())
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout)["files"]
    expected = [
        "notebooks/pipeline.ipynb",
        "notebooks/report.ipynb",
        "report.html",
        "results.csv",
        "summary.json",
    ]
    assert sorted(files) == expected
    for name in expected:
        assert (tmp_path / "got" / name).read_bytes() == (original / name).read_bytes(), name


@pytest.mark.aws
def test_download_of_a_run_without_outputs_says_so(stack, tmp_path):
    run = stack.store.create(tenant="acme", upload_key="uploads/acme/0123456789ab-c.csv")
    proc = rw("download", run.id, "--out", str(tmp_path / "got"), env=stack.env())
    assert proc.returncode == 2 and "QUEUED" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "got").exists()


@pytest.mark.aws
def test_status_and_link_report_as_text_and_json(stack, tmp_path):
    from retainwise.platform.links import verify, verify_portal

    run, _ = _completed_run(stack, tmp_path, "acme", "march.csv")
    status = rw("status", run.id, env=stack.env())
    assert status.returncode == 0 and "march.csv" in status.stdout and COMPLETED in status.stdout
    data = json.loads(rw("status", run.id, "--json", env=stack.env()).stdout)
    assert data["file"] == "march.csv" and data["outputs"]["results.csv"].startswith("s3://")
    link = json.loads(rw("link", run.id, "--expires", "1h", "--json", env=stack.env()).stdout)
    grant = verify("test-secret", link["url"].split("token=")[1], run.id)
    assert grant.tenant == "acme" and 3500 < grant.expires - time.time() <= 3600
    portal = rw("link", "--tenant", "acme", env=stack.env())
    assert portal.returncode == 0 and verify_portal("test-secret", portal.stdout.strip().split("token=")[1])
    wrong = rw("link", run.id, "--tenant", "beta", env=stack.env())
    assert wrong.returncode == 2 and "does not belong" in wrong.stderr
    unknown = rw("status", "nosuchrun", env=stack.env())
    assert unknown.returncode == 2 and "No run 'nosuchrun'" in unknown.stderr


@pytest.mark.aws
@pytest.mark.notebook
@pytest.mark.slow
def test_submit_then_download_end_to_end(stack, tmp_path):
    submitted = rw("submit", str(SAMPLE), "--tenant", "acme", "--json", env=stack.env())
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert (job["file"], job["status"]) == (SAMPLE.name, "QUEUED")
    stack.start_worker("--once")
    assert stack.wait_status(job["run_id"]).status == COMPLETED
    proc = rw("download", job["run_id"], "--out", str(tmp_path / "got"), env=stack.env())
    assert proc.returncode == 0, proc.stderr
    for name in (
        "results.csv",
        "summary.json",
        "report.html",
        "notebooks/pipeline.ipynb",
        "notebooks/report.ipynb",
    ):
        assert (tmp_path / "got" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "got" / "summary.json").read_text())["rows_scored"] == 400


@pytest.mark.aws
@pytest.mark.notebook
@pytest.mark.slow
def test_a_failed_upload_is_named_as_the_user_named_it(stack, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    submitted = rw("submit", str(junk), "--tenant", "acme", env=stack.env())
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    stack.start_worker("--once")
    run = stack.wait_status(run_id)
    prefix = run.upload_key.rsplit("/", 1)[-1].removesuffix("junk.csv")
    assert run.status == "FAILED" and "junk.csv" in run.error and prefix not in run.error, run.error
    status = rw("status", run_id, env=stack.env())
    assert "junk.csv" in status.stdout and prefix not in status.stdout, status.stdout
    # a failed run's record (its executed notebook, error at the top) can be downloaded like any output
    got = rw("download", run_id, "--out", str(tmp_path / "got"), "--json", env=stack.env())
    assert got.returncode == 0, got.stderr
    assert "notebooks/pipeline.ipynb" in json.loads(got.stdout)["files"]
    assert "InputError" in (tmp_path / "got" / "notebooks" / "pipeline.ipynb").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("uploads/acme/1e23a44c4abe-junk.csv", "junk.csv"),
        (
            "uploads/acme/1e23a44c4abe-1e23a44c4abe-twice.csv",
            "1e23a44c4abe-twice.csv",
        ),  # only upload_key's prefix
        ("uploads/acme/report.csv", "report.csv"),
        ("1e23a44c4abe-", "1e23a44c4abe-"),  # nothing after the prefix: nothing to strip
    ],
)
def test_users_are_shown_the_name_they_uploaded(key, shown):
    from retainwise.platform.tenants import upload_key, upload_name

    assert upload_name(key) == shown
    assert upload_name(upload_key("acme", "March export.csv")) == "March_export.csv"  # as stored (safe_name)
