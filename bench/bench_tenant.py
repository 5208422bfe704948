"""A tenant model learned from a business's own history: does it beat the committed model, near the oracle, fast?

Simulates a subscription business (tenant_simulator.py: 17 CRM columns, 7 of them outside our schema,
known churn probabilities), takes 5,000 labelled accounts as its history and 4,000 fresh accounts to
score. Each export goes through the real upload path (written as CSV, read by ``open_upload``, mapped by
``map_columns``, normalised by ``Normaliser`` and validated by ``Validator``), and the columns the
mapping left out are added as ``own:<header>`` text, as a run's snapshot keeps them; the history is
labelled with what happened. Then it trains a tenant model (retainwise.science.tenant), gates it against
the committed model, saves and loads it, and prints the ROC AUC on the fresh accounts of:

- the tenant model, the oracle (true probabilities) and the committed model (the feature set it would
  choose for these columns);
- the tenant model trained on a history that also carries ``Cancellation Date`` (filled only for those
  who left): the column must be excluded and the AUC hold within 0.01;

and the training wall time as a ratio to one 5-fold CV of a default ``xgboost.XGBClassifier()`` on the
same rows and features. It exits 1 unless: tenant AUC >= oracle - 0.03, tenant AUC >= committed + 0.05,
the leaky column excluded with the AUC holding, and the time ratio <= 10.

Usage: python bench/bench_tenant.py [--history 5000] [--fresh 4000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tenant_simulator import simulate  # noqa: E402

from retainwise.science import tenant  # noqa: E402
from retainwise.science.canonical import Normaliser  # noqa: E402
from retainwise.science.features import present_features  # noqa: E402
from retainwise.science.mapping import map_columns  # noqa: E402
from retainwise.science.model import load_model  # noqa: E402
from retainwise.science.reading import open_upload  # noqa: E402
from retainwise.science.validation import Validator  # noqa: E402

LEAK = "Cancellation Date"


def upload_rows(export: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``export`` as a run sees it: canonical validated rows plus ``own:<header>`` raw text."""
    export.to_csv(path, index=False)
    upload = open_upload(path)
    mapping = map_columns(upload.frame)
    normaliser, validator = Normaliser(mapping), Validator(mapping=mapping)
    id_source = next(s for s, t in mapping.mapping.items() if t == "customer_id")
    parts = []
    for chunk in upload.chunks():
        rows = validator.add(normaliser.canonical(chunk))
        own = chunk[mapping.unmapped].set_index(chunk[id_source].astype("str").str.strip())
        own = own.reindex(rows["customer_id"].to_numpy())
        for source in mapping.unmapped:
            rows["own:" + source] = own[source].astype("str").to_numpy()
        parts.append(rows)
    validator.finish()
    return pd.concat(parts, ignore_index=True)


def labelled(export: pd.DataFrame, churned: np.ndarray, path: Path) -> pd.DataFrame:
    """The history as the platform labels it: its rows, ``churned`` and bookkeeping columns."""
    rows = upload_rows(export, path)
    outcome = pd.Series(churned.astype("float64"), index=export["Account ID"].to_numpy())
    rows["churned"] = outcome.reindex(rows["customer_id"].to_numpy()).to_numpy()
    rows["_run_id"], rows["_scored_at"] = "bench-history", "2025-06-30T00:00:00+00:00"
    return rows


def default_cv_seconds(x: pd.DataFrame, y: np.ndarray, folds: list) -> float:
    """Wall time of one 5-fold CV of ``xgboost.XGBClassifier()`` (defaults; categorical input enabled)."""
    import xgboost as xgb

    start = time.perf_counter()
    for tr, te in folds:
        clf = xgb.XGBClassifier(enable_categorical=True)
        clf.fit(x.iloc[tr], y[tr])
        clf.predict_proba(x.iloc[te])
    return time.perf_counter() - start


