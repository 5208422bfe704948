"""Per-customer explanations from exact TreeSHAP values.

SHAP values come from the model (XGBoost's native TreeSHAP), are grouped to
business features (several model features may explain one business column),
and become the top three risk factors (pushing towards churn), the top three
protective factors (pushing away) and one plain-English sentence.

Impacts are in log-odds, the model's own additive scale: the impacts of all
features plus the base value add up to the customer's score. Features the
upload did not contain at all are left out of the factor lists (they are not a
fact about this customer); their contribution still counts in the score.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retainwise.science import playbook, schema
from retainwise.science.features import BUSINESS_FEATURE

TOP_N = 3


@dataclass
class Explanations:
    """SHAP values grouped to business features, one row per customer."""

    values: pd.DataFrame  # rows x business features, log-odds
    base: np.ndarray  # base value per row

    def global_drivers(self) -> pd.DataFrame:
        """Mean |impact| per business feature, strongest first."""
        mean_abs = self.values.abs().mean().sort_values(ascending=False)
        return pd.DataFrame({"feature": mean_abs.index, "mean_abs_impact": mean_abs.to_numpy()})


def explain_rows(rows: pd.DataFrame, model) -> Explanations:
    """Exact SHAP values for ``rows``, grouped to business features.

    ``model`` is a :class:`~retainwise.science.model.ChurnModel`, or a
    :class:`~retainwise.science.model.ModelSet` (the model it chooses for ``rows``).
    Grouping sums a feature's values into its business feature, so grouped
    values plus the base still equal the margin.
    """
    if hasattr(model, "for_rows"):
        model = model.for_rows(rows)
    contribs, base = model.contributions(rows)
    names = [BUSINESS_FEATURE.get(f, f) for f in model.features]
    groups = list(dict.fromkeys(names))
    if groups != names:  # several model features explain one business feature: sum them (one matrix product)
        membership = np.zeros((len(names), len(groups)), dtype=contribs.dtype)
        membership[np.arange(len(names)), [groups.index(n) for n in names]] = 1.0
        contribs = contribs @ membership
    return Explanations(values=pd.DataFrame(contribs, columns=groups, index=rows.index), base=base)


def rules_explanations(rows: pd.DataFrame, scale: float | None = None) -> Explanations:
    """The rules baseline's score as column impacts (its score = 0.5 + impacts), for rules-served rows.

    ``scale``: the file's usage-score scale (rules.usage_scale) when ``rows`` is part of it.
    """
    from retainwise.science import rules

    impacts = rules.contributions(rows, scale).fillna(0.0)
    return Explanations(values=impacts, base=np.full(len(rows), rules.BASE))


def _display_value(name: str, value) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    kind = schema.column(name).kind if name in schema.BY_NAME else "number"
    if kind == "flag":
        return "yes" if float(value) >= 0.5 else "no"
    if kind == "number":
        f = float(value)
        return int(f) if f.is_integer() else round(f, 2)
    return str(value)


def _phrase(name: str, value) -> str:
    label = schema.column(name).label if name in schema.BY_NAME else name
    if value is None:
        return f"{label} (missing)"
    return f"{label} ({str(value).replace('_', ' ')})"


class FactorTables:
    """Per distinct value of each column: its JSON factor prefix (up to the impact), its phrase and (with
    a playbook's ``rules``) the action a rule gives it as a risk factor ("" when none does).

    Each distinct value is described once (a file has few), and once per *run* when the same tables
    serve every chunk (the pipeline keeps one); :meth:`codes` points every cell at its entry, so a row's
    factors are looked up only for the slots it lists.
    """

    _MISSING = object()  # the key of a column's missing value

    def __init__(self, rules=None) -> None:
        self.rules = rules
        self._index: dict[str, dict] = {}
        self._entries: list[tuple[str, str, str]] = []
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _id(self, known: dict, name: str, key) -> int:
        if key not in known:
            v = None if key is self._MISSING else _display_value(name, key)
            action = playbook.action_for([{"feature": name, "value": v}], self.rules) if self.rules else ""
            # the factor as risk_factors holds it: the rule sees what recommend() sees
            self._entries.append((f'{{"feature":{json.dumps(name)},"value":{json.dumps(v)},"impact":',
                                  _phrase(name, v), action))
            known[key], self._arrays = len(self._entries) - 1, None
        return known[key]

    def codes(self, rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """rows x columns: each cell's entry."""
        out = np.empty((len(rows), len(columns)), dtype=np.int64)
        for j, name in enumerate(columns):
            local, uniques = pd.factorize(rows[name], use_na_sentinel=True)
            known = self._index.setdefault(name, {})
            ids = [self._id(known, name, v) for v in uniques] + [self._id(known, name, self._MISSING)]
            out[:, j] = np.asarray(ids, dtype=np.int64)[local]  # code -1 (missing) takes the last
        return out

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prefix, phrase, action) per entry."""
        if self._arrays is None:
            cols = list(zip(*self._entries, strict=True)) if self._entries else [(), (), ()]
            self._arrays = tuple(np.array(c, dtype=object) for c in cols)
        return self._arrays


def _impacts(values: np.ndarray) -> np.ndarray:
    """``repr(round(x, 4))`` of each value, as json.dumps writes it; formatted once per distinct value."""
    x = values.astype("float64").ravel()
    rounded = np.round(x, 4)
    # numpy rounds x * 1e4 (itself rounded); near a tie Python's correctly rounded round() decides
    tie = np.abs(np.abs(x * 1e4) % 1 - 0.5) < 1e-6
    rounded[tie] = [round(float(v), 4) for v in x[tie]]
    distinct, codes = np.unique(rounded, return_inverse=True)
    return np.array([repr(float(v)) for v in distinct], dtype=object)[codes].reshape(values.shape)


def _join(parts: list[np.ndarray], count: np.ndarray) -> np.ndarray:
    """"a", "a and b", "a, b and c" per row, for the first ``count`` of ``parts``."""
    a, b, c = parts
    return np.where(count == 1, a, np.where(count == 2, a + " and " + b, a + ", " + b + " and " + c))


def factor_columns(rows: pd.DataFrame, expl: Explanations, probabilities, tiers, *,
                   with_actions: bool = False, tables: FactorTables | None = None) -> pd.DataFrame:
    """``risk_factors``, ``protective_factors`` (JSON) and ``explanation`` for each row, and with
    ``with_actions`` the default playbook's ``recommended_action`` (what :func:`playbook.recommend` gives
    for these risk factors and tiers). ``tables``: a run's :class:`FactorTables`, kept across chunks
    (made with the default playbook's rules when ``with_actions``).

    Array operations over the contribution matrix (argsort per row, phrase
    tables per distinct value): no Python loop per customer.
    """
    present = [f for f in expl.values.columns if f in rows.columns]
    n = len(rows)
    values = expl.values[present].to_numpy()
    order = np.argsort(-values, axis=1)  # strongest risk first
    if tables is None:
        tables = FactorTables(playbook.load() if with_actions else None)
    cell = tables.codes(rows, present)
    prefix, phrase, action_of = tables.arrays
    sides = {}
    for side, columns, sign in (("risk", order[:, :TOP_N], 1), ("protect", order[:, ::-1][:, :TOP_N], -1)):
        listed = np.take_along_axis(values, columns, axis=1)
        picked = listed * sign > 0
        picked &= np.cumprod(picked, axis=1).astype(bool)  # a list stops at the first value of the other sign
        count = picked.sum(axis=1)
        codes = np.take_along_axis(cell, columns, axis=1)
        entries = np.where(picked, prefix[codes] + _impacts(listed) + "}", "")
        text = [np.where(picked[:, k], phrase[codes[:, k]], "") for k in range(columns.shape[1])]
        text += [np.full(n, "", dtype=object)] * (TOP_N - len(text))
        json_list = "[" + entries[:, 0] if entries.shape[1] else np.full(n, "[", dtype=object)
        for k in range(1, entries.shape[1]):
            json_list = json_list + np.where(picked[:, k], "," + entries[:, k], "")
        sides[side] = (json_list + "]", _join(text, count), count)
        if side == "risk" and with_actions:
            action = _actions(np.where(picked, action_of[codes], "") if len(action_of) else
                              np.full((n, 0), "", dtype=object), tiers)
    out = pd.DataFrame({"explanation": _sentences(probabilities, tiers, sides), "risk_factors": sides["risk"][0],
                        "protective_factors": sides["protect"][0]}, index=rows.index)
    if with_actions:
        out["recommended_action"] = action
    return out


def _actions(slot: np.ndarray, tiers) -> np.ndarray:
    """Per at-risk row, the first action of its listed risk factors (``slot``: rows x factors, strongest
    first, "" where no rule matches or nothing is listed): :func:`playbook.recommend` by array."""
    chosen = np.full(len(slot), "", dtype=object)
    for k in range(slot.shape[1] - 1, -1, -1):  # the strongest slot with an action wins: fill from the last
        chosen = np.where(slot[:, k] != "", slot[:, k], chosen)
    at_risk = np.isin(np.asarray(tiers, dtype=object), playbook.AT_RISK)
    return np.where(at_risk, chosen, "")


def _sentences(probabilities, tiers, sides) -> np.ndarray:
    percent = np.rint(np.asarray(probabilities, dtype="float64") * 100).astype(int)
    head = (pd.Series(np.asarray(tiers, dtype=object)).str.capitalize().to_numpy(dtype=object) + " risk ("
            + np.array([f"{k}%" for k in range(101)], dtype=object)[np.clip(percent, 0, 100)] + ")")
    up, n_up = sides["risk"][1], sides["risk"][2]
    down, n_down = sides["protect"][1], sides["protect"][2]
    return np.select(
        [(n_up > 0) & (n_down > 0), n_up > 0, n_down > 0],
        [head + ": driven mostly by " + up + "; " + down + " work in the customer's favour.",
         head + ": driven mostly by " + up + ".", head + ": " + down + " keep the risk down."],
        head + ": no single factor stands out.")
