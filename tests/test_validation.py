"""Validation layers, levels and the quality block of summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.science.canonical import to_canonical
from retainwise.science.mapping import map_columns
from retainwise.science.quality import LEVELS
from retainwise.science.reading import read_upload
from retainwise.science.validation import validate

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "expected_mappings.json").read_text(encoding="utf-8"))
TRAINING = Path(__file__).resolve().parent.parent / "retainwise" / "data" / "telco_churn_train.csv"


def checked(columns: dict, level: str = "standard"):
    data = pd.DataFrame(columns, dtype="str")
    mapping = map_columns(data)
    return validate(to_canonical(data, mapping), level=level, mapping=mapping)


def issue(result, code, column=None):
    found = [i for i in result.quality.issues if i.code == code and (column is None or i.column == column)]
    assert found, (code, column, result.quality.to_dict())
    return found[0]


CLEAN = {
    "customer_id": [f"C{i}" for i in range(20)],
    "tenure": [str(i + 1) for i in range(20)],
    "contract": ["monthly", "annual"] * 10,
    "monthly_charges": ["50"] * 20,
    "total_charges": [str(50 * (i + 1)) for i in range(20)],
    "partner": ["yes", "no"] * 10,
}


def test_clean_file_scores_100_with_no_issues():
    result = checked(CLEAN)
    assert result.quality.issues == [] and result.quality.score == 100.0
    assert (result.rows_in, result.rows_rejected, len(result.rows)) == (20, 0, 20)


def test_rows_without_id_and_duplicates_are_counted_never_dropped_silently():
    data = dict(CLEAN, customer_id=["C1", "C1", "", "N/A", "C2", "C2", "C2"] + [f"D{i}" for i in range(13)])
    result = checked(data)
    missing, dup = issue(result, "missing_id"), issue(result, "duplicate_id")
    assert (missing.count, missing.examples) == (2, ["row 4", "row 5"])
    assert (dup.count, dup.examples) == (3, ["C1", "C2"])
    assert "3 of them with different values" in dup.message  # tenure differs between every copy
    assert (result.rows_in, result.rows_rejected, len(result.rows)) == (20, 5, 15)
    assert result.rows["customer_id"].is_unique
    assert result.rows.set_index("customer_id").loc["C1", "tenure_months"] == 1.0  # the first row kept


def test_types_ranges_and_business_rules():
    data = dict(CLEAN)
    data["tenure"] = ["-3", "abc"] + CLEAN["tenure"][2:]
    data["total_charges"] = ["50", "100", "99999"] + CLEAN["total_charges"][3:]
    data["partner"] = ["sometimes"] + CLEAN["partner"][1:]
    result = checked(data)
    assert issue(result, "out_of_range", "tenure_months").examples == [-3.0]
    assert issue(result, "not_understood", "tenure_months").examples == ["abc"]
    assert issue(result, "not_understood", "partner").count == 1
    assert issue(result, "charges_inconsistent", "total_charges").examples == ["C2"]
    assert issue(result, "missing_values", "tenure_months").count == 2  # the impossible and the unreadable
    assert pd.isna(result.rows.loc[0, "tenure_months"])  # impossible values are not scored
    assert 0 < result.quality.score < 100 and result.rows_rejected == 0


def test_levels():
    data = dict(CLEAN)
    data["tenure"] = ["-3", "abc"] + CLEAN["tenure"][2:]
    data["total_charges"] = ["50", "100", "99999"] + CLEAN["total_charges"][3:]
    basic, standard, strict = (checked(data, level) for level in LEVELS)
    assert {"out_of_range", "not_understood"} <= basic.quality.codes()
    assert (
        "charges_inconsistent" not in basic.quality.codes() and "missing_values" not in basic.quality.codes()
    )
    assert "charges_inconsistent" in standard.quality.codes()
    assert basic.rows_rejected == standard.rows_rejected == 0
    assert strict.rows_rejected == 2 and set(strict.rows["customer_id"]) == set(CLEAN["customer_id"][2:])
    assert basic.quality.score > standard.quality.score > strict.quality.score
    assert strict.quality.to_dict()["level"] == "strict"


def test_readiness():
    few = checked({"id": ["a", "b", "c"], "colour": ["r", "g", "b"]})
    assert {"few_rows", "few_features", "core_feature_missing"} <= few.quality.codes()
    assert few.quality.score < 70
    sparse = checked(
        {
            "id": [str(i) for i in range(20)],
            "tenure": [""] * 19 + ["3"],
            "mrr": [""] * 20,
            "contract": [""] * 20,
            "total": ["1"] * 20,
        }
    )
    assert "sparse_data" in sparse.quality.codes()


def test_nothing_to_score_and_bad_level_are_input_errors():
    with pytest.raises(InputError, match="No row can be scored"):
        checked({"customer_id": ["", "N/A"], "tenure": ["1", "2"]})
    with pytest.raises(InputError, match="use one of basic, standard, strict"):
        checked(CLEAN, "lenient")


def test_quality_block_follows_the_design():
    block = checked(dict(CLEAN, customer_id=["C1"] * 20)).quality.to_dict()
    assert set(block) == {"score", "level", "issues"} and 0 <= block["score"] <= 100
    for item in block["issues"]:
        assert set(item) == {"code", "column", "message", "count", "examples"}
        assert isinstance(item["count"], int) and all(isinstance(e, str) for e in item["examples"])
    json.dumps(block)


def test_training_file_is_clean_enough():
    upload = read_upload(TRAINING)
    mapping = map_columns(upload.frame)
    result = validate(to_canonical(upload.frame, mapping), mapping=mapping)
    assert result.rows_rejected == 0 and result.quality.score > 95
    assert issue(result, "missing_values", "total_charges").count == 7  # new customers: blank TotalCharges


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exports_reject_exactly_what_they_should(name):
    expected = EXPECTED[name]
    upload = read_upload(DATA / expected["file"])
    mapping = map_columns(upload.frame)
    result = validate(to_canonical(upload.frame, mapping), mapping=mapping)
    assert (result.rows_in, result.rows_rejected) == (expected["rows_in"], expected["rows_rejected"])
    assert set(expected["issues"]) <= result.quality.codes()
    assert "not_understood" not in result.quality.codes() or "not_understood" in expected["issues"]


def test_uncertain_mappings_are_listed_for_a_person_to_confirm():
    data = {k: v for k, v in CLEAN.items() if k != "contract"}
    result = checked(dict(data, Contarct=["monthly", "annual"] * 10))
    uncertain = [i for i in result.quality.issues if i.code == "uncertain_mapping"]
    assert [(i.column, i.examples) for i in uncertain] == [("contract", ["Contarct"])]
    assert "fuzzy evidence" in uncertain[0].message and "override" in uncertain[0].message
    assert result.quality.score == 100.0  # a note, not a fault of the data
