"""What keeps a notebook kernel away from the secrets of the process that started it.

A kernel parses files strangers upload, so it is treated as hostile once it has started. Three
measures, each closing one way back to the link secret, the database URL or AWS credentials:

- its environment holds none of them (the starter strips them: ``runner.context.kernel_environment``);
- the process that starts kernels is made non-dumpable (:func:`forbid_inspection`, the runner calls it
  first thing): the kernel, its child, can no longer read ``/proc/<ppid>/environ`` or
  ``/proc/<ppid>/mem``, which the kernel owns only because it runs as the same user;
- the kernel itself starts confined (:func:`confined_argv` puts ``python -I -S <this file>`` in front
  of its command): no capabilities at all and ``no_new_privs``, then ``exec`` of the real kernel.
  Without this a kernel started by root (a developer's machine, CI, a container without ``USER``)
  would keep ``CAP_SYS_PTRACE`` and read a non-dumpable parent anyway; in the production images
  (uid 10001, no capabilities) it changes nothing and non-dumpable is what refuses.

Linux only: on other systems the functions do nothing (there is no ``/proc/<pid>/environ`` to guard).
A failure to confine is reported, never hidden: :func:`confine` raises OSError and the kernel does not
start. Not covered here: files the kernel's user may read. ``retainwise up`` keeps the secret in the
home's ``settings.env`` (mode 0600, the same user), so on a developer's machine a kernel could still
read it there; the containers have no such file (the secret reaches the runner's environment only).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAP_SETPCAP = 8
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _prctl(libc, option: int, arg: int) -> None:
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}, {arg}): {os.strerror(err)}")


def forbid_inspection() -> bool:
    """Make this process non-dumpable: its ``/proc/<pid>/environ``, ``mem`` and ``fd`` become unreadable to
    processes of the same user (its kernels) and it cannot be ptraced by them. True when done (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    _prctl(_libc(), PR_SET_DUMPABLE, 0)
    return True


def is_dumpable() -> bool:
    """Whether this process can still be inspected by others of its user (for tests and health checks)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(_libc().prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))


def _has_setpcap() -> bool:
    """Whether this process may shrink its capability bounding set (root or CAP_SETPCAP)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << CAP_SETPCAP))
    return False


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
            return int(f.read())
    except OSError:
        return 63


def confine() -> None:
    """Drop every capability of this process, for good (also across ``exec``); OSError when it cannot."""
    if not sys.platform.startswith("linux"):
        return
    libc = _libc()
    _prctl(libc, PR_SET_NO_NEW_PRIVS, 1)  # no setuid binary or file capability gives any back
    if _has_setpcap():  # root's exec would refill the capabilities from the bounding set: empty it
        for cap in range(_last_cap() + 1):
            _prctl(libc, PR_CAPBSET_DROP, cap)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()  # all zero: no effective, permitted or inheritable (hence no ambient) ones
    if libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")


def confined_argv(argv: list[str]) -> list[str]:
    """``argv`` (a kernel's command) started through :func:`main`; unchanged off Linux."""
    if not sys.platform.startswith("linux"):
        return list(argv)
    first = argv[0]
    if first in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
        first = sys.executable  # as jupyter_client would resolve it; it only does so for argv[0]
    # This file run as a script, isolated and without site-packages: it needs only the standard library,
    # so a kernel start pays a bare interpreter start for it (~40 ms CPU), not the project's imports.
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), first, *argv[1:]]


def main(argv: list[str]) -> None:
    """Confine this process, then become ``argv`` (the kernel)."""
    confine()
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
