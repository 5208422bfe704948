"""Outcomes joined to a run's snapshot: labelled data, the customers as that run scored them.

A tenant sends, some time after a run, who actually left: a file with a customer id column, a churned
column (``1``/``0``, ``yes``/``no``, ``true``/``false``, ``churned``/``stayed``, ``left``/``active``...)
and optionally a date. :func:`join_outcomes` maps its columns (the schema's own mapping, then a few
aliases and the values), and labels the run's snapshot rows (snapshot.py) with them: every field comes
from the snapshot, as the customer was when scored, never from the outcomes file (a tenure or plan that
changed after scoring must not leak into what a model learns from). Only ``churned`` comes from the
outcomes; ``_run_id`` and ``_scored_at`` (the run's finished time) are added for bookkeeping.

A history upload (a scored file that itself says who left) is labelled data too:
:func:`labelled_from_snapshot`. :func:`latest_labelled` combines a tenant's labelled files (a customer in
several runs keeps the row of the latest run). Pure: reading and writing them is the platform's
(retainwise.platform.labelled).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.science import drift
from retainwise.science.snapshot import OWN_PREFIX
from retainwise.science.vocabulary import FLAGS, JUNK

RUN_ID, SCORED_AT, OUTCOME_DATE = "_run_id", "_scored_at", "_outcome_date"
_LEFT = {k for k, v in FLAGS.items() if v == 1.0} | {
    "churned",
    "churn",
    "left",
    "lost",
    "cancelled",
    "canceled",
    "gone",
    "exited",
    "closed",
    "terminated",
    "inactive",
    "former",
    "lapsed",
    "did not renew",
    "not renewed",
    "cancel",
    "ended",
}
_STAYED = {k for k, v in FLAGS.items() if v == 0.0} | {
    "stayed",
    "stay",
    "retained",
    "active",
    "renewed",
    "kept",
    "current",
    "existing",
    "not churned",
    "no churn",
    "still active",
    "remained",
    "ongoing",
}
_CHURN_HEADERS = {
    "churned",
    "churn",
    "status",
    "outcome",
    "result",
    "left",
    "churn status",
    "customer status",
    "account status",
    "state",
    "label",
    "target",
    "churn outcome",
    "has left",
    "did churn",
}
_DATE_WORDS = re.compile(r"(date|_at$|\bat$|\bwhen\b|day|time|as of)", re.IGNORECASE)
EXAMPLES = 5


def parse_churned(values: pd.Series) -> pd.Series:
    """1.0 (left), 0.0 (stayed) or NaN (missing or not understood) for each of ``values``."""
    key = values.astype("str").str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    out[key.isin(_LEFT).to_numpy()] = 1.0
    out[key.isin(_STAYED).to_numpy()] = 0.0
    return out


def _header(name: str) -> str:
    return re.sub(r"[\s_\-?]+", " ", str(name).strip().lower()).strip()


def outcome_columns(outcomes: pd.DataFrame) -> dict[str, str | None]:
    """Which columns of ``outcomes`` give the customer id, churned and (optional) date.

    The schema's mapping first (map_columns), then churn headers (status, outcome, ...) and, last, a column
    whose values are nearly all churn words. Raises InputError without an id or a churned column.
    """
    from retainwise.science.mapping import map_columns

    columns = [str(c) for c in outcomes.columns]
    try:
        mapping = map_columns(outcomes).mapping
    except InputError:
        mapping = {}
    by_target = {t: s for s, t in mapping.items()}
    ident = by_target.get("customer_id")
    if ident is None:
        raise InputError(
            f"The outcomes file has no customer id column (columns: {', '.join(columns[:8])}): "
            "name it customer_id.",
            code="no_customer_id",
        )
    churned = by_target.get("churned") or next(
        (c for c in columns if c != ident and _header(c) in _CHURN_HEADERS), None
    )
    if churned is None:
        churned = next((c for c in columns if c != ident and _mostly_churn_words(outcomes[c])), None)
    if churned is None:
        raise InputError(
            "The outcomes file has no churned column (1/0, yes/no, churned/stayed): name it churned.",
            code="no_churned",
        )
    date = next((c for c in columns if c not in (ident, churned) and _DATE_WORDS.search(c)), None)
    return {"customer_id": ident, "churned": churned, "date": date}


def _mostly_churn_words(values: pd.Series) -> bool:
    known = values.astype("str").str.strip()
    known = known[known.notna() & (known != "")]
    return len(known) > 0 and parse_churned(known).notna().mean() >= 0.9


def _ids(values: pd.Series) -> pd.Series:
    """Ids as the pipeline normalises them (stripped; blanks and junk missing)."""
    s = values.astype("str").str.strip()
    return s.mask(s.str.lower().isin(JUNK) | (s == ""))


def _examples(values) -> list:
    return [str(v) for v in list(values)[:EXAMPLES]]


def _outcome_rows(outcomes: pd.DataFrame, cols: dict, report: dict) -> pd.DataFrame:
    """One row per customer id of ``outcomes``: id, churned (the last row of an id; the latest by date)."""
    frame = pd.DataFrame(
        {
            "customer_id": _ids(outcomes[cols["customer_id"]]),
            "churned": parse_churned(outcomes[cols["churned"]]),
        }
    )
    raw = outcomes[cols["churned"]].astype("str").str.strip()
    unread = frame["churned"].isna() & raw.notna() & (raw != "")
    report["missing_id"] = int(frame["customer_id"].isna().sum())
    report["churned_not_understood"] = {
        "count": int(unread.sum()),
        "examples": _examples(raw[unread].unique()),
    }
    if cols["date"]:
        frame[OUTCOME_DATE] = pd.to_datetime(
            outcomes[cols["date"]].astype("str"), errors="coerce", format="mixed", dayfirst=False
        )
        frame = frame.sort_values(OUTCOME_DATE, kind="stable", na_position="first")
    frame = frame[frame["customer_id"].notna() & frame["churned"].notna()]
    repeated = frame["customer_id"].duplicated(keep="last")
    report["duplicate_ids"] = {
        "count": int(repeated.sum()),
        "examples": _examples(frame.loc[repeated, "customer_id"].unique()),
    }
    return frame[~repeated]


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical fields, churned, own columns, then bookkeeping."""
    own = [c for c in frame.columns if c.startswith(OWN_PREFIX)]
    book = [c for c in (OUTCOME_DATE, RUN_ID, SCORED_AT) if c in frame.columns]
    first = [c for c in frame.columns if c not in own and c not in book and c != "churned"]
    return frame[[*first, "churned", *own, *book]]


