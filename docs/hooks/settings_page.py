"""The settings table, from :class:`retainwise.settings.Settings`: each field's variable, type, default,
limits and description, so the page cannot disagree with what the code reads."""

from __future__ import annotations

import annotated_types
from markdown_cells import cell, code, table
from pydantic_core import PydanticUndefined

from retainwise.settings import Settings

_LIMITS = {annotated_types.Gt: ">", annotated_types.Ge: "≥", annotated_types.Lt: "<", annotated_types.Le: "≤"}


def render() -> str:
    rows = []
    for field in Settings.model_fields.values():
        kind = ", ".join(filter(None, [_type(field.annotation), _limits(field.metadata)]))
        rows.append(
            [code(field.validation_alias), _default(field), cell(kind), cell(field.description or "")]
        )
    return table(["variable", "default", "type", "what"], rows)


def _type(annotation) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("pathlib.", "").replace(" | None", ", optional")


def _default(field) -> str:
    if field.default_factory is not None:
        return cell((field.default_factory.__doc__ or "computed").split(",")[0].strip().rstrip("."))
    if field.default is None or field.default is PydanticUndefined:
        return "unset"
    return code(field.default)


def _limits(metadata: list) -> str:
    parts = []
    for item in metadata:
        for kind, sign in _LIMITS.items():
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, kind.__name__.lower())}")
    return ", ".join(parts)
