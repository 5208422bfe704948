"""Column mapping: every realistic export maps right; stages, evidence, overrides and saved tenant mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.platform import mapping_store
from retainwise.science import schema
from retainwise.science.headers import header_parts
from retainwise.science.mapping import map_columns
from retainwise.science.reading import read_upload

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "expected_mappings.json").read_text(encoding="utf-8"))


def frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype="str")


def test_there_are_at_least_twelve_realistic_exports():
    assert len(EXPECTED) >= 12
    formats = {e["format"] for e in EXPECTED.values()}
    encodings = {e["encoding"] for e in EXPECTED.values()}
    assert "xlsx" in formats and {"utf-16", "cp1252", "utf-8-sig"} <= encodings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_export_maps_exactly_as_expected(name):
    expected = EXPECTED[name]
    upload = read_upload(DATA / expected["file"])
    assert (upload.format, upload.encoding, upload.delimiter) == (
        expected["format"],
        expected["encoding"],
        expected["delimiter"],
    )
    result = map_columns(upload.frame)
    assert result.mapping == expected["mapping"]
    assert result.unmapped == expected["unmapped"]
    assert result.units == expected["units"]
    assert all(0 < c <= 1 for c in result.confidence.values())


@pytest.mark.parametrize(
    "header, tokens, unit",
    [
        ("Tenure (Days)", ("tenure",), "days"),
        ("MonthlyCharges ($)", ("monthly", "charges"), None),
        ("customerID", ("customer", "id"), None),
        ("Years as customer", ("years", "as", "customer"), "years"),
        ("Total Charges USD", ("total", "charges"), None),
        ("Tenure in weeks", ("tenure",), "weeks"),
        ("TenureMonths__c", ("tenure",), "months"),
        ("Ancienneté (mois)", ("anciennete",), "months"),
    ],
)
def test_header_parts(header, tokens, unit):
    assert header_parts(header) == (tokens, unit)


def test_stages_and_their_confidence_order():
    data = frame(
        {
            "customer_id": ["a", "b"],
            "Monthly Charges ($)": ["1", "2"],
            "MRR": ["1", "2"],
            "Current Tenure": ["1", "2"],
            "Contarct": ["monthly", "annual"],
            "Package": ["M2M", "1 yr"],
            "Totl Charges": ["3", "4"],
        }
    )
    result = map_columns(data.drop(columns=["Contarct"]))
    assert result.method == {
        "customer_id": "exact",
        "Monthly Charges ($)": "normalised",
        "Current Tenure": "partial",
        "Package": "values",
        "Totl Charges": "fuzzy",
    }
    assert result.unmapped == ["MRR"]  # monthly_charges was taken by the more confident column
    c = result.confidence
    assert c["customer_id"] == 1.0 and c["Monthly Charges ($)"] == 0.95
    assert c["Monthly Charges ($)"] > c["Current Tenure"] > c["Totl Charges"] > c["Package"] > 0
    assert map_columns(data).mapping["Contarct"] == "contract"  # fuzzy beats values-only


def test_no_two_columns_map_to_one_canonical_name():
    data = frame(
        {
            "id": ["a", "b"],
            "Customer ID": ["x", "y"],
            "Total Revenue": ["1", "2"],
            "Lifetime Value": ["1", "2"],
            "Tenure": ["1", "2"],
            "Months Active": ["1", "2"],
        }
    )
    result = map_columns(data)
    assert len(set(result.mapping.values())) == len(result.mapping)
    assert result.mapping["Customer ID"] == "customer_id" and "id" in result.unmapped
    assert result.mapping["Total Revenue"] == "total_charges" and "Lifetime Value" in result.unmapped
    assert result.mapping["Tenure"] == "tenure_months" and "Months Active" in result.unmapped


def test_values_decide_between_look_alike_headers():
    data = frame(
        {
            "account_id": ["a", "b", "c"],
            "Plan": ["Pro", "Basic", "Pro"],
            "billing_cycle": ["monthly", "annual", "biennial"],
        }
    )
    result = map_columns(data)
    assert result.mapping == {"account_id": "customer_id", "Plan": "plan", "billing_cycle": "contract"}
    # a Plan of billing terms is the contract (plan and contract are kin), from its values, to be confirmed
    terms = map_columns(
        frame({"account_id": ["a", "b", "c"], "Plan": ["Month-to-month", "One year", "Two year"]})
    )
    assert terms.mapping["Plan"] == "contract" and terms.method["Plan"] == "values"
    # and a Subscription Type (a contract alias) of tiers is the plan
    tiers = map_columns(
        frame({"account_id": ["a", "b", "c"], "Subscription Type": ["Pro", "Basic", "Enterprise"]})
    )
    assert tiers.mapping["Subscription Type"] == "plan" and tiers.method["Subscription Type"] == "values"


def test_money_and_flag_evidence_lowers_confidence_of_poor_fits():
    good = map_columns(frame({"id": ["a", "b", "c", "d"], "MRR": ["$1.00", "$2.50", "$3", "$4"]}))
    poor = map_columns(frame({"id": ["a", "b", "c", "d"], "MRR": ["$1.00", "$2.50", "$3", "call"]}))
    assert good.confidence["MRR"] > poor.confidence["MRR"] > 0
    junk = map_columns(frame({"id": ["a", "b", "c"], "MRR": ["Pro", "Basic", "Pro"]}))
    assert "MRR" in junk.unmapped


def test_names_are_not_taken_for_the_id():
    data = frame({"Customer Name": ["Ann", "Bob"], "Customer No": ["1", "2"]})
    assert map_columns(data).mapping == {"Customer No": "customer_id"}
    with pytest.raises(InputError, match="No column can be the customer id") as err:
        map_columns(frame({"Customer Name": ["Ann", "Bob"], "colour": ["red", "blue"]}))
    assert err.value.code == "no_customer_id"


def test_aliases_are_unambiguous():
    seen: dict[str, str] = {}
    for col in schema.COLUMNS:
        for alias in (col.name, *col.aliases):
            key = "".join(header_parts(alias)[0])
            assert seen.setdefault(key, col.name) == col.name, (alias, seen[key], col.name)


def test_overrides_win_over_everything():
    data = frame(
        {"customerID": ["a", "b"], "Ref": ["x", "y"], "tenure": ["1", "2"], "Months Active": ["3", "4"]}
    )
    result = map_columns(
        data,
        overrides={
            "Ref": "customer_id",
            "Months Active": "tenure_months",
            "tenure": None,
            "not there": "contract",
        },
    )
    assert result.mapping == {"Ref": "customer_id", "Months Active": "tenure_months"}
    assert result.method["Ref"] == "override" and result.confidence["Ref"] == 1.0
    assert result.unmapped == ["customerID", "tenure"]
    assert any("not there" in note for note in result.notes)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"tenure": "tenure_days"}, "'tenure_days' is not a canonical column"),
        ({"tenure": "customer_id", "customerID": "customer_id"}, "both 'tenure' and 'customerID'"),
    ],
)
def test_bad_overrides_are_input_errors(overrides, match):
    data = frame({"customerID": ["a"], "tenure": ["1"]})
    with pytest.raises(InputError, match=match):
        map_columns(data, overrides=overrides)


def test_confirmed_mapping_is_returned_and_reused(tmp_path):
    data = frame({"Ref": ["a", "b"], "Spend": ["1", "2"], "Term": ["monthly", "annual"], "Notes": ["", ""]})
    first = map_columns(data, overrides={"Ref": "customer_id", "Spend": "monthly_charges"}, tenant="acme")
    record = first.record
    assert record["mapping"] == {"Ref": "customer_id", "Spend": "monthly_charges", "Term": "contract"}
    assert record["confirmed"] == {"Ref": "customer_id", "Spend": "monthly_charges"}
    assert record["columns"] == ["Ref", "Spend", "Term", "Notes"] and record["tenant"] == "acme"
    # next upload, same columns, no overrides: the saved mapping is reused as it was
    stored = json.loads(json.dumps(record))  # what any store gives back
    again = map_columns(data, saved=stored)
    assert again.mapping == first.mapping
    assert set(again.method.values()) == {"saved"} and again.confidence["Ref"] == 1.0
    assert any("saved mapping" in n for n in again.notes)
    # without the record (another tenant) nothing is reused
    with pytest.raises(InputError, match="customer id"):
        map_columns(data)
    # overrides still win over the saved mapping
    assert map_columns(data, overrides={"Notes": "customer_id", "Ref": None}, saved=stored).mapping[
        "Notes"
    ] == ("customer_id")


def test_changed_export_keeps_only_confirmed_entries():
    data = frame({"Ref": ["a", "b"], "Spend": ["1", "2"], "Term": ["monthly", "annual"]})
    saved = map_columns(data, overrides={"Ref": "customer_id"}).record
    changed = frame({"Ref": ["a", "b"], "Tenure": ["1", "2"], "Term": ["monthly", "annual"]})
    result = map_columns(changed, saved=saved)
    assert result.mapping == {"Ref": "customer_id", "Tenure": "tenure_months", "Term": "contract"}
    assert result.method == {"Ref": "saved", "Tenure": "normalised", "Term": "alias"}
    assert result.record["confirmed"] == {"Ref": "customer_id"}  # accumulated for the next run


@pytest.mark.parametrize(
    "junk",
    [
        "not a dict",
        {"mapping": "x"},
        {"mapping": {"id": "customer_id"}, "confidence": {"id": True}, "units": [1], "columns": "id"},
        {"mapping": {"id": "no_such_column"}},
    ],
)
def test_malformed_saved_records_are_ignored(junk):
    data = frame({"id": ["a", "b"], "Tenure (days)": ["30", "365"]})
    assert map_columns(data, saved=junk).method == {"id": "alias", "Tenure (days)": "normalised"}


def test_saved_units_and_the_file_store(tmp_path):
    data = frame({"id": ["a", "b"], "Tenure (days)": ["30", "365"]})
    first = map_columns(data)
    assert first.units == {"Tenure (days)": "days"}
    mapping_store.save(tmp_path, "t", first.record)
    again = map_columns(data, saved=mapping_store.load(tmp_path, "t"))
    assert again.units == {"Tenure (days)": "days"} and set(again.method.values()) == {"saved"}
    mapping_store.path_for(tmp_path, "t").write_text("{not json")
    assert mapping_store.load(tmp_path, "t") is None


def test_science_does_not_touch_the_store():
    import retainwise.science.mapping as mapping_module

    assert "mapping_store" not in vars(mapping_module)
    assert "platform" not in Path(mapping_module.__file__).read_text(encoding="utf-8")


@pytest.mark.parametrize("tenant", ["../../etc/passwd", ".hidden", "a/b", "..", "acme@example.com", ""])
def test_tenant_names_cannot_escape_the_mappings_folder(tmp_path, tenant):
    path = mapping_store.path_for(tmp_path / "home", tenant)
    assert path.parent == tmp_path / "home" / "mappings"
    assert not path.name.startswith(".") and "/" not in path.name


def test_table_lists_mapped_and_unmapped():
    result = map_columns(frame({"customerID": ["a"], "colour": ["red"]}))
    table = result.table()
    assert table["source"].tolist() == ["customerID", "colour"]
    assert table["canonical"].iloc[0] == "customer_id" and pd.isna(table["canonical"].iloc[1])
    assert table["confidence"].tolist() == [0.95, 0.0] and table["method"].tolist() == [
        "normalised",
        "unmapped",
    ]
    assert json.dumps(result.to_dict())


def test_pipeline_takes_the_saved_mapping_and_writes_the_next(tmp_path):
    from retainwise.science.pipeline import Pipeline

    path = DATA / EXPECTED["saas_minimal"]["file"]
    first = Pipeline(path, tmp_path / "out1", tenant="acme", mapping_overrides={"total_revenue": None})
    first.read()
    assert "total_revenue" in first.map_columns().unmapped
    written = json.loads((tmp_path / "out1" / "mapping.json").read_text(encoding="utf-8"))
    assert written["confirmed"] == {"total_revenue": None} and written["tenant"] == "acme"
    second = Pipeline(path, tmp_path / "out2", tenant="acme", saved_mapping=written)
    second.read()
    mapping = second.map_columns()
    assert set(mapping.method.values()) == {"saved"} and "total_revenue" in mapping.unmapped
