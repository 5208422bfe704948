"""The words a business's export uses for missing values, yes/no flags, each category's values and in headers.

Data, not logic: :mod:`retainwise.science.normalise` applies the value tables (junk tokens become missing,
flags become 1/0, category spellings become the schema's values), :mod:`retainwise.science.mapping` the
header words (units, filler, things that are not the id or not in the schema at all). Keys are lower-cased, stripped text;
category keys have brackets dropped and runs of spaces, dashes, underscores, slashes, dots and commas
made one space (``normalise._spelling_key``).
"""

from __future__ import annotations

JUNK = frozenset(
    {
        "",
        "na",
        "n/a",
        "n.a.",
        "nan",
        "none",
        "null",
        "nil",
        "-",
        "--",
        "---",
        "?",
        "??",
        "unknown",
        "unk",
        "#n/a",
        "#na",
        "#value!",
        "#ref!",
        "#div/0!",
        "#num!",
        "#null!",
        "#name?",
        "missing",
        "not available",
        "not applicable",
        "undefined",
        "(blank)",
        "blank",
        ".",
        "tbd",
        "n.v.",
        "k.a.",
    }
)
FLAGS = {
    "yes": 1.0,
    "y": 1.0,
    "true": 1.0,
    "t": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "on": 1.0,
    "x": 1.0,
    "ja": 1.0,
    "oui": 1.0,
    "si": 1.0,
    "sí": 1.0,
    "no": 0.0,
    "n": 0.0,
    "false": 0.0,
    "f": 0.0,
    "0": 0.0,
    "0.0": 0.0,
    "off": 0.0,
    "nein": 0.0,
    "non": 0.0,
}
_YES_NO = {
    "yes": "yes",
    "y": "yes",
    "true": "yes",
    "t": "yes",
    "1": "yes",
    "1.0": "yes",
    "on": "yes",
    "no": "no",
    "n": "no",
    "false": "no",
    "f": "no",
    "0": "no",
    "0.0": "no",
    "off": "no",
}
_ADDON = {
    **_YES_NO,
    "no internet service": "no_internet_service",
    "no internet": "no_internet_service",
    "no_internet_service": "no_internet_service",
    "not subscribed to internet": "no_internet_service",
}
# fmt: off
_PLAN_TIERS = {
    "free": ("free", "trial", "free trial", "freemium", "trialing", "hobby", "community"),
    "basic": ("basic", "starter", "start", "essentials", "essential", "lite", "light", "standard", "personal",
              "individual", "solo", "entry", "launch"),
    "pro": ("pro", "professional", "growth", "business", "team", "teams", "plus", "premium", "advanced", "scale up"),
    "enterprise": ("enterprise", "ent", "corporate", "scale", "unlimited", "elite", "custom"),
}
#: Plan spellings, also as exports name them with a plan word or a billing cycle after the tier ("Pro plan",
#: "Starter tier", "Enterprise edition", "Pro monthly", "Basic annual").
_PLAN = {
    f"{spelling} {suffix}".strip(): tier
    for tier, spellings in _PLAN_TIERS.items()
    for spelling in spellings
    for suffix in ("", "plan", "tier", "edition", "package", "subscription", "monthly", "annual", "yearly")
}
_REGION_NAMES = {
    "americas": ("americas", "america", "amer", "ams", "na", "nam", "noram", "north america", "n america",
                 "us", "usa", "u s", "u s a", "united states", "canada", "ca", "us canada", "latam",
                 "latin america", "south america", "central america", "mexico", "brazil"),
    "emea": ("emea", "europe", "eu", "uk", "u k", "united kingdom", "gb", "middle east", "africa", "mea",
             "dach", "nordics", "benelux", "germany", "france", "european union", "western europe"),
    "apac": ("apac", "apj", "asia", "asia pacific", "asiapac", "anz", "australia", "new zealand", "japan", "india",
             "singapore", "china", "sea", "south east asia", "southeast asia", "pacific", "oceania"),
}
# fmt: on
_REGION = {spelling: region for region, spellings in _REGION_NAMES.items() for spelling in spellings}
CATEGORY_SPELLINGS: dict[str, dict[str, str]] = {
    "contract": {
        "month to month": "monthly",
        "monthly": "monthly",
        "month": "monthly",
        "m2m": "monthly",
        "mtm": "monthly",
        "1 month": "monthly",
        "1 mo": "monthly",
        "rolling": "monthly",
        "monthly rolling": "monthly",
        "no contract": "monthly",
        "pay as you go": "monthly",
        "payg": "monthly",
        "mo": "monthly",
        # A commitment shorter than a year is "monthly": the schema's levels are commitments (none, a year, two
        # years), and a quarterly or half-yearly customer can leave before a year is out. Quarterly is closest
        # to monthly in what it ties the customer to (three months against twelve), so it is read as monthly.
        "quarterly": "monthly",
        "quarter": "monthly",
        "quarterly billing": "monthly",
        "3 months": "monthly",
        "semi annual": "monthly",
        "semiannual": "monthly",
        "semi annually": "monthly",
        "half yearly": "monthly",
        "6 months": "monthly",
        "monthly billing": "monthly",
        "one year": "annual",
        "annual": "annual",
        "annually": "annual",
        "yearly": "annual",
        "year": "annual",
        "12 months": "annual",
        "12 month": "annual",
        "12 mo": "annual",
        "1 year": "annual",
        "1 yr": "annual",
        "1yr": "annual",
        "12m": "annual",
        "1y": "annual",
        "yr": "annual",
        "annual contract": "annual",
        "annual billing": "annual",
        "annually billed": "annual",
        "two year": "two_year",
        "two_year": "two_year",
        "two years": "two_year",
        "2 year": "two_year",
        "2 years": "two_year",
        "2 yr": "two_year",
        "2yr": "two_year",
        "2y": "two_year",
        "24 months": "two_year",
        "24 month": "two_year",
        "24 mo": "two_year",
        "24m": "two_year",
        "biennial": "two_year",
        "biannual": "two_year",
        "bi annual": "two_year",
        "2 year contract": "two_year",
    },
    "internet_service": {
        "no": "none",
        "none": "none",
        "no internet": "none",
        "no internet service": "none",
        "dsl": "dsl",
        "adsl": "dsl",
        "vdsl": "dsl",
        "fiber optic": "fiber_optic",
        "fibre optic": "fiber_optic",
        "fiber": "fiber_optic",
        "fibre": "fiber_optic",
        "ftth": "fiber_optic",
        "fttp": "fiber_optic",
    },
    "payment_method": {
        "electronic check": "electronic_check",
        "e check": "electronic_check",
        "echeck": "electronic_check",
        "electronic cheque": "electronic_check",
        "mailed check": "mailed_check",
        "mailed cheque": "mailed_check",
        "check": "mailed_check",
        "cheque": "mailed_check",
        "check by mail": "mailed_check",
        "bank transfer automatic": "bank_transfer",
        "bank transfer": "bank_transfer",
        "direct debit": "bank_transfer",
        "ach": "bank_transfer",
        "sepa": "bank_transfer",
        "sepa direct debit": "bank_transfer",
        "wire transfer": "bank_transfer",
        "bank": "bank_transfer",
        "credit card automatic": "credit_card",
        "credit card": "credit_card",
        "card": "credit_card",
        "cc": "credit_card",
        "visa": "credit_card",
        "mastercard": "credit_card",
        "amex": "credit_card",
        "debit card": "credit_card",
    },
    "gender": {
        "female": "female",
        "f": "female",
        "woman": "female",
        "w": "female",
        "male": "male",
        "m": "male",
        "man": "male",
    },
    "plan": _PLAN,
    "region": _REGION,
    "multiple_lines": {**_YES_NO, "no phone service": "no_phone_service", "no phone": "no_phone_service"},
    **{
        name: _ADDON
        for name in (
            "online_security",
            "online_backup",
            "device_protection",
            "tech_support",
            "streaming_tv",
            "streaming_movies",
        )
    },
}

