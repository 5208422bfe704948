"""The benchmark table: every ``bench/bench_*.py`` with its current figures from ``docs/data/benchmarks.yml``.

The script list comes from ``bench/`` and each script's question from the first paragraph of its own
docstring, so a new benchmark cannot be missing from the page: a script without figures is listed as not
measured yet; figures for a script that no longer exists are a warning, which fails a ``--strict``
build (they would describe something that is gone).
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import yaml
from markdown_cells import code, table

log = logging.getLogger("mkdocs.hooks.bench_page")

#: A script that has no figures yet is listed all the same (it is new, or being written), saying so.
_UNMEASURED = {"result": "*not measured yet*", "target": "", "how": "See the script's docstring."}


def render(root: Path) -> str:
    figures = yaml.safe_load((root / "docs" / "data" / "benchmarks.yml").read_text(encoding="utf-8")) or {}
    scripts = sorted((root / "bench").glob("bench_*.py"))
    rows, details = [], []
    for script in scripts:
        entry = figures.pop(script.name, None) or dict(_UNMEASURED)
        rows.append([code(script.name), _md(_question(script)), _md(entry["result"]), _md(entry["target"])])
        details.append(f"`{script.name}`\n:   {_md(entry['how'])}")
    for name in figures:
        log.warning("docs/data/benchmarks.yml has figures for bench/%s, which does not exist", name)
    heading = "## How each is measured"
    return "\n\n".join([table(["script", "measures", "current result", "target"], rows), heading, *details])


def _question(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    return doc.split("\n\n")[0].replace("``", "`")


def _md(text: str) -> str:
    """Our own Markdown (bold, code) kept, but made safe for a table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
