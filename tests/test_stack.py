"""`retainwise up`'s Platform: supervision of what it started, lost uploads, the settings it shares."""

from __future__ import annotations

import os
import signal
import stat
import time

import pytest

from retainwise.errors import ConfigError
from retainwise.platform.runs import FAILED, QUEUED, RunStore
from retainwise.platform.stack import UPLOAD_GONE, Platform
from retainwise.settings import SETTINGS_FILE, Settings

pytestmark = [pytest.mark.aws, pytest.mark.slow]


@pytest.fixture
def platform(tmp_path):
    p = Platform(
        Settings(home=tmp_path / "home", run_timeout_s=50, visibility_timeout_s=70),
        runners=1,
        voila=False,
        worker_args=["--poll-wait", "1"],
    )
    yield p
    p.stop(timeout=30)


def test_a_killed_runner_is_started_again(platform):
    platform.start()
    runner = platform.children[0].proc
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(10)
    assert not platform.alive()
    assert platform.check() == [f"runner-0 (exit code {-signal.SIGKILL})"]
    assert platform.children[0].proc.pid != runner.pid and platform.alive()
    assert platform.check() == []


def test_a_dead_endpoint_stops_the_stack_with_one_clear_error(platform):
    platform.start()
    os.kill(platform.moto.proc.pid, signal.SIGKILL)
    platform.moto.proc.wait(10)
    with pytest.raises(ConfigError, match="endpoint stopped .* in memory") as info:
        platform.check()
    assert "\n" not in info.value.message


def test_runs_whose_uploads_were_lost_with_an_earlier_stack_are_failed(platform):
    store = RunStore.from_settings(platform.base)
    lost = store.create(tenant="acme", upload_key="uploads/acme/abc-old.csv", upload_etag='"e"')
    assert lost.status == QUEUED
    platform.start()
    assert platform.lost == [lost.id]
    run = store.get(lost.id)
    assert run.status == FAILED and run.error == UPLOAD_GONE


def test_settings_file_is_private_and_carries_the_queue_timeouts(platform):
    platform.start()
    path = platform.settings.home / SETTINGS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings.from_env({"RETAINWISE_HOME": str(platform.settings.home)})
    assert (again.run_timeout_s, again.visibility_timeout_s) == (50, 70)
    assert again.queue_url == platform.settings.queue_url and again.secret == platform.settings.secret


def test_runner_kernels_get_no_secrets(platform):
    """Issue 13.18: the pool's kernels (which parse untrusted files) have no credentials in their environment."""
    platform.start()
    runner = platform.children[0].proc
    deadline, kernels = time.monotonic() + 90, []
    while time.monotonic() < deadline and not kernels:
        kernels = [pid for pid in _descendants(runner.pid) if b"ipykernel" in _read(f"/proc/{pid}/cmdline")]
        time.sleep(0.5)
    assert kernels, "the runner started no kernel"
    runner_env = _environ(runner.pid)
    assert (
        "RETAINWISE_SECRET" in runner_env
    )  # the runner itself has it (it signs nothing, but reads the store)
    for pid in kernels:
        env = _environ(pid)
        assert not {k for k in env if k.startswith("AWS_")}, env.keys()
        assert "RETAINWISE_SECRET" not in env and "RETAINWISE_DATABASE_URL" not in env


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _environ(pid: int) -> dict[str, str]:
    pairs = [e.split(b"=", 1) for e in _read(f"/proc/{pid}/environ").split(b"\0") if b"=" in e]
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat_line = _read(f"/proc/{entry}/stat").decode(errors="replace")
            if stat_line:
                ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def test_up_rides_out_a_run_store_outage(platform, monkeypatch, capsys):
    import threading

    from retainwise.cli import up
    from retainwise.errors import StorageError

    platform.start()
    stop, calls, real = threading.Event(), [], RunStore.recent

    def flaky(self, limit=50):
        calls.append(limit)
        if len(calls) <= 2:
            raise StorageError("The run store failed while listing runs: OperationalError.")
        stop.set()
        return real(self, limit)

    monkeypatch.setattr(RunStore, "recent", flaky)
    assert up._watch(platform, stop) == 0  # kept supervising; before, `up` crashed here
    assert len(calls) == 3 and "(retrying)" in capsys.readouterr().err


def test_up_runs_the_sample_and_exits(tmp_path):
    """`retainwise up --exit-after-sample`, as a user runs it: the sample COMPLETED, its links printed, exit 0."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAINWISE_", "AWS_"))}
    env["RETAINWISE_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "up", "--exit-after-sample", "--no-voila", "--runners", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tenant sample  COMPLETED" in done.stdout and "  report   http://127.0.0.1:" in done.stdout
    assert "Traceback" not in done.stderr
