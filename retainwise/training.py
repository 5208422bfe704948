"""Training the churn model and writing its artefact and model card.

Reproducible: a fixed seed, a stratified 80/20 held-out split for the card's
metrics, then a refit on all rows for the artefact that ships. The artefact is
UBJSON; the card records data, metrics, features, version and SHA-256.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import schema
from .features import feature_frame
from .model import ARTEFACT, CARD, MODEL_DIR, sha256_file

DATA = Path(__file__).resolve().parent / "data" / "telco_churn_train.csv"

PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "lambda": 1.0,
    "max_cat_to_onehot": 4,
}
ROUNDS = 300


def load_training_rows(path: Path = DATA):
    """The training file as canonical rows plus the 0/1 label."""
    from .mapping import map_columns
    from .normalise import to_canonical
    from .reading import read_upload

    upload = read_upload(path)
    canonical = to_canonical(upload.frame, map_columns(upload.frame))
    canonical = canonical[canonical["churned"].notna()].reset_index(drop=True)
    return canonical, canonical["churned"].to_numpy(dtype="int64")


def _fit(x, y, seed: int):
    import xgboost as xgb

    params = dict(PARAMS, seed=seed, nthread=os.cpu_count() or 1)
    return xgb.train(params, xgb.DMatrix(x, label=y, enable_categorical=True), num_boost_round=ROUNDS)


def train(data: Path = DATA, out: Path = MODEL_DIR, seed: int = 42) -> dict:
    """Train, evaluate on a held-out split, refit on all data and write artefact + card. Returns the card."""
    import xgboost as xgb
    from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    rows, y = load_training_rows(data)
    x = feature_frame(rows, schema.FEATURES)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    held_out = _fit(x_tr, y_tr, seed)
    p = held_out.predict(xgb.DMatrix(x_te, enable_categorical=True))
    metrics = {
        "roc_auc": round(float(roc_auc_score(y_te, p)), 4),
        "brier": round(float(brier_score_loss(y_te, p)), 4),
        "accuracy": round(float(accuracy_score(y_te, p >= 0.5)), 4),
        "base_rate_accuracy": round(float(max(np.mean(y_te), 1 - np.mean(y_te))), 4),
    }
    final = _fit(x, y, seed)
    out.mkdir(parents=True, exist_ok=True)
    artefact = out / ARTEFACT
    final.save_model(str(artefact))
    sha = sha256_file(artefact)
    card = {
        "version": f"xgb-{sha[:12]}",
        "kind": "xgboost",
        "sha256": sha,
        "artefact": ARTEFACT,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {"file": data.name, "rows": int(len(y)), "positive_rate": round(float(np.mean(y)), 4)},
        "evaluation": {"method": "stratified 80/20 held-out split, seed %d" % seed, **metrics},
        "threshold": 0.5,
        "features": list(schema.FEATURES),
        "params": PARAMS,
        "rounds": ROUNDS,
        "seed": seed,
    }
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "model_card.md").write_text(model_card_markdown(card), encoding="utf-8")
    return card


def model_card_markdown(card: dict) -> str:
    ev = card["evaluation"]
    feats = ", ".join(f"`{f}`" for f in card["features"])
    return (
        f"# Model card: {card['version']}\n\n"
        f"- Kind: {card['kind']} (UBJSON artefact `{card['artefact']}`, SHA-256 `{card['sha256']}`)\n"
        f"- Trained: {card['trained_at']} on `{card['data']['file']}` "
        f"({card['data']['rows']} customers, {card['data']['positive_rate']:.1%} churned)\n"
        f"- Evaluation ({ev['method']}): ROC AUC {ev['roc_auc']}, Brier {ev['brier']}, "
        f"accuracy {ev['accuracy']} (always answering 'stays': {ev['base_rate_accuracy']})\n"
        f"- Threshold for `predicted_churn`: {card['threshold']}\n"
        f"- Features: {feats}\n"
    )


def cli_train(args) -> int:
    card = train(
        data=Path(args.data) if args.data else DATA, out=Path(args.out) if args.out else MODEL_DIR, seed=args.seed
    )
    ev = card["evaluation"]
    print(f"model {card['version']}: ROC AUC {ev['roc_auc']}, Brier {ev['brier']}, accuracy {ev['accuracy']}")
    return 0
