"""Text from the code, made safe for a Markdown table cell: help texts hold ``|``, ``<`` and backticks."""

from __future__ import annotations

import html


def cell(value: object) -> str:
    """``value`` as one table cell: HTML escaped, pipes escaped, newlines folded."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return text.replace("|", "\\|")


def code(value: object) -> str:
    """``value`` as inline code in a table cell (escaped the same way; backticks cannot nest)."""
    text = cell(value).replace("`", "'")
    return f"<code>{text}</code>"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table of cells already made safe with :func:`cell` or :func:`code`."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
