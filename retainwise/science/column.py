"""One field of the canonical schema: its name, kind, group, wording, allowed values and aliases.

The fields themselves are data (fields_customer.py, fields_saas.py); schema.py assembles them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A canonical field. ``kind`` fixes its representation after normalisation (schema.py);
    ``aliases`` are the header spellings the mapper knows it by; ``minimum``/``maximum`` bound a
    number's plausible values (validation)."""

    name: str
    kind: str  # id | number | flag | category
    group: str
    label: str  # human wording used in explanations ("months as a customer")
    categories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())
    minimum: float | None = None
    maximum: float | None = None
