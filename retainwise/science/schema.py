"""The canonical customer schema every upload is mapped onto (the outside contract: README "Scoring a file").

Only ``customer_id`` is required. Each column has a *kind* that fixes its
canonical representation after normalisation:

- ``id``: ``str``
- ``number``: ``float64`` (NaN when missing)
- ``flag``: ``float64`` 1.0 / 0.0 (NaN when missing)
- ``category``: ``str`` drawn from ``categories`` (NaN when missing or unknown)

The *group* is the model's view: every SaaS field (seats, logins, NPS, failed payments, plan, region,
...) is in ``usage`` because the telco training data has none of them, so features.EXCLUDED leaves the
whole group out of the model and telco scoring never sees them; the rules baseline reads them.
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
           aliases=("customerid", "customer", "cust_id", "client_id", "account_id", "id", "account id", "account number",
                    "account no", "acct id", "acct no", "acct number", "customer number", "customer no", "customer ref",
                    "customer reference", "client number", "client ref", "subscriber id", "subscription id", "member id",
                    "user id", "contact id", "company id", "org id", "organization id", "organisation id", "customer key",
                    "crm id", "external id", "record id", "kundennummer")),
    # account
    Column("tenure_months", "number", "account", "months as a customer",
           aliases=("tenure", "months", "tenure_in_months", "months active", "months as customer", "months as a customer",
                    "months subscribed", "months on book", "months with us", "months since signup", "account age",
                    "customer age", "customer tenure", "subscription length", "subscription age", "length of service",
                    "lifetime months", "service months", "days active", "days as customer", "days since signup",
                    "years active", "years as customer", "customer for years", "years with us"), minimum=0, maximum=1200),
    Column("contract", "category", "account", "contract", ("monthly", "annual", "two_year"),
           # not "plan": a plan is a tier (the plan field), not a commitment term. A SaaS billing cycle maps here:
           # monthly, quarterly and semi-annual -> monthly (no commitment of a year; see vocabulary.py)
           aliases=("contract_type", "billing cycle", "billing_cycle", "plan term", "term", "contract term",
                    "contract length", "contract period", "subscription term", "subscription type", "billing frequency",
                    "billing period", "billing interval", "billing term", "commitment", "commitment term",
                    "renewal term", "plan interval", "payment frequency", "agreement", "interval", "billing period unit",
                    "subscription interval", "subscription period", "billing schedule")),
    Column("monthly_charges", "number", "account", "monthly charges",
           aliases=("monthlycharges", "monthly_charge", "monthly_fee", "mrr", "monthly recurring revenue", "monthly revenue",
                    "monthly bill", "monthly amount", "monthly price", "monthly spend", "monthly cost", "monthly payment",
                    "monthly rate", "monthly fees", "monthly subscription", "price per month", "current mrr",
                    "recurring charge", "monthly recurring charge", "arpu"), minimum=0),
    Column("total_charges", "number", "account", "total charges",
           aliases=("totalcharges", "total_charge", "total_spend", "total revenue", "lifetime spend", "lifetime revenue",
                    "lifetime value", "ltv", "clv", "customer lifetime value", "total billed", "total paid",
                    "total spent", "total amount", "total amount billed", "revenue to date", "billed to date",
                    "total invoiced", "cumulative revenue", "cumulative charges"), minimum=0),
    Column("paperless_billing", "flag", "account", "paperless billing", aliases=("paperlessbilling", "paperless", "e billing", "ebilling", "electronic billing", "e invoice", "einvoice",
                    "email invoice", "online billing", "digital invoice", "paperless invoice")),
    Column("payment_method", "category", "account", "payment method",
           ("electronic_check", "mailed_check", "bank_transfer", "credit_card"),
           aliases=("paymentmethod", "payment", "payment type", "pay method", "payment mode", "billing method",
                    "payment channel", "payment option", "autopay method")),
    # people
    Column("gender", "category", "people", "gender", ("female", "male"), aliases=("sex", "gender identity")),
    Column("senior_citizen", "flag", "people", "senior citizen", aliases=("seniorcitizen", "senior", "is senior", "senior flag", "over 65", "pensioner")),
    Column("partner", "flag", "people", "has a partner", aliases=("has_partner", "married", "spouse", "has spouse", "partnered")),
    Column("dependents", "flag", "people", "has dependents", aliases=("has_dependents", "dependants", "has dependants", "children", "has children", "kids")),
    # services
    Column("phone_service", "flag", "services", "phone service", aliases=("phoneservice", "phone", "has phone", "phone line", "landline", "voice service",
                    "telephone")),
    Column("multiple_lines", "category", "services", "multiple lines", ("yes", "no", "no_phone_service"),
           aliases=("multiplelines", "multi line", "multiline", "multiple phone lines", "extra lines")),
    Column("internet_service", "category", "services", "internet service", ("dsl", "fiber_optic", "none"),
           aliases=("internetservice", "internet", "internet type", "broadband", "connection type",
                    "internet plan", "internet connection")),
    Column("online_security", "category", "services", "online security", _INTERNET_ADDON,
           aliases=("onlinesecurity", "security addon", "security add on", "internet security")),
    Column("online_backup", "category", "services", "online backup", _INTERNET_ADDON, aliases=("onlinebackup", "cloud backup", "backup addon")),
    Column("device_protection", "category", "services", "device protection", _INTERNET_ADDON,
           aliases=("deviceprotection", "device insurance", "device cover", "equipment protection")),
    Column("tech_support", "category", "services", "tech support", _INTERNET_ADDON, aliases=("techsupport", "technical support", "support plan", "premium support")),
    Column("streaming_tv", "category", "services", "streaming TV", _INTERNET_ADDON, aliases=("streamingtv", "tv streaming", "streaming television")),
    Column("streaming_movies", "category", "services", "streaming movies", _INTERNET_ADDON,
           aliases=("streamingmovies", "movie streaming", "streaming films", "film streaming")),
    # SaaS account and usage: group "usage" (not in the training data: the model leaves them out)
    Column("seats_purchased", "number", "usage", "seats purchased", minimum=0,
           aliases=("seats", "seat count", "licenses", "licences", "licensed seats", "licenced seats", "purchased seats",
                    "paid seats", "seat limit", "license count", "licence count", "licenses purchased",
                    "licences purchased", "number of seats", "total seats", "seat quantity", "plan quantity",
                    "contracted seats", "subscribed seats", "seats bought", "max seats", "seat cap", "allocated seats",
                    "seat allocation", "licensed users", "license quantity", "licence quantity")),
    Column("seats_used", "number", "usage", "active seats", minimum=0,
           aliases=("active seats", "licenses_used", "licences used", "seats in use", "used seats", "used licenses",
                    "used licences", "active users", "active licenses", "active licences", "user count",
                    "number of users", "users active", "occupied seats", "assigned seats", "seats assigned",
                    "seats occupied", "activated seats")),
    Column("feature_usage_score", "number", "usage", "feature usage score",
           aliases=("usage_score", "feature_usage", "engagement score", "adoption score", "feature adoption score",
                    "product usage score", "activity score", "feature adoption", "product adoption score"), minimum=0),
    Column("last_activity_days_ago", "number", "usage", "days since last activity",
           aliases=("days_since_last_activity", "last_activity", "days_inactive", "days since last login",
                    "days since login", "last login days ago", "days since last use", "last seen days ago",
                    "inactivity days", "recency days", "last login", "last login days", "last seen",
                    "days since last seen", "days since last session"), minimum=0),
    Column("support_tickets", "number", "usage", "support tickets", aliases=("tickets", "num_tickets", "support cases", "tickets opened", "number of tickets",
                    "help desk tickets", "support requests", "open tickets", "ticket count"), minimum=0),
    Column("logins_30d", "number", "usage", "logins in the last 30 days", minimum=0,
           aliases=("logins", "logins last 30 days", "logins in last 30 days", "logins past 30 days",
                    "monthly logins", "login count", "number of logins", "logins this month", "sessions",
                    "sessions 30d", "sessions last 30 days", "monthly sessions", "session count", "logins 30 days",
                    "user logins")),
    Column("nps", "number", "usage", "NPS", minimum=-100, maximum=100,  # a 0-10 survey answer or a -100..100 net score
           aliases=("net promoter score", "nps score", "promoter score", "likelihood to recommend", "nps rating",
                    "nps response", "net promoter", "recommend score", "ltr score", "latest nps")),
    Column("failed_payments", "number", "usage", "failed payments", minimum=0,
           aliases=("payment failures", "failed charges", "declined payments", "dunning count", "past due invoices",
                    "failed payment count", "failed invoices", "declined charges", "card declines",
                    "dunning attempts", "payment declines", "missed payments", "overdue invoices", "unpaid invoices",
                    "failed transactions", "payments failed", "charges failed", "failed billing attempts")),
    Column("plan", "category", "usage", "plan", ("free", "basic", "pro", "enterprise"),
           aliases=("tier", "plan tier", "pricing tier", "subscription plan", "package tier", "edition", "plan name",
                    "pricing plan", "price plan", "product tier", "service tier", "subscription tier", "account tier",
                    "product plan", "membership tier", "product edition", "license tier", "licence tier",
                    "subscription level")),
    Column("integrations", "number", "usage", "integrations connected", minimum=0,
           aliases=("integrations connected", "connected integrations", "connected apps", "apps connected",
                    "number of integrations", "integration count", "active integrations", "installed apps",
                    "apps installed", "integrations enabled", "enabled integrations", "connectors",
                    "connected tools", "installed integrations")),
    Column("region", "category", "usage", "region", ("americas", "emea", "apac"),
           aliases=("sales region", "geo", "territory", "market", "geography", "geo region", "sales territory",
                    "world region", "billing region", "sales geo", "theater", "theatre", "continent")),
    # outcome
    Column("churned", "flag", "outcome", "churned", aliases=("churn", "cancelled", "canceled", "churn_label", "churn flag", "has churned", "exited",
                    "attrition", "is churned")),
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
