"""Print what this interpreter has installed against the dev lock; exit 1 on any difference.

Run by .ci/install.sh after installing, so CI's log starts with the versions the suite tests and a
drift (a package missing, at another version, or installed beside the lock) stops it before any test.
"""

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "infra" / "docker" / "requirements-dev.lock"
# The installer's own tools and the project itself are not in a pip-compile lock.
NOT_LOCKED = {"pip", "setuptools", "wheel", "retainwise"}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    pinned = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pinned[_name(name)] = version
    installed = {_name(d.metadata["Name"]): d.version for d in distributions()}
    missing = sorted(n for n in pinned if n not in installed)
    other = sorted(n for n in pinned if n in installed and installed[n] != pinned[n])
    extra = sorted(n for n in installed if n not in pinned and n not in NOT_LOCKED)
    same = len(pinned) - len(missing) - len(other)
    print(f"{sys.executable}: {same} of {len(pinned)} packages at the versions {LOCK.name} pins")
    for n in missing:
        print(f"  missing   {n}=={pinned[n]}")
    for n in other:
        print(f"  differs   {n}: locked {pinned[n]}, installed {installed[n]}")
    for n in extra:
        print(f"  not in the lock  {n}=={installed[n]}")
    return 1 if missing or other or extra else 0


if __name__ == "__main__":
    sys.exit(main())
