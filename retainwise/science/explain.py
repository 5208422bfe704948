"""Per-customer explanations from exact TreeSHAP values.

SHAP values come from the model (XGBoost's native TreeSHAP), are grouped to
business features (several model features may explain one business column),
and become the top three risk factors (pushing towards churn), the top three
protective factors (pushing away) and one plain-English sentence.

Impacts are in log-odds, the model's own additive scale: the impacts of all
features plus the base value add up to the customer's score. Features the
upload did not contain at all are left out of the factor lists (they are not a
fact about this customer); their contribution still counts in the score.

The factor lists and sentences are text assembled by Arrow from small tables
(one entry per distinct value of a column, per rounded impact, per tier and
percent): numpy picks each row's entries, no Python string is made per
customer, and the columns are pandas ``str`` (Arrow-backed).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


#: A tenant's own columns (not in the schema) are named ``own:<header>``: their label is the header.
OWN = "own:"


def label(name: str) -> str:
    """The words a factor is shown with: the schema's label, or a tenant column's own header."""
    if name in schema.BY_NAME:
        return schema.column(name).label
    return name.removeprefix(OWN)


def _display_value(name: str, value) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    kind = schema.column(name).kind if name in schema.BY_NAME else "number"
    if kind == "flag":
        return "yes" if float(value) >= 0.5 else "no"
    if kind == "number":
        try:
            f = float(value)
        except (TypeError, ValueError):  # a tenant's own column of text: shown as written
            return str(value)
        if not math.isfinite(f):
            return str(value)
        return int(f) if f.is_integer() else round(f, 2)
    return str(value)


def _phrase(name: str, value) -> str:
    label_ = label(name)
    if value is None:
        return f"{label_} (missing)"
    return f"{label_} ({str(value).replace('_', ' ')})"


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
        self._arrays: _Entries | None = None
        self._batches: list[tuple] = []  # the entries made into Arrow text so far, batch by batch

    def _id(self, known: dict, name: str, key) -> int:
        if key not in known:
            v = None if key is self._MISSING else _display_value(name, key)
            action = playbook.action_for([{"feature": name, "value": v}], self.rules) if self.rules else ""
            # the factor as risk_factors holds it: the rule sees what recommend() sees
            self._entries.append(
                (
                    f'{{"feature":{json.dumps(name)},"value":{json.dumps(v)},"impact":',
                    _phrase(name, v),
                    action,
                )
            )
            known[key], self._arrays = len(self._entries) - 1, None
        return known[key]

    def codes(self, rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """rows x columns: each cell's entry (column-major: a column's entries are contiguous)."""
        out = np.empty((len(columns), len(rows)), dtype=np.int64)
        for j, name in enumerate(columns):
            local, uniques = pd.factorize(rows[name], use_na_sentinel=True)
            known = self._index.setdefault(name, {})
            ids = [self._id(known, name, v) for v in uniques] + [self._id(known, name, self._MISSING)]
            out[j] = np.asarray(ids, dtype=np.int64)[local]  # code -1 (missing) takes the last
        return out.T

    @property
    def blank(self) -> int:
        """The entry after the last: "" (or "[]"), what an unlisted slot points at."""
        return len(self._entries)

    @property
    def arrays(self) -> _Entries:
        """The entries as Arrow text (each table then :attr:`blank`) and whether each has an action."""
        if self._arrays is None:
            # only the entries new since the last call are made into text: a run's tables grow chunk by
            # chunk (a column of amounts adds values to every chunk), and Arrow joins the batches in C
            new = self._entries[sum(len(b[-1]) for b in self._batches) :]
            if new:
                prefix, phrase, action = (list(c) for c in zip(*new, strict=True))
                self._batches.append(
                    (
                        _text(["[" + p for p in prefix]),
                        _text(["," + p for p in prefix]),
                        *(_text([p + suffix for p in phrase]) for suffix in _SUFFIXES),
                        _text(action),
                        np.array([a != "" for a in action], dtype=bool),
                    )
                )
            tables = [
                pa.concat_arrays([b[i] for b in self._batches] + [_text([end])])
                for i, end in enumerate(["[]", "", *[""] * len(_SUFFIXES), ""])
            ]
            self._arrays = _Entries(
                first=tables[0],
                later=tables[1],
                phrase=pa.concat_arrays(tables[2:-1]),
                action=tables[-1],
                has_action=np.concatenate([b[-1] for b in self._batches] + [np.zeros(1, dtype=bool)]),
            )
        return self._arrays


class _Entries(NamedTuple):
    first: (
        pa.Array
    )  # '[{"feature":...,"value":...,"impact":' (a list's first factor up to its impact); blank "[]"
    later: pa.Array  # ',{"feature":...' (a later factor)
    phrase: (
        pa.Array
    )  # 'contract (monthly)' + each of _SUFFIXES in turn: suffix k of entry e at k * (blank + 1) + e
    action: pa.Array
    has_action: np.ndarray


# Text is Arrow large_string throughout, what pandas' "str" dtype holds: the columns built here become
# the frame's columns without a copy or a Python object per cell. Each column is one element-wise
# concatenation of pieces taken from small tables; the separators are folded into the pieces (fewer
# pieces, less time).
_TEXT = pa.large_string()
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_SUFFIXES = (
    "",
    " and ",
    ", ",
    "; ",
)  # after a phrase: the last, the one before the last, others, the last risk
_LARGEST = (
    1000  # impacts this large (log-odds: never in practice) and non-finite ones are formatted by Python
)


def _text(values) -> pa.Array:
    return pa.array(values, _TEXT)


def _concat(*parts: pa.Array) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays: one pass, no Python per row."""
    return pc.binary_join_element_wise(*parts, pa.scalar("", _TEXT))


