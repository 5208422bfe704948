"""The playbook: an action per at-risk customer from its strongest actionable driver, and the revenue it protects."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retainwise.errors import ConfigError
from retainwise.science import playbook


def _frame(rows):
    return pd.DataFrame(
        [
            {
                "customer_id": cid,
                "churn_probability": p,
                "churn_risk": tier,
                "monthly_charges": charges,
                "risk_factors": json.dumps(factors),
            }
            for cid, p, tier, charges, factors in rows
        ]
    )


def test_the_strongest_actionable_driver_decides():
    frame = _frame(
        [
            # gender is not actionable: the contract (the next driver) decides
            (
                "a",
                0.8,
                "HIGH",
                100.0,
                [
                    {"feature": "gender", "value": "male", "impact": 0.9},
                    {"feature": "contract", "value": "monthly", "impact": 0.5},
                ],
            ),
            (
                "b",
                0.5,
                "MEDIUM",
                50.0,
                [
                    {"feature": "tenure_months", "value": 2, "impact": 0.7},
                    {"feature": "contract", "value": "monthly", "impact": 0.6},
                ],
            ),
            (
                "c",
                0.1,
                "LOW",
                80.0,
                [{"feature": "contract", "value": "monthly", "impact": 0.2}],
            ),  # not at risk
            (
                "d",
                0.7,
                "HIGH",
                60.0,
                [{"feature": "tenure_months", "value": 30, "impact": 0.4}],
            ),  # no rule matches
        ]
    )
    actions = playbook.recommend(frame)
    assert actions.tolist() == ["Offer an annual plan", "Book an onboarding call", "", ""]
    assert playbook.revenue_protected(frame, actions).tolist() == pytest.approx([80.0, 25.0, 0.0, 0.0])
    table = playbook.summarise(frame, actions)
    assert table["action"].tolist() == ["Offer an annual plan", "Book an onboarding call"]
    assert table["customers"].tolist() == [1, 1]


def test_a_tenant_playbook_replaces_the_default(tmp_path):
    own = tmp_path / "acme.yaml"
    own.write_text("rules:\n  - feature: contract\n    values: [monthly]\n    action: Call them\n")
    frame = _frame([("a", 0.8, "HIGH", 10.0, [{"feature": "contract", "value": "monthly", "impact": 0.5}])])
    assert playbook.recommend(frame, playbook.load(own)).tolist() == ["Call them"]


def test_a_broken_playbook_is_a_configuration_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{feature: contract}]\n")
    with pytest.raises(ConfigError):
        playbook.load(bad)
