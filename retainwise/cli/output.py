"""Printing for the commands: JSON on stdout for ``--json``, plain aligned tables otherwise."""

from __future__ import annotations

import json
import sys


def print_json(data) -> None:
    """``data`` as indented JSON on stdout (dates and paths as text). Raises TypeError for other objects."""
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    print()


def table(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as a text table with a header of ``columns``, each column as wide as its widest cell."""
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
