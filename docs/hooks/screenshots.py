"""MkDocs hook: the screenshots in the site are the ones the browser tests of this commit took.

Pages show real pages of the product as ``![...](../screenshots/NAME.png)``. Nothing under
``docs/screenshots/`` is committed: the Chromium tests save those pictures in ``test-artifacts/``
(``tests/_report_server.py`` ``screenshot``), and this hook adds each picture a page names to the
site from there. The build fails when one is missing, or older than the test session: ``.ci/test.sh``
writes ``test-artifacts/.session-started`` before pytest, so a picture an earlier session left behind
cannot pass for this commit's. Without that file (a local ``mkdocs serve`` after running a few tests)
only presence is checked. ``RETAINWISE_SCREENSHOTS`` points at another folder (the docs test builds
the site against placeholder pictures it makes in a temporary folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

FOLDER = "screenshots"
STAMP = ".session-started"
REFERENCE = re.compile(rf"\b{FOLDER}/(?P<name>[\w.-]+\.png)\b")


def source(root: Path) -> Path:
    """Where the pictures come from: ``RETAINWISE_SCREENSHOTS``, else ``test-artifacts/``."""
    return Path(os.environ.get("RETAINWISE_SCREENSHOTS") or root / "test-artifacts")


def named(docs_dir: Path) -> set[str]:
    """Every screenshot a page of the site names."""
    return {m["name"] for page in docs_dir.rglob("*.md") for m in REFERENCE.finditer(page.read_text("utf-8"))}


def on_files(files, *, config):
    root = Path(config["config_file_path"]).resolve().parent
    folder = source(root)
    stamp = folder / STAMP
    since = stamp.stat().st_mtime if stamp.is_file() else None
    problems = []
    for name in sorted(named(Path(config["docs_dir"]))):
        picture = folder / name
        if not picture.is_file():
            problems.append(f"{name} is missing")
        elif since is not None and picture.stat().st_mtime < since:
            problems.append(f"{name} is older than this test session")
        else:
            files.append(_file(picture, f"{FOLDER}/{name}", config))
    if problems:
        raise PluginError(
            f"screenshots in {folder}: " + "; ".join(problems) + ". The browser tests take them: run the "
            "whole test suite (.ci/test.sh) before building the site."
        )
    return files


def _file(picture: Path, uri: str, config) -> File:
    return File.generated(config, uri, abs_src_path=str(picture))
