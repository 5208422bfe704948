"""Value normalisation: money, flags, contract terms, tenure units, junk tokens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retainwise.science.canonical import Normaliser, to_canonical
from retainwise.science.mapping import ColumnMapping, map_columns
from retainwise.science.normalise import normalise_category, parse_numbers, value_fit


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
        # under a year commits to no year: monthly (the decision is in vocabulary.py); two years or more: two_year
        ("quarterly", "monthly"),
        ("Quarterly", "monthly"),
        ("3 months", "monthly"),
        ("semi-annual", "monthly"),
        ("18 months", "annual"),
        ("3 years", "two_year"),
        ("36 months", "two_year"),
        ("N/A", None),
        ("fortnightly", None),
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
    """100,000 rows with 3 distinct values: the converters see 3 values, not 100,000; a later chunk of the
    same file with the same values (one Normaliser) does not reach them again, a new value alone does."""
    import retainwise.science.normalise as normalise

    seen = []
    original = normalise.number_texts
    monkeypatch.setattr(normalise, "number_texts", lambda v: seen.append(len(v)) or original(v))
    data = pd.DataFrame(
        {"id": np.arange(100_000).astype(str), "mrr": ["$1", "$2", "$3"] * 33_333 + ["$1"]}, dtype="str"
    )
    mapping = ColumnMapping(mapping={"id": "customer_id", "mrr": "monthly_charges"})
    canonical = to_canonical(data, mapping)
    assert seen == [3] and canonical["monthly_charges"].sum() == pytest.approx(33_333 * 6 + 1)
    seen.clear()
    normaliser = Normaliser(mapping)
    normaliser.canonical(data.iloc[:50_000])
    normaliser.canonical(data.iloc[50_000:])
    assert seen == [3]
    later = data.iloc[:10].assign(mrr=["$4"] + ["$1"] * 9)
    assert normaliser.canonical(later)["monthly_charges"].tolist() == [4.0] + [1.0] * 9 and seen == [3, 1]


# -- a file read in chunks: the Normaliser's memory of converted values never changes a result ----------

MESSY_POOLS = {
    "Customer ID": [" A1 ", "007", "N/A", "", "-", "=1+2", "ünï-4", "b\u00a05", "NULL", None],
    "Tenure (days)": ["30", "365", "N/A", "1,000", "abc", "  731 ", "-", "0", "12,5", None],
    "Billing Cycle": [
        "Month-to-month",
        "12 months",
        "2-Year",
        "M2M",
        "ANNUAL",
        "quarterly",
        "N/A",
        "24 mo",
        "3 years",
        "One year",
        "\u2014",
        "mtm ",
        None,
    ],
    "MRR ($)": [
        "$1,234.50",
        "29.85",
        "1.234,50 €",
        "(12.50)",
        "N/A",
        "-",
        "85%",
        "12 apples",
        "€ 7",
        "1\u00a0234,50",
        "12,5",
        "1,234",
        "1.234.567",
        "USD 12",
        "inf",
        "",
        "abc",
        "0x1f",
        "1.2.3,4,5",
        "twelve",
        None,
    ],
    "Has Partner": ["Y", "N", "yes", "NO", "1", "0", "True", "false", "maybe", "N/A", "sí", "1.0", None],
    "Gender": ["Female", "M", "f", "MALE", "x", "unknown", "Ⅹ", "Woman", "-", None],
    "Internet": ["Fiber optic", "DSL", "No", "None", "fibre", "satellite", "N/A", "FTTH", None],
    "Payment": ["Bank transfer (automatic)", "ACH", "E-Check", "cash", "Mailed check", "card", "?", None],
    "Online Security": ["Yes", "No", "No internet service", "y", "", "n", "dunno", None],
    # a second flag and a second add-on: columns that convert alike share what a Normaliser remembers
    "Senior?": ["Y", "N", "0", "1", "oui", "nein", "?", "Ja", "maybe", "dunno", None],
    "Tech Support": ["No internet service", "yes", "NO", "x", "dunno", "On", None],
}
MESSY_MAPPING = ColumnMapping(
    mapping={
        "Customer ID": "customer_id",
        "Tenure (days)": "tenure_months",
        "Billing Cycle": "contract",
        "MRR ($)": "monthly_charges",
        "Has Partner": "partner",
        "Gender": "gender",
        "Internet": "internet_service",
        "Payment": "payment_method",
        "Online Security": "online_security",
        "Senior?": "senior_citizen",
        "Tech Support": "tech_support",
    },
    units={"Tenure (days)": "days"},
)
#: Values only the last rows have: the Normaliser meets them after it has remembered everything else.
LATE = {
    "Customer ID": "late-id",
    "Tenure (days)": "ten",
    "Billing Cycle": "Bi-annual",
    "MRR ($)": "$99,999.99",
    "Has Partner": "oui",
    "Gender": "zzz",
    "Internet": "VDSL",
    "Payment": "SEPA",
    "Online Security": "ON",
    "Senior?": "si",
    "Tech Support": "no internet",
}


def messy_frame(rows: int = 240, seed: int = 3, start: int = 1000) -> pd.DataFrame:
    """A messy export whose rows are drawn from MESSY_POOLS, then 5 rows with LATE's values; index from ``start``."""
    rng = np.random.default_rng(seed)
    data = {name: [pool[i] for i in rng.integers(0, len(pool), rows)] for name, pool in MESSY_POOLS.items()}
    data["Customer ID"][::3] = [f"C{i}" for i in range(len(data["Customer ID"][::3]))]
    frame = pd.DataFrame(data, dtype="str")
    late = pd.DataFrame({name: [value] * 5 for name, value in LATE.items()}, dtype="str")
    frame = pd.concat([frame, late], ignore_index=True)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def chunked(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    assert got.attrs == expected.attrs


def test_the_messy_frame_covers_what_it_should():
    """The chunking tests below are only worth something if the frame exercises every branch."""
    canonical = to_canonical(messy_frame(), MESSY_MAPPING)
    lost = canonical.attrs["not_understood"]
    assert set(lost) == {
        "tenure_months",
        "contract",
        "monthly_charges",
        "partner",
        "gender",
        "internet_service",
        "payment_method",
        "online_security",
        "senior_citizen",
        "tech_support",
    }
    assert len(lost["monthly_charges"]["examples"]) == 5  # more than 5 distinct: the first 5 met
    assert canonical["senior_citizen"].iloc[-5:].tolist() == [1.0] * 5
    assert canonical["tech_support"].iloc[-5:].tolist() == ["no_internet_service"] * 5
    assert "maybe" in lost["partner"]["examples"] and "cash" in lost["payment_method"]["examples"]
    assert canonical["contract"].iloc[-5:].tolist() == ["two_year"] * 5
    assert canonical["online_security"].iloc[-5:].tolist() == ["yes"] * 5
    assert canonical["partner"].iloc[-5:].tolist() == [1.0] * 5  # "oui" is a flag
    assert canonical["customer_id"].iloc[-1] == "late-id"
    assert canonical.index.equals(messy_frame().index)


@pytest.mark.parametrize("size", [5, 17, 50, 111, 245])
def test_normaliser_matches_to_canonical_whatever_the_chunking(size):
    frame = messy_frame()
    normaliser = Normaliser(MESSY_MAPPING)
    for chunk in chunked(frame, size):
        assert_same(normaliser.canonical(chunk), to_canonical(chunk, MESSY_MAPPING))


def test_one_normaliser_over_many_chunkings_and_orders():
    """Whatever a Normaliser remembers from earlier chunks (in any order) never leaks into a later result."""
    frame = messy_frame()
    normaliser = Normaliser(MESSY_MAPPING)
    for size, seed in ((13, 0), (60, 1), (245, 2), (31, 3)):
        shuffled = frame.sample(frac=1.0, random_state=seed)
        for chunk in chunked(shuffled, size):
            assert_same(normaliser.canonical(chunk), to_canonical(chunk, MESSY_MAPPING))


def test_not_understood_per_chunk_with_values_first_seen_late():
    frame = messy_frame()
    normaliser = Normaliser(MESSY_MAPPING)
    *_, last = [normaliser.canonical(chunk) for chunk in chunked(frame, 49)]
    lost = last.attrs["not_understood"]
    # the last chunk ends with LATE's rows: their not-understood values are counted in that chunk, by row label
    late_rows = tuple(frame.index[-5:])
    for name, late in (("gender", "zzz"), ("tenure_months", "ten")):
        assert lost[name]["rows"][-5:] == late_rows, name
        assert lost[name]["count"] == len(lost[name]["rows"]) and late in lost[name]["examples"]
    assert last["monthly_charges"].iloc[-5:].notna().all()  # "$99,999.99": understood, whichever the mark
    assert not set(late_rows) & set(lost.get("monthly_charges", {}).get("rows", ()))
    assert last.equals(to_canonical(frame.iloc[196:], MESSY_MAPPING))
    assert last.attrs == to_canonical(frame.iloc[196:], MESSY_MAPPING).attrs
    assert last["contract"].iloc[-5:].tolist() == ["two_year"] * 5
    assert last["internet_service"].iloc[-5:].tolist() == ["dsl"] * 5
    assert last["payment_method"].iloc[-5:].tolist() == ["bank_transfer"] * 5


def test_the_decimal_mark_is_still_decided_per_chunk():
    """ "1,234" is 1234 beside "12" and 1.234 beside "12,5": a remembered reading must not carry over."""
    mapping = ColumnMapping(mapping={"id": "customer_id", "mrr": "monthly_charges"})
    chunks = [
        pd.DataFrame({"id": ["a", "b"], "mrr": ["1,234", "12"]}, dtype="str"),
        pd.DataFrame({"id": ["c", "d", "e"], "mrr": ["1,234", "12,5", "3,75"]}, dtype="str"),
        pd.DataFrame({"id": ["f"], "mrr": ["1,234"]}, dtype="str"),
        pd.DataFrame({"id": ["g", "h"], "mrr": ["1.234,5", "abc"]}, dtype="str"),
    ]
    normaliser = Normaliser(mapping)
    got = [normaliser.canonical(chunk)["monthly_charges"].tolist() for chunk in chunks]
    assert got[:3] == [[1234.0, 12.0], [1.234, 12.5, 3.75], [1234.0]]
    assert got[3][0] == 1234.5 and np.isnan(got[3][1])
    for chunk in chunks:
        assert_same(normaliser.canonical(chunk), to_canonical(chunk, mapping))


def test_normaliser_forgets_when_a_column_has_too_many_distinct_values(monkeypatch):
    import retainwise.science.canonical as canonical

    monkeypatch.setattr(canonical, "MEMO_LIMIT", 6)
    frame = messy_frame()
    normaliser = Normaliser(MESSY_MAPPING)
    for chunk in chunked(frame, 20):
        assert_same(normaliser.canonical(chunk), to_canonical(chunk, MESSY_MAPPING))
    # a memo holds at most the limit, or one chunk's distinct values when they alone pass it
    assert all(len(memo) <= 20 for memo in normaliser._memos.values())


def test_a_mostly_distinct_column_stops_being_remembered(monkeypatch):
    """Amounts to the cent: each chunk brings thousands of new texts. From its second chunk on the column is
    converted chunk by chunk; the few-valued number column sharing its memo is still remembered."""
    import retainwise.science.normalise as normalise

    rng = np.random.default_rng(5)
    rows = 3 * 3000
    frame = pd.DataFrame(
        {
            "id": [f"C{i}" for i in range(rows)],
            "total": [f"${v:,.2f}" for v in rng.integers(0, 10**8, rows) / 100],
            "mrr": rng.choice(["$29.85", "50,5", "N/A", "abc"], rows),
        },
        dtype="str",
    )
    mapping = ColumnMapping(mapping={"id": "customer_id", "total": "total_charges", "mrr": "monthly_charges"})
    seen = []
    original = normalise.number_texts
    monkeypatch.setattr(normalise, "number_texts", lambda v: seen.append(len(v)) or original(v))
    normaliser = Normaliser(mapping)
    for i, chunk in enumerate(chunked(frame, 3000)):
        seen.clear()
        got = normaliser.canonical(chunk)
        assert (normaliser._memos["total_charges"] is None) == (i >= 1)
        assert normaliser._memos["monthly_charges"] is not None
        if i == 2:  # the shared memo was emptied on the detach: mrr's 4 texts again, then total on its own
            assert seen[0] == 4 and seen[1] > 2900 and len(seen) == 2
        assert_same(got, to_canonical(chunk, mapping))
    assert len(normaliser._memos["monthly_charges"]) == 4


def test_normaliser_takes_any_text_dtype_and_empty_chunks():
    frame = messy_frame()
    normaliser = Normaliser(MESSY_MAPPING)
    as_object = frame.astype(object).iloc[:30]
    assert_same(normaliser.canonical(as_object), to_canonical(frame.iloc[:30], MESSY_MAPPING))
    empty = frame.iloc[:0]
    got = normaliser.canonical(empty)
    assert_same(got, to_canonical(empty, MESSY_MAPPING))
    assert len(got) == 0 and got.attrs["not_understood"] == {}
    assert pd.api.types.is_string_dtype(got["contract"]) and got["monthly_charges"].dtype == "float64"
    numbers = pd.DataFrame({"id": ["a", "b", "c"], "mrr": [1, None, 3]}, dtype=object)
    mapping = ColumnMapping(mapping={"id": "customer_id", "mrr": "monthly_charges"})
    assert Normaliser(mapping).canonical(numbers)["monthly_charges"].tolist()[::2] == [1.0, 3.0]
