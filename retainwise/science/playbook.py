"""Recommended actions: a playbook maps risk drivers to what a business can do about them.

Each at-risk customer (MEDIUM or HIGH) gets the action for its strongest *actionable* driver: the
first of its risk factors (strongest first, as in ``risk_factors`` of results.csv) that a rule of the
playbook matches. The expected monthly revenue an action protects is the customer's churn probability
times its monthly charges (the revenue at risk it addresses). The default playbook ships with the
package (``playbook.yaml``); a tenant may have its own file in the same shape.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from retainwise.errors import ConfigError

DEFAULT = Path(__file__).with_name("playbook.yaml")
AT_RISK = ("HIGH", "MEDIUM")


@dataclass(frozen=True)
class Rule:
    """One line of a playbook: a driver (feature, and optionally values or a bound) and its action."""

    feature: str
    action: str
    values: tuple = ()
    below: float | None = None
    above: float | None = None

    def matches(self, factor: dict) -> bool:
        if factor.get("feature") != self.feature:
            return False
        value = factor.get("value")
        if self.values:
            return value in self.values or str(value) in {str(v) for v in self.values}
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return (self.below is None or number < self.below) and (self.above is None or number > self.above)


@functools.cache
def load(path: str | Path = DEFAULT) -> tuple[Rule, ...]:
    """The rules of the playbook at ``path``. ConfigError when it is missing or malformed."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return tuple(
            Rule(
                feature=str(r["feature"]),
                action=str(r["action"]),
                values=tuple(r.get("values") or ()),
                below=r.get("below"),
                above=r.get("above"),
            )
            for r in data["rules"]
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"The playbook {Path(path).name} cannot be read: {exc}.", code="bad_playbook"
        ) from None


def action_for(factors: list[dict], rules: tuple[Rule, ...]) -> str:
    """The action for the strongest factor a rule matches ("" when none does)."""
    for factor in sorted(factors, key=lambda f: -float(f.get("impact") or 0)):
        for rule in rules:
            if rule.matches(factor):
                return rule.action
    return ""


def _factors(cell) -> list[dict]:
    if isinstance(cell, list):
        return cell
    try:
        return json.loads(cell) if isinstance(cell, str) and cell else []
    except ValueError:
        return []


def recommend(frame: pd.DataFrame, rules: tuple[Rule, ...] | None = None) -> pd.Series:
    """The recommended action per customer of ``frame`` (results.csv's columns; "" when not at risk or no
    rule applies), same index. Raises KeyError when ``risk_factors`` or ``churn_risk`` is missing."""
    rules = load() if rules is None else rules
    at_risk = frame["churn_risk"].isin(AT_RISK)
    actions = [
        action_for(_factors(f), rules) if risky else ""
        for f, risky in zip(frame["risk_factors"], at_risk, strict=True)
    ]
    return pd.Series(actions, index=frame.index, name="recommended_action", dtype="str")


def revenue_protected(frame: pd.DataFrame, actions: pd.Series) -> pd.Series:
    """Expected monthly revenue each action protects: probability x monthly charges (0 without an action)."""
    if "monthly_charges" not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    revenue = frame["churn_probability"].astype(float) * pd.to_numeric(
        frame["monthly_charges"], errors="coerce"
    )
    return revenue.where(actions.ne(""), 0.0).fillna(0.0)


def summarise(frame: pd.DataFrame, actions: pd.Series) -> pd.DataFrame:
    """Actions ranked by the revenue at risk they address: ``action, customers, revenue``."""
    revenue = revenue_protected(frame, actions)
    table = (
        pd.DataFrame({"action": actions, "revenue": revenue})[actions.ne("")]
        .groupby("action")
        .agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
    )
    return table.sort_values(["revenue", "customers"], ascending=False).reset_index()