@functools.cache
def _impact_tables() -> tuple[pa.Array, pa.Array]:
    """The two halves of a formatted impact, after a blank (""): the sign and whole part ("0".."999",
    "-0".."-999"), and the fraction closing the factor (".0}", ".0001}", ..., ".9999}"), then the same
    closing the list too (".0}]", ...)."""
    wholes = [str(w) for w in range(_LARGEST)]
    fractions = ["." + (f"{f:04d}".rstrip("0") or "0") + "}" for f in range(10_000)]
    return _text([""] + wholes + ["-" + w for w in wholes]), _text(
        [""] + fractions + [f + "]" for f in fractions]
    )


def _impacts(values: np.ndarray, closing: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``repr(round(x, 4)) + "}"`` of each value, as json.dumps writes the impact, closing its factor (and
    with ``closing``, its list: ``"}]"``): as ``(wholes, w, f)``, the text being ``wholes[w] + fractions[f]``
    (:func:`_impact_tables`; index 0 is "").

    Built from the integer count of 1e-4s: the double nearest a 4-decimal number prints as that number
    without trailing zeros (repr is the shortest string that reads back, and at these magnitudes no other
    4-decimal number reads back to the same double). Each of the few other values gets its own entry at
    the end of ``wholes`` and the blank fraction.
    """
    x = np.asarray(values, dtype="float64")
    rounded = np.round(x, 4)
    # numpy rounds x * 1e4 (itself rounded); near a tie Python's correctly rounded round() decides
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite values: no tie, formatted by Python below
        tie = np.abs(np.abs(x * 1e4) % 1 - 0.5) < 1e-6
    rounded[tie] = [round(float(v), 4) for v in x[tie]]
    odd = ~(np.abs(rounded) < _LARGEST)  # NaN included
    steps = np.rint(np.abs(np.where(odd, 0.0, rounded)) * 1e4).astype(np.int64)
    wholes, _ = _impact_tables()
    w = 1 + steps // 10_000 + _LARGEST * np.signbit(rounded)  # -0.0 is "-0.0", as repr writes it
    f = 1 + steps % 10_000 + 10_000 * closing
    if odd.any():
        extra = [
            repr(round(float(v), 4)) + ("}]" if last else "}")
            for v, last in zip(x[odd], closing[odd], strict=True)
        ]
        w[odd], f[odd] = len(wholes) + np.arange(len(extra)), 0
        wholes = pa.concat_arrays([wholes, _text(extra)])
    return wholes, w, f


def factor_columns(
    rows: pd.DataFrame,
    expl: Explanations,
    probabilities,
    tiers,
    *,
    with_actions: bool = False,
    tables: FactorTables | None = None,
) -> pd.DataFrame:
    """``risk_factors``, ``protective_factors`` (JSON) and ``explanation`` for each row, and with
    ``with_actions`` the default playbook's ``recommended_action`` (what :func:`playbook.recommend` gives
    for these risk factors and tiers). ``tables``: a run's :class:`FactorTables`, kept across chunks
    (made with the default playbook's rules when ``with_actions``). The columns are pandas ``str``.

    Array operations over the contribution matrix (argsort per row, entries per distinct value):
    no Python loop per customer. numpy chooses each row's slots and the table entry of each piece of
    text; Arrow takes the pieces and concatenates them, no Python string per cell.
    """
    present = [f for f in expl.values.columns if f in rows.columns]
    n, m = len(rows), len(present)
    values = np.ascontiguousarray(
        expl.values[present].to_numpy()
    )  # row by row: the sort and the picks read rows
    order = np.argsort(-values, axis=1)  # strongest risk first
    if tables is None:
        tables = FactorTables(playbook.load() if with_actions else None)
    cell = tables.codes(rows, present).T.ravel()  # column-major: cell j * n + i
    entries, blank = tables.arrays, tables.blank
    wide = np.full((n, TOP_N), blank)  # every side has TOP_N slots; slots past the row's columns stay blank
    slot = np.arange(TOP_N)
    sides = {}
    for side, columns, sign in (("risk", order[:, :TOP_N], 1), ("protect", order[:, ::-1][:, :TOP_N], -1)):
        listed = values.ravel()[columns + (np.arange(n) * m)[:, None]]
        picked = listed * sign > 0
        for k in range(1, picked.shape[1]):  # a list stops at the first value of the other sign
            picked[:, k] &= picked[:, k - 1]
        count = picked.sum(axis=1)
        codes = wide.copy()
        codes[:, : picked.shape[1]] = np.where(picked, cell[columns * n + np.arange(n)[:, None]], blank)
        # json: [first factor up to its impact][impact]}  [,next factor...][impact]}  ...  with "]" after the last
        w, f = np.zeros((n, TOP_N), dtype=np.int64), np.zeros((n, TOP_N), dtype=np.int64)  # blank halves
        last = (slot == count[:, None] - 1)[:, : picked.shape[1]]
        wholes, w[:, : picked.shape[1]][picked], f[:, : picked.shape[1]][picked] = _impacts(
            listed[picked], last[picked]
        )
        fractions = _impact_tables()[1]
        sides[side] = (
            _concat(
                *(
                    part
                    for k in range(TOP_N)
                    for part in (
                        (entries.later if k else entries.first).take(codes[:, k]),
                        wholes.take(w[:, k]),
                        fractions.take(f[:, k]),
                    )
                )
            ),
            codes,
            count,
        )
    tier, distinct = _tier_codes(tiers)
    columns = {
        "explanation": _sentences(probabilities, tier, distinct, sides, entries.phrase, blank),
        "risk_factors": sides["risk"][0],
        "protective_factors": sides["protect"][0],
    }
    if with_actions:
        columns["recommended_action"] = _actions(sides["risk"][1], entries, blank, tier, distinct)
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(text, dtype=_STR) for name, text in columns.items()},
        index=rows.index,
    )


def _join(
    codes: np.ndarray, count: np.ndarray, phrase: pa.Array, blank: int, last: np.ndarray
) -> list[pa.Array]:
    """The pieces of "a", "a and b", "a, b and c" per row (``codes``: rows x slots, the first ``count``
    listed), to concatenate: each phrase with its separator (_SUFFIXES); the last with ``last``'s."""
    k = np.arange(codes.shape[1])
    suffix = np.select([k < count[:, None] - 2, k == count[:, None] - 2], [2, 1], last[:, None])
    return [phrase.take(suffix[:, j] * (blank + 1) + codes[:, j]) for j in k]


def _tier_codes(tiers) -> tuple[np.ndarray, np.ndarray]:
    """Each row's tier as a code into the distinct tiers (few): per-tier text is made once per tier."""
    codes, distinct = pd.factorize(np.asarray(tiers, dtype=object), use_na_sentinel=False)
    return codes, np.asarray(distinct, dtype=object)


def _actions(
    codes: np.ndarray, entries: _Entries, blank: int, tier: np.ndarray, distinct: np.ndarray
) -> pa.Array:
    """Per at-risk row, the first action of its listed risk factors (``codes``: rows x slots, strongest
    first, ``blank`` where nothing is listed): :func:`playbook.recommend` by array."""
    chosen = np.full(len(codes), blank, dtype=np.int64)
    for k in range(codes.shape[1] - 1, -1, -1):  # the strongest slot with an action wins: fill from the last
        chosen = np.where(entries.has_action[codes[:, k]], codes[:, k], chosen)
    at_risk = np.isin(distinct, playbook.AT_RISK)[tier]
    return entries.action.take(np.where(at_risk, chosen, blank))


# the sentence around its phrases, by case: nothing listed, only protective factors, only risk, both
_OPEN = (": ", ": ", ": driven mostly by ", ": driven mostly by ")
_CLOSE = ("no single factor stands out.", " keep the risk down.", ".", " work in the customer's favour.")


def _sentences(
    probabilities, tier: np.ndarray, distinct: np.ndarray, sides, phrase: pa.Array, blank: int
) -> pa.Array:
    percent = np.clip(np.rint(np.asarray(probabilities, dtype="float64") * 100).astype(int), 0, 100)
    capital = pd.Series(distinct, dtype=object).str.capitalize().to_numpy(dtype=object)
    (up, n_up), (down, n_down) = sides["risk"][1:], sides["protect"][1:]
    case = 2 * (n_up > 0) + (n_down > 0)
    # one opening per tier, percent and case (a few hundred), taken by each row
    heads = _text(
        [t + " risk (" + f"{k}%)" + opening for t in capital for k in range(101) for opening in _OPEN]
    )
    return _concat(
        heads.take((tier * 101 + percent) * 4 + case),
        *_join(up, n_up, phrase, blank, np.where(case == 3, 3, 0)),  # "; " between the lists
        *_join(down, n_down, phrase, blank, np.zeros_like(case)),
        _text(_CLOSE).take(case),
    )
