"""Processes seen through /proc: a process tree, its resident memory, a server's kernels.

Shared by the benchmarks that measure a process tree (bench_scale, bench_viewers) and the report-server
tests (tests/_report_server.py). Linux only, like everything measured here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def children_by_parent() -> dict[int, list[int]]:
    """Every process's children, from one scan of /proc (parent pid -> child pids)."""
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
            parent = int(stat.rsplit(")", 1)[1].split()[1])  # after the name, which may hold anything
        except (OSError, ValueError, IndexError):
            continue
        found.setdefault(parent, []).append(int(entry))
    return found


def children(pid: int) -> list[int]:
    return children_by_parent().get(pid, [])


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    by_parent, found, todo = children_by_parent(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += by_parent.get(p, [])
    return found


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of ``pids`` together (processes gone meanwhile count nothing)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def kernel_pids(server: int) -> list[int]:
    """The server's kernels: its child processes running ipykernel."""
    out = []
    for pid in children(server):
        try:
            if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            continue
    return out


def settled_kernels(server: int, timeout: float = 60, quiet: float = 3, poll: float = 0.3) -> int:
    """The server's kernel count once it has not changed for ``quiet`` seconds (the last one seen after
    ``timeout``)."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(kernel_pids(server))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return n
        time.sleep(poll)
    return last
