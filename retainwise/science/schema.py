"""The canonical customer schema every upload is mapped onto (the outside contract: the docs' "Uploads and mapping" page).

Only ``customer_id`` is required. Each column has a *kind* that fixes its
canonical representation after normalisation:

- ``id``: ``str``
- ``number``: ``float64`` (NaN when missing)
- ``flag``: ``float64`` 1.0 / 0.0 (NaN when missing)
- ``category``: ``str`` drawn from ``categories`` (NaN when missing or unknown)

The fields are data, kept apart (column.py: what a field is; fields_customer.py and fields_saas.py:
the fields); this module assembles them and answers questions about them.

The *group* is the model's view: every SaaS field (seats, logins, NPS, failed payments, plan, region,
...) is in ``usage`` because the telco training data has none of them, so features.EXCLUDED leaves the
whole group out of the model and telco scoring never sees them; the rules baseline reads them.
"""

from __future__ import annotations

from retainwise.science.column import Column
from retainwise.science.fields_customer import ACCOUNT, IDENTITY, PEOPLE, SERVICES
from retainwise.science.fields_saas import OUTCOME, USAGE

COLUMNS: tuple[Column, ...] = (*IDENTITY, *ACCOUNT, *PEOPLE, *SERVICES, *USAGE, *OUTCOME)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
REQUIRED: tuple[str, ...] = ("customer_id",)
#: Everything the model may use (all but the id and the outcome).
FEATURES: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.group not in ("identity", "outcome"))
#: The five columns almost every business can export (DESIGN "core" feature set).
CORE: tuple[str, ...] = ("customer_id", "tenure_months", "monthly_charges", "total_charges", "contract")


def column(name: str) -> Column:
    """The canonical column called ``name`` (KeyError if there is none)."""
    return BY_NAME[name]
