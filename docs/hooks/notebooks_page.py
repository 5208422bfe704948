"""The notebooks and their parameters, from the notebooks themselves.

Each notebook under ``notebooks/`` has one cell tagged ``parameters`` of typed assignments
(``name: type = default  # what``), which Papermill overrides. This lists them per notebook with the
notebook's title (its first heading), so the page follows the notebooks as they change. A comment on
the assignment's lines, or on the line just above it, is the parameter's description.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from pathlib import Path

from markdown_cells import cell, code, table


def render(root: Path) -> str:
    parts = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        parts.append(f"### `{path.name}`: {cell(_title(cells))}")
        source = next(
            (_text(c) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None
        )
        parts.append(_parameters(source) if source else "No parameters.")
    return "\n\n".join(parts)


def _text(c: dict) -> str:
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


def _title(cells: list[dict]) -> str:
    for c in cells:
        if c["cell_type"] == "markdown":
            for line in _text(c).splitlines():
                if line.startswith("#"):
                    return line.lstrip("# ").strip()
    return ""


def _parameters(source: str) -> str:
    comments = {
        tok.start[0]: tok.string.lstrip("# ").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    rows = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            lines = range(node.lineno, node.end_lineno + 1)
            what = " ".join(comments[n] for n in lines if n in comments) or comments.get(node.lineno - 1, "")
            default = ast.get_source_segment(source, node.value) if node.value else ""
            rows.append(
                [code(node.target.id), code(ast.unparse(node.annotation)), code(_fold(default)), cell(what)]
            )
    return table(["parameter", "type", "default", "what"], rows)


def _fold(text: str) -> str:
    """A default written over several lines (to hold its comment) as one expression."""
    try:
        return ast.unparse(ast.parse(text, mode="eval"))
    except SyntaxError:
        return " ".join(text.split())
