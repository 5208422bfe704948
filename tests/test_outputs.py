import json

import numpy as np
import pandas as pd

from retainwise.science.outputs import RESULT_COLUMNS, ResultsWriter, write_results, write_summary


def _results(ids):
    n = len(ids)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": np.linspace(0, 1, n),
            "churn_risk": ["LOW"] * n,
            "predicted_churn": [0] * n,
            "explanation": ["Low risk (1%)."] * n,
            "risk_factors": ["[]"] * n,
            "protective_factors": ["[]"] * n,
            "recommended_action": [""] * n,
            "model_version": ["v"] * n,
            "experiment_group": ["ml"] * n,
            "monthly_charges": [10.0] * n,
        }
    )


def test_results_have_the_design_columns_in_order(tmp_path):
    path = write_results(_results(["a", "b"]), tmp_path / "results.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header[: len(RESULT_COLUMNS)] == RESULT_COLUMNS


def test_formula_cells_are_neutralised(tmp_path):
    path = write_results(_results(['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "ok"]), tmp_path / "r.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert not back["customer_id"].str.match(r"^[=+\-@\t\r]").any()
    assert back["customer_id"].iloc[-1] == "ok"


def test_summary_is_json_safe(tmp_path):
    path = write_summary(
        {"x": np.float64("nan"), "n": np.int64(3), "nested": [{"v": np.float32(0.5)}]}, tmp_path / "s.json"
    )
    assert json.loads(path.read_text()) == {"x": None, "n": 3, "nested": [{"v": 0.5}]}


def test_chunks_appended_equal_one_write_and_parquet_holds_the_same_rows(tmp_path):
    whole = _results([f"c{i}" for i in range(10)] + ["=1+1"])
    one = write_results(whole, tmp_path / "one" / "results.csv")
    with ResultsWriter(tmp_path / "chunked" / "results.csv") as writer:
        for start in range(0, len(whole), 3):
            writer.append(whole.iloc[start : start + 3])
    assert (tmp_path / "chunked" / "results.csv").read_bytes() == one.read_bytes()
    back = pd.read_parquet(tmp_path / "chunked" / "results.parquet")
    csv = pd.read_csv(one, dtype={"customer_id": str, "recommended_action": str}, keep_default_na=False)
    assert back["customer_id"].tolist() == csv["customer_id"].tolist()  # neutralised in both
    assert back.columns.tolist() == csv.columns.tolist()
    np.testing.assert_allclose(back["churn_probability"], whole["churn_probability"])


def test_csv_body_holds_the_fields_pandas_writes():
    """Field for field what pandas writes (Arrow's writer quotes more, which no CSV reader sees)."""
    import csv
    import io

    from retainwise.science.outputs import csv_bytes

    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(["a,b", 'x"y', "c", "line\nbreak", None, ""], dtype="str"),
            "p": [0.1234567, 1.0, 0.0001234567, 0.5, np.nan, 0.333333333],
            "n": [1, 0, 1, 2, 3, 4],
            "e": ["Hi, there", "", "plain", '[{"feature":"x"}]', "z", "ok"],
        }
    )
    ours = csv_bytes(frame).decode()
    pandas = frame.to_csv(index=False, header=False, float_format="%.6g", lineterminator="\n")
    assert list(csv.reader(io.StringIO(ours))) == list(csv.reader(io.StringIO(pandas)))
    assert len(list(csv.reader(io.StringIO(ours)))) == len(frame)  # the line break in a field stays in it
