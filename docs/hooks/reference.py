"""MkDocs hook: the API reference pages list the modules they document when the site is built.

A reference page writes ``<!-- reference: retainwise.science -->`` on a line of its own; the hook
replaces it with one mkdocstrings block per public module found on disk under that package (the
package itself first, then its modules and subpackages depth first, in name order). Modules are split,
renamed and removed often; found this way, the reference follows them with no edit to the site.
Private modules (a leading underscore), ``__main__`` and files that are not importable names (the
database migrations, ``0001_runs.py``) are left out. A package that does not exist fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

MARKER = re.compile(r"^<!-- reference: (?P<package>[\w.]+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, *, page, config, files) -> str:
    root = Path(config["config_file_path"]).resolve().parent
    return MARKER.sub(lambda m: _blocks(root, m["package"], page.file.src_uri), markdown)


def modules(root: Path, package: str) -> list[str]:
    """The public module names of ``package`` (itself included), found under ``root`` without importing."""
    base = root.joinpath(*package.split("."))
    if not (base / "__init__.py").is_file():
        return [package] if base.with_suffix(".py").is_file() else []
    found = [package]
    for path in sorted(base.iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        if name.startswith("_") or not name.isidentifier():
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            found += modules(root, f"{package}.{name}")
        elif path.suffix == ".py":
            found.append(f"{package}.{name}")
    return found


def _blocks(root: Path, package: str, where: str) -> str:
    names = modules(root, package)
    if not names:
        raise PluginError(f"{where}: no package or module {package!r} to document")
    return "\n\n".join(f"::: {name}" for name in names)
