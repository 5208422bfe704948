"""Plain language for a business owner: human labels, values, impacts in points, dates, file names.

Nothing here shows a field name, log-odds or SHAP: the page speaks in "Months as a customer: 4",
"Internet: fibre optic", "+12 pts" and "27 Nov 2026, 09:59".
"""

from __future__ import annotations

import math
from datetime import datetime

from retainwise.platform.tenants import upload_name

LABELS = {
    "customer_id": "Customer",
    "tenure_months": "Months as a customer",
    "contract": "Contract",
    "monthly_charges": "Monthly charges",
    "total_charges": "Total charges",
    "paperless_billing": "Paperless billing",
    "payment_method": "Payment method",
    "gender": "Gender",
    "senior_citizen": "Senior citizen",
    "partner": "Has a partner",
    "dependents": "Has dependents",
    "phone_service": "Phone service",
    "multiple_lines": "Multiple lines",
    "internet_service": "Internet",
    "online_security": "Online security",
    "online_backup": "Online backup",
    "device_protection": "Device protection",
    "tech_support": "Tech support",
    "streaming_tv": "Streaming TV",
    "streaming_movies": "Streaming movies",
    "seats_purchased": "Seats purchased",
    "seats_used": "Active seats",
    "feature_usage_score": "Feature usage score",
    "last_activity_days_ago": "Days since last activity",
    "support_tickets": "Support tickets",
    "logins_30d": "Logins in the last 30 days",
    "nps": "NPS",
    "failed_payments": "Failed payments",
    "plan": "Plan",
    "integrations": "Integrations connected",
    "region": "Region",
    "churned": "Churned",
}
VALUES = {
    "monthly": "month to month",
    "annual": "one year",
    "two_year": "two years",
    "fiber_optic": "fibre optic",
    "dsl": "DSL",
    "none": "none",
    "electronic_check": "electronic cheque",
    "mailed_check": "cheque by post",
    "bank_transfer": "bank transfer",
    "credit_card": "credit card",
    "no_internet_service": "no internet",
    "no_phone_service": "no phone line",
    "yes": "yes",
    "no": "no",
    "free": "free",
    "basic": "basic",
    "pro": "pro",
    "enterprise": "enterprise",
    "americas": "Americas",
    "emea": "EMEA",
    "apac": "APAC",
}
MONEY = {"monthly_charges", "total_charges"}
#: Factors moving the probability by less than this (in points) are not worth a line.
MIN_POINTS = 1.0


def label(feature: str) -> str:
    """The human label of a canonical field (``tenure_months`` -> ``Months as a customer``); a tenant's own
    column (``own:<header>``, what its own model reads) by its header, as the tenant wrote it."""
    if str(feature).startswith("own:"):
        return str(feature)[len("own:") :]
    return LABELS.get(feature, str(feature).replace("_", " ").capitalize())


def value(feature: str, raw) -> str:
    """A field's value as a person says it: ``fiber_optic`` -> ``fibre optic``, 1.0 -> ``yes``, $ for money."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return "unknown"
    if feature in MONEY:
        try:
            return f"${float(raw):,.2f}"
        except (TypeError, ValueError):
            return str(raw)
    if isinstance(raw, bool) or (isinstance(raw, (int, float)) and feature in _FLAGS):
        return "yes" if float(raw) >= 0.5 else "no"
    if isinstance(raw, float):
        return f"{raw:,.0f}" if raw == int(raw) else f"{raw:,.1f}"
    return VALUES.get(str(raw), str(raw).replace("_", " "))


_FLAGS = {"paperless_billing", "senior_citizen", "partner", "dependents", "phone_service", "churned"}


def fact(feature: str, raw) -> str:
    """``Months as a customer: 4``."""
    return f"{label(feature)}: {value(feature, raw)}"


def points(delta: float) -> str:
    """A change of churn probability in percentage points: ``+12 pts``."""
    pts = round(delta * 100)
    return f"{pts:+d} pts" if pts else "±0 pts"


def when(iso: str | datetime | None) -> str:
    """``27 Nov 2026, 09:59`` (UTC, as stored), or "" when unknown."""
    if not iso:
        return ""
    try:
        moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    return moment.strftime("%-d %b %Y, %H:%M")


def file_name(key_or_name: str | None) -> str:
    """The uploaded file's own name: ``uploads/acme/0123456789ab-customers.csv`` -> ``customers.csv``."""
    return upload_name(str(key_or_name or ""))


def join(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""
