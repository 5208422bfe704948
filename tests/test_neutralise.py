"""CSV injection (OWASP): cells echoing customer text never start a formula."""

from __future__ import annotations

import pandas as pd
import pytest

from retainwise.science.neutralise import is_risky, neutralise, neutralise_frame

PAYLOADS = [
    '=HYPERLINK("http://evil","x")',
    "+1-555",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    " =1+1",
    "\n=1",
    "＝1+1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_cells_are_neutralised(payload):
    out = neutralise(payload)
    assert out == "'" + payload and not is_risky(out)
    assert neutralise(out) == out


@pytest.mark.parametrize("value", ["C-001", "7590-VHVEG", "'=already", "", "plain text", "1.5"])
def test_harmless_cells_are_left_alone(value):
    assert neutralise(value) == value


def test_non_strings_pass_through():
    assert neutralise(None) is None and neutralise(3.5) == 3.5


def test_frame_neutralises_only_the_named_columns():
    frame = pd.DataFrame(
        {
            "customer_id": PAYLOADS + ["ok", None],
            "churn_probability": [0.5] * (len(PAYLOADS) + 2),
            "note": ["=1"] * (len(PAYLOADS) + 2),
        }
    )
    safe = neutralise_frame(frame, ["customer_id", "missing_column"])
    assert safe["customer_id"].iloc[:-2].tolist() == ["'" + p for p in PAYLOADS]
    assert safe["customer_id"].iloc[-2] == "ok" and pd.isna(safe["customer_id"].iloc[-1])
    assert safe["note"].tolist() == frame["note"].tolist()  # not named: untouched
    assert frame["customer_id"].iloc[0] == PAYLOADS[0]  # the input is not modified
    assert neutralise_frame(safe, ["customer_id"]).equals(safe)
