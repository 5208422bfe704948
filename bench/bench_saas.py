"""A subscription-software business scored with the defaults: is the run never confidently wrong?

Simulates a SaaS account export with known churn probabilities (saas_simulator.py: 15 columns as a CRM
names them, about 12% churn in the next quarter), scores it with `retainwise score` exactly as a user
would (defaults: no options), and prints side by side:

- the default run's ROC AUC against what actually happened (its served ``churn_probability``),
- the rules' ROC AUC (``rules_probability``: the SaaS rules on every account),
- the telco model's ROC AUC (``ml_probability``: what the run would have said had it trusted the model),
- the oracle's ROC AUC (the true probabilities: the best any score could do),
- the confidence the run reported, its expected ROC AUC if it quoted one, and its reason.

It exits 1 when the default run ranks worse than the rules, or when it reports medium or high
confidence with an expected ROC AUC more than 0.10 above the one realised.

Usage: python bench/bench_saas.py [--rows 4000] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from saas_simulator import simulate  # noqa: E402

SLACK = 0.10  # how far an expected ROC AUC may stand above the realised one before it is a false promise


def run_one(rows: int, seed: int, work: Path) -> dict:
    export, p, churned = simulate(rows, seed)
    upload = work / f"saas_accounts_{seed}.csv"
    export.to_csv(upload, index=False)
    out = work / f"out_{seed}"
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(upload), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"retainwise score failed ({done.returncode}): {done.stderr[-2000:]}")
    results = pd.read_parquet(out / "results.parquet")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    truth = pd.DataFrame({"customer_id": export["Account ID"], "p": p, "y": churned})
    joined = results.merge(truth, on="customer_id", validate="one_to_one")
    ruled = joined["rules_probability"].notna()
    model = summary["model"]
    return {
        "seed": seed,
        "rows": len(joined),
        "churn_rate": round(float(joined["y"].mean()), 3),
        "default_auc": roc_auc_score(joined["y"], joined["churn_probability"]),
        "rules_auc": roc_auc_score(joined.loc[ruled, "y"], joined.loc[ruled, "rules_probability"]),
        "model_auc": roc_auc_score(joined["y"], joined["ml_probability"]),
        "oracle_auc": roc_auc_score(joined["y"], joined["p"]),
        "confidence": model["confidence"],
        "expected_auc": model.get("expected_roc_auc"),
        "served_by": summary["experiment"]["groups"],
        "reason": model.get("reason", ""),
        "mapping": summary["mapping"],
    }


def failures(r: dict) -> list[str]:
    out = []
    if r["default_auc"] < r["rules_auc"] - 1e-9:
        out.append(
            f"the default run ranks worse than the rules ({r['default_auc']:.3f} < {r['rules_auc']:.3f})"
        )
    if (
        r["confidence"] in ("medium", "high")
        and r["expected_auc"] is not None
        and r["expected_auc"] > r["default_auc"] + SLACK
    ):
        out.append(
            f"{r['confidence']} confidence with expected ROC AUC {r['expected_auc']:.3f}, "
            f"realised {r['default_auc']:.3f}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"{'seed':>4} {'rows':>6} {'churn':>6} {'default':>8} {'rules':>6} {'model':>6} {'oracle':>7}  "
            f"confidence (expected AUC)"
        )
        for seed in args.seeds:
            r = run_one(args.rows, seed, Path(tmp))
            expected = "none quoted" if r["expected_auc"] is None else f"{r['expected_auc']:.3f}"
            print(
                f"{r['seed']:>4} {r['rows']:>6} {r['churn_rate']:>6.3f} {r['default_auc']:>8.3f} "
                f"{r['rules_auc']:>6.3f} {r['model_auc']:>6.3f} {r['oracle_auc']:>7.3f}  "
                f"{r['confidence']} ({expected}); served by {r['served_by']}"
            )
            problems += [f"seed {seed}: {f}" for f in failures(r)]
        print(f"\nmapping (seed {args.seeds[-1]}): {r['mapping']}")
        print(f"reason: {r['reason']}")
    for p in problems:
        print("FAIL:", p)
    print("ok" if not problems else f"{len(problems)} failure(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
