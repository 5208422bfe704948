"""HTML of the report's pieces, from the Jinja2 templates in ``templates/report/`` (autoescaped).

Every text a business gave us (tenant, file name, headers, values) reaches the page through
these templates, so autoescaping is what keeps it from running as markup.
"""

from __future__ import annotations

import functools

from retainwise.resources import templates_dir


@functools.cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "report")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(money=money, pct=pct, points=points)
    return env


def render(name: str, **context) -> str:
    """The template ``name`` (e.g. ``headline.html.j2``) rendered with ``context``.

    Raises jinja2's ``TemplateNotFound`` or ``UndefinedError`` on a programming error.
    """
    return _environment().get_template(name).render(**context)


def warm() -> None:
    """Compile every report template (a preheated kernel does it before the request)."""
    env = _environment()
    for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        env.get_template(name)


def money(value) -> str:
    """``$1,234`` (whole dollars), or ``n/a``."""
    if value is None or value != value:
        return "n/a"
    return f"${float(value):,.0f}"


def pct(value, digits: int = 0) -> str:
    """A share as a percentage: ``0.273`` -> ``27%``."""
    if value is None or value != value:
        return "n/a"
    return f"{float(value):.{digits}%}"


def points(value) -> str:
    """A change of probability in percentage points: ``0.12`` -> ``+12 pts``."""
    pts = round(float(value) * 100)
    return f"{pts:+d} pts" if pts else "±0 pts"
