"""Each customer's risk factors, protective factors, sentence and action, from grouped SHAP values.

The top three risk factors (pushing towards churn), the top three protective factors (pushing away)
and one plain-English sentence per customer, from :class:`~retainwise.science.explain.Explanations`.
Features the upload did not contain at all are left out of the factor lists (they are not a fact
about this customer); their contribution still counts in the score.

The factor lists and sentences are text assembled by Arrow from small tables
(one entry per distinct value of a column, per rounded impact, per tier and
percent; :mod:`retainwise.science.arrow_text`): numpy picks each row's entries,
no Python string is made per customer, and the columns are pandas ``str``
(Arrow-backed).
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from retainwise.science import playbook, schema
from retainwise.science.arrow_text import STR, concat, impact_tables, impacts, text
from retainwise.science.explain import Explanations

TOP_N = 3


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
                        text(["[" + p for p in prefix]),
                        text(["," + p for p in prefix]),
                        *(text([p + suffix for p in phrase]) for suffix in _SUFFIXES),
                        text(action),
                        np.array([a != "" for a in action], dtype=bool),
                    )
                )
            tables = [
                pa.concat_arrays([b[i] for b in self._batches] + [text([end])])
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
    #: '[{"feature":...,"value":...,"impact":' (a list's first factor up to its impact); blank "[]"
    first: pa.Array
    #: ',{"feature":...' (a later factor)
    later: pa.Array
    #: 'contract (monthly)' + each of _SUFFIXES in turn: suffix k of entry e at k * (blank + 1) + e
    phrase: pa.Array
    action: pa.Array
    has_action: np.ndarray


#: After a phrase: the last, the one before the last, others, the last risk.
_SUFFIXES = ("", " and ", ", ", "; ")


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
    # row by row: the sort and the picks read rows
    values = np.ascontiguousarray(expl.values[present].to_numpy())
    order = np.argsort(-values, axis=1)  # strongest risk first
    if tables is None:
        tables = FactorTables(playbook.load() if with_actions else None)
    cell = tables.codes(rows, present).T.ravel()  # column-major: cell j * n + i
    entries, blank = tables.arrays, tables.blank
    sides = {
        "risk": _side(values, order[:, :TOP_N], 1, cell, entries, blank),
        "protect": _side(values, order[:, ::-1][:, :TOP_N], -1, cell, entries, blank),
    }
    tier, distinct = _tier_codes(tiers)
    columns = {
        "explanation": _sentences(probabilities, tier, distinct, sides, entries.phrase, blank),
        "risk_factors": sides["risk"][0],
        "protective_factors": sides["protect"][0],
    }
    if with_actions:
        columns["recommended_action"] = _actions(sides["risk"][1], entries, blank, tier, distinct)
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(column, dtype=STR) for name, column in columns.items()},
        index=rows.index,
    )


def _side(
    values: np.ndarray, columns: np.ndarray, sign: int, cell: np.ndarray, entries: _Entries, blank: int
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """One list of every row (risk factors: ``sign`` 1, protective: -1) from its candidate ``columns``
    (rows x up to TOP_N, in order): the list's JSON text, its entries (rows x TOP_N, ``blank`` past
    the listed) and how many it lists."""
    n, m = values.shape
    listed = values.ravel()[columns + (np.arange(n) * m)[:, None]]
    picked = listed * sign > 0
    for k in range(1, picked.shape[1]):  # a list stops at the first value of the other sign
        picked[:, k] &= picked[:, k - 1]
    count = picked.sum(axis=1)
    width = picked.shape[1]  # fewer than TOP_N when the file has fewer columns: the other slots stay blank
    codes = np.full((n, TOP_N), blank)
    codes[:, :width] = np.where(picked, cell[columns * n + np.arange(n)[:, None]], blank)
    # json: [first factor up to its impact][impact]}  [,next factor...][impact]}  ...  with "]" after the last
    w, f = np.zeros((n, TOP_N), dtype=np.int64), np.zeros((n, TOP_N), dtype=np.int64)  # blank halves
    last = (np.arange(TOP_N) == count[:, None] - 1)[:, :width]
    wholes, w[:, :width][picked], f[:, :width][picked] = impacts(listed[picked], last[picked])
    fractions = impact_tables()[1]
    pieces = (
        part
        for k in range(TOP_N)
        for part in (
            (entries.later if k else entries.first).take(codes[:, k]),
            wholes.take(w[:, k]),
            fractions.take(f[:, k]),
        )
    )
    return concat(*pieces), codes, count


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
    heads = text(
        [t + " risk (" + f"{k}%)" + opening for t in capital for k in range(101) for opening in _OPEN]
    )
    return concat(
        heads.take((tier * 101 + percent) * 4 + case),
        *_join(up, n_up, phrase, blank, np.where(case == 3, 3, 0)),  # "; " between the lists
        *_join(down, n_down, phrase, blank, np.zeros_like(case)),
        text(_CLOSE).take(case),
    )