def _stamp(frame: pd.DataFrame, run_id: str, scored_at: str | None) -> pd.DataFrame:
    frame = frame.copy()
    frame[RUN_ID] = str(run_id)
    when = pd.to_datetime(scored_at, utc=True) if scored_at else pd.NaT
    frame[SCORED_AT] = pd.Series(when, index=frame.index, dtype="datetime64[us, UTC]")
    return _order(frame.reset_index(drop=True))


def join_outcomes(
    snapshot: pd.DataFrame, outcomes: pd.DataFrame, *, run_id: str = "", scored_at: str | None = None
) -> tuple[pd.DataFrame, dict]:
    """Label ``snapshot``'s customers (a run's snapshot.parquet) with ``outcomes`` (text cells, as read).

    Returns (labelled, report). ``labelled``: the snapshot rows of the customers the outcomes name, in
    snapshot order, every field as the run scored it, ``churned`` (0/1) from the outcomes, ``_run_id``,
    ``_scored_at`` (``scored_at``: the run's finished time), ``_outcome_date`` when the outcomes have a
    date. ``report``: ``matched``, ``leavers``, ``stayers``, ``not_in_run`` (outcome ids with no customer
    in the run: count, examples), ``no_outcome`` (the run's customers the outcomes do not name),
    ``missing_id``, ``churned_not_understood``, ``duplicate_ids`` and the ``columns`` used. Raises
    InputError without an id or churned column.
    """
    cols = outcome_columns(outcomes)
    report: dict = {
        "run_id": run_id,
        "scored_at": scored_at,
        "outcome_rows": int(len(outcomes)),
        "columns": cols,
    }
    known = _outcome_rows(outcomes, cols, report)
    in_run = known["customer_id"].isin(snapshot["customer_id"])
    missing = known.loc[~in_run, "customer_id"]
    report["not_in_run"] = {"count": int(len(missing)), "examples": _examples(missing)}
    # the snapshot's fields only: the outcomes bring churned (and their date), nothing else
    labelled = snapshot.drop(columns=["churned"], errors="ignore").merge(
        known[in_run], on="customer_id", how="inner", sort=False
    )
    labelled["churned"] = labelled["churned"].astype("float64")
    report.update(
        matched=int(len(labelled)),
        leavers=int((labelled["churned"] == 1).sum()),
        stayers=int((labelled["churned"] == 0).sum()),
        no_outcome=int(len(snapshot) - len(labelled)),
    )
    return _stamp(labelled, run_id, scored_at), report


def labelled_from_snapshot(
    snapshot: pd.DataFrame, *, run_id: str = "", scored_at: str | None = None
) -> tuple[pd.DataFrame, dict] | None:
    """A history upload's labelled data: its snapshot rows whose ``churned`` is known (None without it)."""
    if "churned" not in snapshot.columns:
        return None
    labelled = snapshot[snapshot["churned"].notna()]
    report = {
        "run_id": run_id,
        "scored_at": scored_at,
        "source": "history upload",
        "matched": int(len(labelled)),
        "leavers": int((labelled["churned"] == 1).sum()),
        "stayers": int((labelled["churned"] == 0).sum()),
        "no_outcome": int(len(snapshot) - len(labelled)),
    }
    return _stamp(labelled, run_id, scored_at), report


def latest_labelled(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Labelled files combined; a customer in several runs keeps its row of the latest run (``_scored_at``)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["customer_id", "churned", RUN_ID, SCORED_AT])
    both = pd.concat(frames, ignore_index=True).sort_values(SCORED_AT, kind="stable", na_position="first")
    return _order(both.drop_duplicates("customer_id", keep="last").reset_index(drop=True))


def realised_accuracy(results: pd.DataFrame, labelled: pd.DataFrame) -> dict | None:
    """How the run's predictions (``results``: customer_id, churn_probability) did on the outcomes since:
    ROC AUC (the chance a leaver was ranked above a stayer), Brier, accuracy, churn rate, n."""
    both = labelled[["customer_id", "churned"]].merge(
        results[["customer_id", "churn_probability"]], on="customer_id", how="inner"
    )
    return drift.realised(both["churned"], both["churn_probability"]) if len(both) else None
