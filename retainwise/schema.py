"""The canonical customer schema every upload is mapped onto (DESIGN.md).

Only ``customer_id`` is required. Each column has a *kind* that fixes its
canonical representation after normalisation:

- ``id``: ``str``
- ``number``: ``float64`` (NaN when missing)
- ``flag``: ``float64`` 1.0 / 0.0 (NaN when missing)
- ``category``: ``str`` drawn from ``categories`` (NaN when missing or unknown)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | number | flag | category
    group: str
    label: str  # human wording used in explanations ("months as a customer")
    categories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())
    minimum: float | None = None
    maximum: float | None = None


_YN = ("yes", "no")
_INTERNET_ADDON = ("yes", "no", "no_internet_service")

COLUMNS: tuple[Column, ...] = (
    # identity
    Column("customer_id", "id", "identity", "customer id",
           aliases=("customerid", "customer", "cust_id", "client_id", "account_id", "id")),
    # account
    Column("tenure_months", "number", "account", "months as a customer",
           aliases=("tenure", "months", "tenure_in_months"), minimum=0, maximum=1200),
    Column("contract", "category", "account", "contract", ("monthly", "annual", "two_year"),
           aliases=("contract_type", "plan")),
    Column("monthly_charges", "number", "account", "monthly charges",
           aliases=("monthlycharges", "monthly_charge", "monthly_fee"), minimum=0),
    Column("total_charges", "number", "account", "total charges",
           aliases=("totalcharges", "total_charge", "total_spend"), minimum=0),
    Column("paperless_billing", "flag", "account", "paperless billing", aliases=("paperlessbilling",)),
    Column("payment_method", "category", "account", "payment method",
           ("electronic_check", "mailed_check", "bank_transfer", "credit_card"),
           aliases=("paymentmethod", "payment")),
    # people
    Column("gender", "category", "people", "gender", ("female", "male"), aliases=("sex",)),
    Column("senior_citizen", "flag", "people", "senior citizen", aliases=("seniorcitizen", "senior")),
    Column("partner", "flag", "people", "has a partner", aliases=("has_partner",)),
    Column("dependents", "flag", "people", "has dependents", aliases=("has_dependents",)),
    # services
    Column("phone_service", "flag", "services", "phone service", aliases=("phoneservice",)),
    Column("multiple_lines", "category", "services", "multiple lines", ("yes", "no", "no_phone_service"),
           aliases=("multiplelines",)),
    Column("internet_service", "category", "services", "internet service", ("dsl", "fiber_optic", "none"),
           aliases=("internetservice", "internet")),
    Column("online_security", "category", "services", "online security", _INTERNET_ADDON,
           aliases=("onlinesecurity",)),
    Column("online_backup", "category", "services", "online backup", _INTERNET_ADDON, aliases=("onlinebackup",)),
    Column("device_protection", "category", "services", "device protection", _INTERNET_ADDON,
           aliases=("deviceprotection",)),
    Column("tech_support", "category", "services", "tech support", _INTERNET_ADDON, aliases=("techsupport",)),
    Column("streaming_tv", "category", "services", "streaming TV", _INTERNET_ADDON, aliases=("streamingtv",)),
    Column("streaming_movies", "category", "services", "streaming movies", _INTERNET_ADDON,
           aliases=("streamingmovies",)),
    # SaaS usage
    Column("seats_used", "number", "usage", "seats used", aliases=("seats", "licenses_used"), minimum=0),
    Column("feature_usage_score", "number", "usage", "feature usage score",
           aliases=("usage_score", "feature_usage"), minimum=0),
    Column("last_activity_days_ago", "number", "usage", "days since last activity",
           aliases=("days_since_last_activity", "last_activity", "days_inactive"), minimum=0),
    Column("support_tickets", "number", "usage", "support tickets", aliases=("tickets", "num_tickets"), minimum=0),
    # outcome
    Column("churned", "flag", "outcome", "churned", aliases=("churn", "cancelled", "canceled", "churn_label")),
)

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
