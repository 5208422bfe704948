"""SaaS fields are first-class: a subscription company's export maps, normalises and validates end to end,
and the mapper never guesses across domains (a count of failed payments is not a number of phone lines)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retainwise.science import schema
from retainwise.science.canonical import to_canonical
from retainwise.science.features import FULL_FEATURES
from retainwise.science.headers import named_fields, says_otherwise
from retainwise.science.mapping import map_columns
from retainwise.science.normalise import normalise_category
from retainwise.science.reading import read_upload
from retainwise.science.validation import validate

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "expected_mappings.json").read_text(encoding="utf-8"))
SAAS = DATA / EXPECTED["saas_accounts"]["file"]
NEW = ("seats_purchased", "logins_30d", "nps", "failed_payments", "plan", "integrations", "region")
TELCO_SERVICES = {c.name for c in schema.COLUMNS if c.group == "services"}


def frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype="str")


def ids(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def test_the_saas_fields_are_in_the_schema_and_out_of_the_telco_model():
    assert schema.column("plan").categories == ("free", "basic", "pro", "enterprise")
    assert schema.column("region").categories == ("americas", "emea", "apac")
    assert (schema.column("nps").minimum, schema.column("nps").maximum) == (-100, 100)
    assert schema.column("seats_used").label == "active seats"
    for name in NEW:
        col = schema.column(name)
        assert col.group == "usage" and name in schema.FEATURES and name not in FULL_FEATURES
        assert col.kind == "category" or col.minimum is not None
    assert "plan" not in schema.column("contract").aliases


def test_the_saas_export_maps_every_column_to_its_field_and_none_to_a_telco_service():
    upload = read_upload(SAAS)
    result = map_columns(upload.frame)
    assert result.mapping == EXPECTED["saas_accounts"]["mapping"] and result.unmapped == []
    assert not set(result.mapping.values()) & TELCO_SERVICES
    assert set(result.method.values()) <= {"alias", "normalised"}  # known names, no guesses
    assert result.mapping["Failed Payments"] == "failed_payments"
    assert (result.mapping["Seats"], result.mapping["Active Seats"]) == ("seats_purchased", "seats_used")


def test_the_saas_export_normalises_and_validates_cleanly():
    upload = read_upload(SAAS)
    mapping = map_columns(upload.frame)
    canonical = to_canonical(upload.frame, mapping)
    assert canonical.attrs["not_understood"] == {}
    assert set(canonical["plan"]) == {"basic", "pro", "enterprise"}
    assert set(canonical["region"]) == {"americas", "emea", "apac"}  # "NA" is North America, not a blank
    assert set(canonical["contract"]) == {"monthly", "annual"}
    assert canonical["monthly_charges"].max() > 1000  # "$6,525.00"
    assert (canonical["seats_used"] <= canonical["seats_purchased"]).all()
    assert canonical["nps"].min() < 0  # the raw net score, never rescaled
    result = validate(canonical, mapping=mapping)
    assert result.rows_rejected == 0 and "out_of_range" not in result.quality.codes()


@pytest.mark.parametrize(
    "header, field",
    [
        # HubSpot, Salesforce, Stripe and Chargebee style headers
        ("Subscription Plan", "plan"),
        ("Plan Tier", "plan"),
        ("Pricing Tier", "plan"),
        ("Edition", "plan"),
        ("subscription_plan", "plan"),
        ("Seats Purchased", "seats_purchased"),
        ("Number of Seats", "seats_purchased"),
        ("Licensed Seats", "seats_purchased"),
        ("plan_quantity", "seats_purchased"),
        ("Seats_Purchased__c", "seats_purchased"),
        ("Licences", "seats_purchased"),
        ("Active Users", "seats_used"),
        ("Licenses Used", "seats_used"),
        ("Active_Users__c", "seats_used"),
        ("Last Login (days)", "last_activity_days_ago"),
        ("Logins Last 30 Days", "logins_30d"),
        ("Sessions (30d)", "logins_30d"),
        ("Login Count", "logins_30d"),
        ("NPS Score", "nps"),
        ("Net Promoter Score", "nps"),
        ("NPS_Score__c", "nps"),
        ("Likelihood to Recommend", "nps"),
        ("Failed Charges", "failed_payments"),
        ("Payment Failures", "failed_payments"),
        ("Dunning Attempts", "failed_payments"),
        ("Past Due Invoices", "failed_payments"),
        ("failed_payment_count", "failed_payments"),
        ("Integrations Count", "integrations"),
        ("Connected Apps", "integrations"),
        ("Number of Integrations", "integrations"),
        ("Sales Region", "region"),
        ("Territory", "region"),
        ("Geo", "region"),
        ("Billing Period Unit", "contract"),
        ("Interval", "contract"),
    ],
)
def test_crm_and_billing_headers_map_to_the_saas_fields(header, field):
    values = {
        "plan": ["Pro", "Starter", "Enterprise", "Free"],
        "region": ["NA", "EMEA", "APAC", "LATAM"],
        "contract": ["month", "year", "month", "year"],
    }.get(field, ["0", "3", "12", "7"])
    result = map_columns(frame({"id": ids(4), header: values}))
    assert result.mapping.get(header) == field, result.table()


@pytest.mark.parametrize(
    "values",
    [
        ["0", "1", "0", "0", "1", "0", "2", "0"],
        ["0", "1", "0", "3", "0", "4", "1", "0"],
        ["No", "Yes", "No", "No"],
        ["No", "Yes", "No phone service", "No"],  # even values only phone lines have
    ],
)
@pytest.mark.parametrize(
    "header", ["Failed Payments", "Failed Payment Attempts", "Payment Retries", "Payments Missed"]
)
def test_failed_payments_are_never_phone_lines(header, values):
    result = map_columns(frame({"id": ids(len(values)), header: values}))
    assert result.mapping.get(header) in (None, "failed_payments"), result.table()


def test_seats_purchased_and_active_seats_are_two_fields():
    data = frame({"id": ids(3), "Seats": ["10", "50", "5"], "Active Seats": ["8", "20", "5"]})
    assert map_columns(data).mapping == {
        "id": "customer_id",
        "Seats": "seats_purchased",
        "Active Seats": "seats_used",
    }
    one = map_columns(frame({"id": ids(2), "Seats Used": ["3", "4"]}))
    assert one.mapping["Seats Used"] == "seats_used"


def test_a_header_that_names_a_field_is_never_overruled_by_values_or_a_near_spelling():
    assert named_fields("Failed Payments") == {"failed_payments"}  # its "payment" is part of the longer name
    assert named_fields("Payment Retries") == {"payment_method"}
    assert named_fields("Active Seats") == {"seats_used"} and named_fields("Seats") == {"seats_purchased"}
    assert (
        named_fields("Line")
        == named_fields("Package")
        == named_fields("Pay by")
        == named_fields("Col7")
        == set()
    )
    assert says_otherwise("multiple_lines", "Failed Payments") and not says_otherwise(
        "failed_payments", "Failed Payments"
    )
    assert says_otherwise("tenure_months", "Customer Name")  # a thing the schema has no field for
    assert not says_otherwise("contract", "Plan")  # kin: a Plan column may hold the billing term
    lines = ["Yes", "No", "No phone service", "No"] * 2
    assert map_columns(frame({"id": ids(8), "Line": lines})).mapping["Line"] == "multiple_lines"
    for header in ("Payment Retries", "Invoice Count", "Account Owner"):
        assert header in map_columns(frame({"id": ids(8), header: lines})).unmapped
    # a money header of tier names is not the plan, nor monthly charges
    assert "MRR" in map_columns(frame({"id": ids(3), "MRR": ["Pro", "Basic", "Pro"]})).unmapped
    # near spellings: a date is not days since, a name is not tenure
    numbers = ["0", "1", "3", "2"]
    assert map_columns(frame({"id": ids(4), "Last Activity Date": numbers})).unmapped == [
        "Last Activity Date"
    ]
    assert map_columns(frame({"id": ids(4), "Customer Name": numbers})).unmapped == ["Customer Name"]


@pytest.mark.parametrize("header", ["Col7", "Flag", "Line", "Package", ""])
def test_plain_yes_no_values_are_no_evidence_of_any_field(header):
    data = frame({"id": ids(8), header: ["1", "0", "0", "1", "Yes", "No", "0", "1"]})
    assert map_columns(data).unmapped == [header]


def test_uninformative_headers_still_take_a_field_from_telling_values():
    data = frame(
        {
            "ID": ids(4),
            "Package": ["Month-to-month", "Two year", "One year", "Month-to-month"],
            "Pay by": [
                "Electronic check",
                "Credit card (automatic)",
                "Mailed check",
                "Bank transfer (automatic)",
            ],
            "Line": ["DSL", "Fiber optic", "No", "DSL"],
            "Col7": ["Starter", "Pro", "Enterprise", "Pro"],
        }
    )
    result = map_columns(data)
    assert {s: result.mapping[s] for s in ("Package", "Pay by", "Line", "Col7")} == {
        "Package": "contract",
        "Pay by": "payment_method",
        "Line": "internet_service",
        "Col7": "plan",
    }
    assert {result.method[s] for s in ("Package", "Pay by", "Line", "Col7")} == {"values"}


@pytest.mark.parametrize(
    "spelling, tier",
    [
        ("Free", "free"),
        ("Trial", "free"),
        ("freemium", "free"),
        ("Starter", "basic"),
        ("Essentials", "basic"),
        ("Standard", "basic"),
        ("Lite", "basic"),
        ("Personal", "basic"),
        ("Professional", "pro"),
        ("Growth", "pro"),
        ("Business", "pro"),
        ("Team", "pro"),
        ("Premium", "pro"),
        ("Plus", "pro"),
        ("Advanced", "pro"),
        ("Enterprise", "enterprise"),
        ("ENT", "enterprise"),
        ("Corporate", "enterprise"),
        ("Unlimited", "enterprise"),
        ("Scale", "enterprise"),
        ("Pro Plan", "pro"),
        ("Starter tier", "basic"),
        ("Pro (monthly)", "pro"),
        ("Enterprise Edition", "enterprise"),
        ("gold", None),
    ],
)
def test_plan_spellings(spelling, tier):
    out = normalise_category("plan", pd.Series([spelling], dtype="str")).iloc[0]
    assert (pd.isna(out) and tier is None) or out == tier


@pytest.mark.parametrize(
    "spelling, region",
    [
        ("NA", "americas"),
        ("North America", "americas"),
        ("US", "americas"),
        ("USA", "americas"),
        ("Canada", "americas"),
        ("LATAM", "americas"),
        ("South America", "americas"),
        ("AMER", "americas"),
        ("EMEA", "emea"),
        ("Europe", "emea"),
        ("EU", "emea"),
        ("UK", "emea"),
        ("Middle East", "emea"),
        ("Africa", "emea"),
        ("APAC", "apac"),
        ("Asia", "apac"),
        ("Asia-Pacific", "apac"),
        ("ANZ", "apac"),
        ("Australia", "apac"),
        ("Japan", "apac"),
        ("India", "apac"),
        ("Mars", None),
        ("N/A", None),
    ],
)
def test_region_spellings(spelling, region):
    out = normalise_category("region", pd.Series([spelling], dtype="str")).iloc[0]
    assert (pd.isna(out) and region is None) or out == region


def test_a_billing_cycle_is_the_contract_quarterly_included():
    data = frame({"Account ID": ids(4), "Billing Cycle": ["Monthly", "Annual", "Quarterly", "Biennial"]})
    mapping = map_columns(data)
    assert mapping.mapping["Billing Cycle"] == "contract"
    assert to_canonical(data, mapping)["contract"].tolist() == ["monthly", "annual", "monthly", "two_year"]


def test_nps_is_kept_raw_on_either_scale_and_checked_against_minus_100_to_100():
    survey = frame({"id": ids(4), "NPS": ["9", "10", "0", "7"]})
    mapping = map_columns(survey)
    assert to_canonical(survey, mapping)["nps"].tolist() == [9.0, 10.0, 0.0, 7.0]
    net = frame(
        {"id": ids(4), "NPS Score": ["-100", "45", "150", "100"], "Failed Payments": ["0", "1", "-1", "2"]}
    )
    mapping = map_columns(net)
    result = validate(to_canonical(net, mapping), mapping=mapping, level="basic")
    out = {i.column: i for i in result.quality.issues if i.code == "out_of_range"}
    assert set(out) == {"nps", "failed_payments"} and out["nps"].examples == [150.0]
    assert out["nps"].message.startswith("NPS must be at least -100 and at most 100")
    assert np.isnan(result.rows.loc[2, "nps"]) and result.rows["nps"].tolist()[:2] == [-100.0, 45.0]


def test_the_new_fields_do_not_move_a_telco_score():
    from retainwise.science import scoring
    from retainwise.science.model import load_model

    upload = read_upload(DATA / EXPECTED["crm_currency"]["file"])
    mapping = map_columns(upload.frame)
    rows = validate(to_canonical(upload.frame, mapping), mapping=mapping).rows
    assert "region" in rows.columns
    models = load_model()
    with_saas = rows.assign(
        plan="enterprise", nps=-80.0, failed_payments=4.0, seats_purchased=3.0, logins_30d=0.0
    )
    model = models.choose_for(frozenset(schema.FEATURES) & set(rows.columns)).model
    before = scoring.score_rows(rows.drop(columns="region"), model)["churn_probability"]
    after = scoring.score_rows(with_saas, model)["churn_probability"]
    assert np.allclose(before.to_numpy(), after.to_numpy(), atol=0, rtol=0)
