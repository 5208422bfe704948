"""Value normalisation: money, flags, contract terms, tenure units, junk tokens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retainwise.science.mapping import ColumnMapping, map_columns
from retainwise.science.normalise import normalise_category, parse_numbers, to_canonical, value_fit


def s(values) -> pd.Series:
    return pd.Series(values, dtype="str")


@pytest.mark.parametrize(
    "values, expected",
    [
        (["$1,234.50", "$29.85", "$0.00"], [1234.5, 29.85, 0.0]),
        (["1.234,50 €", "29,85 €", "0,00 €"], [1234.5, 29.85, 0.0]),
        (["1 234,50", "29,85", "7 000,00"], [1234.5, 29.85, 7000.0]),
        (["1\u00a0234,50", "12\u202f345,6"], [1234.5, 12345.6]),  # no-break and thin spaces
        (["£1,234.50", "1,234.50 GBP", "USD 12"], [1234.5, 1234.5, 12.0]),
        (["1'234.50", "(12.50)", "-3", "+4"], [1234.5, -12.5, -3.0, 4.0]),
        (["12", "3.5", "85%"], [12.0, 3.5, 85.0]),
    ],
)
def test_money_strings(values, expected):
    assert parse_numbers(s(values)).tolist() == expected


def test_decimal_mark_is_decided_once_per_column():
    # "1,234" alone is a thousands separator; with "12,5" in the same column it is a decimal comma
    assert parse_numbers(s(["1,234", "12"])).tolist() == [1234.0, 12.0]
    assert parse_numbers(s(["1,234", "12,5", "3,75"])).tolist() == [1.234, 12.5, 3.75]
    assert parse_numbers(s(["1.234.567", "2.000"])).tolist() == [1234567.0, 2000.0]


@pytest.mark.parametrize(
    "junk", ["N/A", "n/a", "-", "--", "unknown", "", "  ", "#N/A", "null", "None", "?", "NaN"]
)
def test_junk_tokens_are_missing(junk):
    assert parse_numbers(s([junk, "5"])).isna().tolist() == [True, False]


@pytest.mark.parametrize("text", ["abc", "1e400", "inf", "0x1f", "12 apples", "1.2.3,4,5"])
def test_non_numbers_are_missing(text):
    assert np.isnan(parse_numbers(s([text])).iloc[0])


@pytest.mark.parametrize(
    "spelling, expected",
    [
        ("Month-to-month", "monthly"),
        ("monthly", "monthly"),
        ("M2M", "monthly"),
        ("1 month", "monthly"),
        ("annual", "annual"),
        ("yearly", "annual"),
        ("12 months", "annual"),
        ("One year", "annual"),
        ("1 yr", "annual"),
        ("ANNUAL", "annual"),
        ("2-Year", "two_year"),
        ("biennial", "two_year"),
        ("two_year", "two_year"),
        ("Two year", "two_year"),
        ("24 months", "two_year"),
        ("2 years", "two_year"),
        ("  two year ", "two_year"),
        ("quarterly", None),
        ("N/A", None),
        ("3 years", None),
    ],
)
def test_contract_spellings(spelling, expected):
    out = normalise_category("contract", s([spelling])).iloc[0]
    assert (pd.isna(out) and expected is None) or out == expected


def test_flags_and_categories():
    data = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "Partner": ["Y", "N", "True", "false", "1", "0"],
            "Senior": ["yes", "NO", "t", "F", "maybe", "N/A"],
            "Internet": ["Fiber optic", "DSL", "No", "None", "fibre", "satellite"],
            "Payment": [
                "Bank transfer (automatic)",
                "ACH",
                "Credit card (automatic)",
                "E-Check",
                "Mailed check",
                "cash",
            ],
            "Online Security": ["Yes", "No", "No internet service", "y", "", "n"],
            "Gender": ["Female", "M", "f", "male", "x", "unknown"],
        },
        dtype="str",
    )
    canonical = to_canonical(data, map_columns(data))
    assert canonical["partner"].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert canonical["senior_citizen"].tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    assert canonical["senior_citizen"].iloc[4:].isna().all()
    assert canonical["internet_service"].tolist()[:5] == ["fiber_optic", "dsl", "none", "none", "fiber_optic"]
    assert canonical["payment_method"].tolist()[:5] == [
        "bank_transfer",
        "bank_transfer",
        "credit_card",
        "electronic_check",
        "mailed_check",
    ]
    assert canonical["online_security"].tolist()[:4] == ["yes", "no", "no_internet_service", "yes"]
    assert canonical["gender"].tolist()[:4] == ["female", "male", "female", "male"]
    for name in ("internet_service", "payment_method", "gender"):
        assert pd.api.types.is_string_dtype(canonical[name])
    assert pd.api.types.is_float_dtype(canonical["partner"])
    # present but not understood: counted with examples; junk tokens are not
    lost = canonical.attrs["not_understood"]
    assert lost["senior_citizen"]["count"] == 1 and lost["senior_citizen"]["examples"] == ["maybe"]
    assert lost["internet_service"]["examples"] == ["satellite"] and lost["payment_method"]["examples"] == [
        "cash"
    ]
    assert lost["gender"]["examples"] == ["x"] and "online_security" not in lost and "partner" not in lost


@pytest.mark.parametrize(
    "header, values, months",
    [
        ("Tenure (days)", ["0", "30", "365", "731"], [0.0, 1.0, 12.0, 24.0]),
        ("Customer age in days", ["913"], [30.0]),
        ("Years as customer", ["0.0833", "1", "2.5"], [1.0, 12.0, 30.0]),
        ("Tenure (weeks)", ["52"], [12.0]),
        ("Months Active", ["7"], [7.0]),
    ],
)
def test_tenure_units_from_the_header(header, values, months):
    data = pd.DataFrame({"id": [str(i) for i in range(len(values))], header: values}, dtype="str")
    assert to_canonical(data, map_columns(data))["tenure_months"].tolist() == months


def test_ids_are_stripped_and_junk_ids_missing():
    data = pd.DataFrame({"customer_id": [" A1 ", "007", "N/A", "", "=1+2"]}, dtype="str")
    ids = to_canonical(data, ColumnMapping(mapping={"customer_id": "customer_id"}))["customer_id"]
    assert ids.iloc[:2].tolist() == ["A1", "007"] and ids.iloc[2:4].isna().all() and ids.iloc[4] == "=1+2"


def test_value_fit():
    assert value_fit("contract", s(["monthly", "annual", "N/A"])) == 1.0
    assert value_fit("contract", s(["Pro", "Basic"])) == 0.0
    assert value_fit("monthly_charges", s(["$1", "-", "$-5", "x"])) == pytest.approx(1 / 3)
    assert value_fit("partner", s(["Y", "N", "maybe", "yes"])) == 0.75
    assert value_fit("customer_id", s(["a", "a", "b", "c"])) == 0.75
    assert value_fit("tenure_months", s(["", "N/A"])) is None


def test_normalising_works_over_distinct_values(monkeypatch):
    """100,000 rows with 3 distinct values: the converters see 3 values, not 100,000."""
    import retainwise.science.normalise as normalise

    seen = []
    original = normalise.parse_numbers
    monkeypatch.setattr(normalise, "parse_numbers", lambda v: seen.append(len(v)) or original(v))
    data = pd.DataFrame(
        {"id": np.arange(100_000).astype(str), "mrr": ["$1", "$2", "$3"] * 33_333 + ["$1"]}, dtype="str"
    )
    canonical = normalise.to_canonical(
        data, ColumnMapping(mapping={"id": "customer_id", "mrr": "monthly_charges"})
    )
    assert seen == [3] and canonical["monthly_charges"].sum() == pytest.approx(33_333 * 6 + 1)
