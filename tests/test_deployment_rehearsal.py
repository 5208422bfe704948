"""A deployment rehearsal (issue 25, item 1): both services started as their images start them, then checked
exactly as AWS checks them.

Nothing here is restated by hand: the commands are the images' CMD (infra/docker/*.Dockerfile), the
environment is the images' ENV (paths moved under a temporary directory, the report port moved to a free
one through the setting both the server and the check read), the container checks are the task
definitions' ``healthCheck.command`` (infra/ecs.tf, with the image's ``COPY`` of healthcheck.py mapped back to
the repository), and the load balancer's check is the target group's ``path`` and ``matcher`` (infra/alb.tf),
sent to the server's non-loopback address as the load balancer would reach the task. ECS gives a container
``startPeriod + interval * retries`` seconds to turn healthy; the rehearsal waits no longer than that.
"""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retainwise.platform.embedded import free_port

from ._stack import Stack
from .test_infra import DOCKER, ROOT, _block, _dockerfile, tf

pytestmark = [pytest.mark.aws, pytest.mark.slow]

PORT_VARIABLE = "RETAINWISE_REPORT_PORT"


def _copied_files(service: str) -> dict[str, Path]:
    """Image path -> repository file, from the Dockerfile's final-stage ``COPY src dest`` of single files."""
    text = (DOCKER / f"{service}.Dockerfile").read_text(encoding="utf-8")
    return {dest: ROOT / src for src, dest in re.findall(r"^COPY (infra/\S+) (/\S+)$", text, re.M)}


def _local(argv: list[str], service: str) -> list[str]:
    """An image's command for this machine: its python and console scripts, its copied files."""
    files, bindir = _copied_files(service), Path(sys.executable).parent
    local = []
    for arg in argv:
        if arg == "python":
            local.append(sys.executable)
        elif arg in files:
            local.append(str(files[arg]))
        elif (bindir / arg).exists() and not local:
            local.append(str(bindir / arg))
        else:
            local.append(arg)
    return local


def _container_env(stack: Stack, service: str, root: Path, port: int) -> dict[str, str]:
    """The image's ENV over the stack's settings; the image's home and /tmp paths moved under ``root``."""
    env = stack.env()
    for key, value in _dockerfile(service)["ENV"].items():
        if key == "PATH" or key == "RETAINWISE_HOME":  # the venv's own PATH; the stack's home (the volume)
            continue
        if value.startswith(("/home/", "/tmp/")):
            value = str(root / value.lstrip("/"))
            Path(value).mkdir(parents=True, exist_ok=True)
        env[key] = value
    env[PORT_VARIABLE] = str(port)
    env.pop("PYTHONWARNINGS", None)
    return env


def _health(service: str) -> tuple[list[str], float]:
    """(the task definition's health command without ``CMD``, the seconds ECS allows to turn healthy)."""
    container = tf().locals[f"{service}_container"]
    check = container["healthCheck"]
    command = tf().locals["health_commands"][service]
    assert command[0] == "CMD" and check["command"] == f"${{local.health_commands.{service}}}"
    return command[1:], check["startPeriod"] + check["interval"] * check["retries"]


def _healthy(command: list[str], env: dict, budget_s: float, proc: subprocess.Popen) -> str:
    """Run the health command until it exits 0 (returns its stderr of the last failure, for messages)."""
    deadline, last = time.monotonic() + budget_s, ""
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the service exited"
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return ""
        last = done.stderr.strip()
        time.sleep(2)
    return last or "never healthy"


def _host_address() -> str:
    """This machine's address on its default route: where a load balancer would reach the task."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing interface
        address = s.getsockname()[0]
    assert not address.startswith("127."), "no non-loopback address to reach the server on"
    return address


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - closed after the process stops
    proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_file = out
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    proc.log_file.close()


@pytest.fixture
def deployed(moto_server, tmp_path):
    """Both services started from their images' CMD and ENV against one stack: {service: (proc, env)}."""
    stack = Stack.create(moto_server.url, tmp_path)
    port = free_port()
    started = {}
    try:
        for service in ("runner", "reports"):
            image = _dockerfile(service)
            env = _container_env(stack, service, tmp_path / service, port)
            command = _local(image["ENTRYPOINT"] + image["CMD"], service)
            started[service] = (_start(command, env, tmp_path / f"{service}.log"), env)
        yield {"port": port, "stack": stack, **started}
    finally:
        for proc, _ in started.values():
            _stop(proc)


def _alb_probe(address: str, port: int, path: str) -> int:
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.request("GET", path, headers={"User-Agent": "ELB-HealthChecker/2.0"})
        return conn.getresponse().status
    finally:
        conn.close()


def _matches(matcher: str, status: int) -> bool:
    for part in str(matcher).split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


def test_both_services_pass_the_checks_aws_runs(deployed):
    for service in ("runner", "reports"):
        proc, env = deployed[service]
        command, budget = _health(service)
        problem = _healthy(_local(command, service), env, budget, proc)
        assert not problem, f"{service} never passed its ECS health check: {problem}"

    group = tf().resource("aws_lb_target_group", "reports")
    check, address = _block(group, "health_check"), _host_address()
    assert (
        str(group["port"]) in _dockerfile("reports")["EXPOSE"]
    )  # the rehearsal moved that port to a free one
    for _ in range(int(check["healthy_threshold"])):  # the load balancer wants this many in a row
        status = _alb_probe(address, deployed["port"], check["path"])
        assert _matches(check["matcher"], status), f"ALB check {check['path']} answered {status}"
    assert _alb_probe(address, deployed["port"], "/") == 403  # the page itself still wants a token