def truth_for(rows: pd.DataFrame, export: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    return (
        pd.Series(values, index=export["Account ID"].to_numpy())
        .reindex(rows["customer_id"].to_numpy())
        .to_numpy()
    )


def run(history_n: int, fresh_n: int, seed: int, work: Path) -> dict:
    export, _, churned = simulate(history_n, seed, leaky=True)
    fresh_export, p_fresh, y_fresh = simulate(fresh_n, seed + 100)
    fresh_export[LEAK] = ""  # the fresh accounts have not left: the column is there, empty
    history_leaky = labelled(export, churned, work / "history_leaky.csv")
    history = history_leaky.drop(columns=["own:" + LEAK])
    fresh = upload_rows(fresh_export, work / "fresh.csv")
    y = truth_for(fresh, fresh_export, y_fresh)
    committed = load_model().choose_for(present_features(fresh)).model
    out = {
        "rows": len(history),
        "leavers": int(history["churned"].sum()),
        "fresh": len(fresh),
        "oracle_auc": roc_auc_score(y, truth_for(fresh, fresh_export, p_fresh)),
        "committed_auc": roc_auc_score(y, committed.predict_proba(fresh)),
        "committed": committed.version,
    }
    committed_history = load_model().choose_for(present_features(history)).model
    for name, frame in (("clean", history), ("leaky", history_leaky)):
        candidate = tenant.train(frame, tenant="bench", seed=seed, sources=["bench-history"])
        verdict = tenant.gate(
            candidate, committed_history.predict_proba, probabilities=True, name="the committed model"
        )
        tenant.save(work / name, candidate.booster, tenant.build_card(candidate, verdict))
        model = tenant.load(work / name)
        out[name] = {
            "auc": roc_auc_score(y, model.predict_proba(fresh)),
            "cv_auc": candidate.cv["roc_auc"],
            "seconds": candidate.seconds,
            "card": model.card,
            "promoted": verdict["promoted"],
            "verdict": verdict["verdict"],
        }
        if name == "clean":
            x = tenant.feature_frame(candidate.rows, candidate.spec)
            out["baseline_seconds"] = default_cv_seconds(x, candidate.y, candidate.folds)
    return out


def failures(r: dict) -> list[str]:
    clean, leaky = r["clean"], r["leaky"]
    ratio = clean["seconds"] / r["baseline_seconds"]
    out = []
    if clean["auc"] < r["oracle_auc"] - 0.03:
        out.append(
            f"tenant ROC AUC {clean['auc']:.3f} more than 0.03 below the oracle's {r['oracle_auc']:.3f}"
        )
    if clean["auc"] < r["committed_auc"] + 0.05:
        out.append(
            f"tenant ROC AUC {clean['auc']:.3f} not 0.05 above the committed model's {r['committed_auc']:.3f}"
        )
    if "own:" + LEAK not in leaky["card"]["excluded"]:
        out.append(f"{LEAK} was not excluded")
    if abs(leaky["auc"] - clean["auc"]) > 0.01:
        out.append(
            f"with {LEAK} in the history the ROC AUC moved to {leaky['auc']:.3f} from {clean['auc']:.3f}"
        )
    if ratio > 10:
        out.append(f"training took {ratio:.1f}x a default 5-fold CV (limit 10x)")
    return out


def report(r: dict) -> None:
    clean, leaky = r["clean"], r["leaky"]
    print(
        f"history {r['rows']:,} labelled accounts ({r['leavers']:,} left); {r['fresh']:,} fresh accounts scored\n"
    )
    print(f"{'score':<44} {'ROC AUC (fresh)':>16}")
    for label, auc in (
        (f"tenant model {clean['card']['version']} (CV {clean['cv_auc']:.3f})", clean["auc"]),
        ("oracle (true probabilities)", r["oracle_auc"]),
        (f"committed model {r['committed']}", r["committed_auc"]),
        (f"tenant model, history with {LEAK}", leaky["auc"]),
    ):
        print(f"{label:<44} {auc:>16.3f}")
    ratio = clean["seconds"] / r["baseline_seconds"]
    print(
        f"\ntraining {clean['seconds']:.2f} s; default XGBClassifier 5-fold CV {r['baseline_seconds']:.2f} s; "
        f"ratio {ratio:.1f}x"
    )
    print(f"features: {', '.join(e['name'] + ' (' + e['kind'] + ')' for e in clean['card']['features'])}")
    print("excluded (history with the leak):")
    for column, reason in leaky["card"]["excluded"].items():
        print(f"  {column}: {reason}")
    print(f"gate: {clean['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--fresh", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.history, args.fresh, args.seed, Path(tmp))
    report(r)
    problems = failures(r)
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} failure(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