# -- header words (mapping.py) ------------------------------------------------------------------------

#: Unit words in headers ("Tenure (days)", "Years as customer") -> the unit.
HEADER_UNITS = {
    "day": "days",
    "days": "days",
    "d": "days",
    "week": "weeks",
    "weeks": "weeks",
    "wks": "weeks",
    "wk": "weeks",
    "year": "years",
    "years": "years",
    "yrs": "years",
    "yr": "years",
    "y": "years",
    "month": "months",
    "months": "months",
    "mos": "months",
    "mo": "months",
    "mths": "months",
    "m": "months",
    # the same in French, German, Spanish exports
    "jours": "days",
    "tage": "days",
    "dias": "days",
    "ans": "years",
    "annees": "years",
    "jahre": "years",
    "anos": "years",
    "mois": "months",
    "monate": "months",
    "meses": "months",
}
#: Currency codes a header may end with ("Total Charges USD").
HEADER_CURRENCIES = {"usd", "eur", "gbp", "chf", "cad", "aud", "sek", "nok", "dkk"}
#: Words that add nothing to what a header means ("Current MRR Amount", "Customer Contract Type").
FILLER = frozenset(
    {
        "current",
        "latest",
        "customer",
        "customers",
        "client",
        "account",
        "acct",
        "the",
        "of",
        "in",
        "per",
        "is",
        "has",
        "flag",
        "value",
        "amount",
        "status",
        "cur",
        "num",
        "nr",
        "count",
        "number",
        "indicator",
        "ind",
        "opted",
        "code",
        "field",
        "info",
        "type",
        "yn",
        "level",
        "total",
    }
)
#: Header words that say a column is *not* the customer id, however close its spelling ("Customer Name").
NOT_ID = frozenset(
    {"name", "email", "mail", "phone", "owner", "address", "city", "country", "company", "date"}
)
#: Header words (singular) for things an export holds that the schema has no field for: a header carrying one
#: says what its column is, so the mapper never guesses a field for it from its values or a near spelling.
# fmt: off
NOT_IN_SCHEMA = frozenset(
    {
        "name", "email", "mail", "owner", "address", "city", "country", "state", "zip", "postcode", "company",
        "date", "time", "timestamp", "created", "updated", "note", "comment", "description", "industry",
        "source", "campaign", "coupon", "discount", "refund", "invoice", "failed", "failure", "declined",
        "error", "employee", "website", "url", "domain", "title", "role", "manager", "rep", "language",
        "currency", "tax", "vat", "reason", "browser",
    }
)
# fmt: on
