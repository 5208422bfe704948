"""Kernels cannot read the link secret: not in their environment, not through their starter's /proc files.

The end-to-end test starts `retainwise worker` exactly as production does, connects to the warm kernel
its pool holds for the next upload and lets a cell look for the secret.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retainwise.execution import confinement
from retainwise.execution.confinement import confined_argv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc and prctl")

#: Values the runner holds that no kernel may see (the test's stand-ins for production credentials).
AWS = {"AWS_ACCESS_KEY_ID": "AKIDTESTKEY0001", "AWS_SECRET_ACCESS_KEY": "aws-secret-for-the-test"}

#: What the cell reports: its environment, and what it could read of its parent and the runner.
PROBE = """
import json, os
def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except OSError as exc:
        return type(exc).__name__
_caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff:")][0]
print(json.dumps({
    "env": dict(os.environ),
    "ppid": os.getppid(),
    "parent_environ": _read(f"/proc/{os.getppid()}/environ"),
    "runner_environ": _read(f"/proc/{RUNNER_PID}/environ"),
    "runner_mem": _read(f"/proc/{RUNNER_PID}/mem"),
    "cap_eff": _caps,
}))
"""


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _kernel_of(runner_pid: int, timeout: float = 120) -> tuple[int, str]:
    """The pid and connection file of a kernel the runner started (its pool's warm kernel)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in _children(runner_pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            except OSError:
                continue
            if argv[1:3] == ["-m", "ipykernel_launcher"] and "-f" in argv:  # the kernel itself, confined
                connection = argv[argv.index("-f") + 1]
                if Path(connection).is_file():
                    return pid, connection
        time.sleep(0.2)
    raise AssertionError("the runner started no kernel")


def _run_cell(connection: str, code: str) -> dict:
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient(connection_file=connection)
    kc.load_connection_file()
    kc.start_channels()
    try:
        deadline = time.monotonic() + 120
        while True:  # a kernel still starting has no heartbeat yet, which the client takes for dead
            try:
                kc.wait_for_ready(timeout=30)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        printed = []
        reply = kc.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda m: (
                printed.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
            ),
        )
    finally:
        kc.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(printed))


def _start_worker_without_capabilities(stack, env: dict) -> subprocess.Popen:
    """`retainwise worker` as the production image runs it: no capabilities (there, uid 10001)."""
    n = len(stack.workers)
    log = open(stack.workdir / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed by stack.stop_workers
    argv = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", sys.executable, "-m", "retainwise"]
    proc = subprocess.Popen(
        [*argv, "worker", "--poll-wait", "1"], env=env, stderr=log, start_new_session=True
    )
    proc.log_path, proc.log_file = stack.workdir / f"worker-{n}.log", log
    stack.workers.append(proc)
    return proc


@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.parametrize("capabilities", ["as_started", "none"])
def test_a_runner_kernel_cannot_read_the_secret(stack, capabilities):
    """``as_started``: root here, whose kernels only confinement stops; ``none``: the production runner,
    whose kernels only its being non-dumpable stops (a same-user child may read a dumpable parent)."""
    secret = stack.settings.secret
    database = stack.settings.effective_database_url
    env = stack.env(RETAINWISE_DATABASE_URL=database, **AWS)
    if capabilities == "as_started":
        worker = stack.start_worker(env=env)
    elif os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("the runner already runs without capabilities (as_started covers it)")
    else:
        worker = _start_worker_without_capabilities(stack, env)
    # The runner holds them all (passed in its environment just above): there is something to steal.
    kernel_pid, connection = _kernel_of(worker.pid)
    seen = _run_cell(connection, PROBE.replace("RUNNER_PID", str(worker.pid)))

    assert seen["ppid"] == worker.pid  # the kernel is the runner's own child
    env = seen["env"]
    for name in ("RETAINWISE_SECRET", "RETAINWISE_DATABASE_URL", *AWS):
        assert name not in env
    values = "\0".join(env.values())
    for value in (secret, database, *AWS.values()):
        assert value not in values
    # The runner is non-dumpable and the kernel has no capability that would override it.
    assert seen["parent_environ"] == "PermissionError"
    assert seen["runner_environ"] == "PermissionError"
    assert seen["runner_mem"] == "PermissionError"
    assert int(seen["cap_eff"], 16) == 0
    assert worker.poll() is None and kernel_pid in _children(worker.pid)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ}
    )


#: A parent holding a secret that starts a child, as the runner starts its kernels; the child reports.
PARENT = """
import os, subprocess, sys
from retainwise.execution.confinement import confined_argv, forbid_inspection
if {forbid}:
    forbid_inspection()
child = [sys.executable, "-c", "import os; p=os.getppid(); print(open(f'/proc/{{p}}/environ','rb').read().count(b'parent-secret'))"]
argv = confined_argv(child) if {confine} else child
env = {{k: v for k, v in os.environ.items() if k != "PARENT_SECRET"}}
print(subprocess.run(argv, env=env, capture_output=True, text=True).stdout.strip() or "refused")
"""


def _parent(forbid: bool, confine: bool) -> str:
    """What a child of a parent holding PARENT_SECRET reads of it."""
    env = {**os.environ, "PARENT_SECRET": "parent-secret"}
    argv = [sys.executable, "-c", PARENT.format(forbid=forbid, confine=confine)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_child_reads_its_parent_s_environment_unless_both_measures_are_taken():
    assert _parent(forbid=False, confine=False) == "1"  # a child of the same user reads it
    if os.geteuid() != 0:  # production's runner (uid 10001, no capabilities): non-dumpable is what refuses
        assert _parent(forbid=True, confine=False) == "refused"
    else:  # root keeps CAP_SYS_PTRACE, which overrides non-dumpable: its kernels must be confined too
        assert _parent(forbid=True, confine=False) == "1"
    assert _parent(forbid=True, confine=True) == "refused"


def test_a_confined_process_has_no_capabilities_and_cannot_gain_any():
    argv = confined_argv(
        [
            "python",
            "-c",
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs'))])",
        ]
    )
    assert argv[:4] == [sys.executable, "-I", "-S", confinement.__file__]
    assert argv[4] == sys.executable  # "python" resolved as jupyter_client resolves a kernel's argv[0]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cap_eff, cap_bnd, no_new_privs = eval(done.stdout)  # noqa: S307 - our own child's list of strings
    assert int(cap_eff, 16) == 0 and no_new_privs == "1"
    if os.geteuid() == 0:
        assert int(cap_bnd, 16) == 0  # root's next exec cannot refill them


def test_forbid_inspection_makes_the_process_non_dumpable():
    code = (
        "from retainwise.execution.confinement import forbid_inspection, is_dumpable\n"
        "before = is_dumpable(); forbid_inspection(); print(before, is_dumpable())"
    )
    done = _python(code)
    assert done.stdout.split() == ["True", "False"], done.stderr
