"""The model card: what was trained, how well it does, the promotion verdict and the champions it replaced.

Written next to the artefacts as ``model_card.json`` (read by scoring) and
``model_card.md`` (read by people; ``retainwise model`` prints it).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.science.model import CARD

MARKDOWN = "model_card.md"
#: The figures of a replaced champion kept in its successor's card.
HISTORY_KEYS = ("version", "trained_at", "sha256")


def version_of(specs: dict) -> str:
    """The model version: a digest of every artefact's SHA-256."""
    return "xgb-" + hashlib.sha256("".join(s["sha256"] for s in specs.values()).encode()).hexdigest()[:12]


def importance(shap: np.ndarray, x: pd.DataFrame) -> list[dict]:
    """Mean |SHAP| (log-odds) per feature, strongest first, with its share."""
    mean_abs = np.abs(shap).mean(axis=0)
    total = float(mean_abs.sum()) or 1.0
    return [
        {
            "feature": x.columns[i],
            "mean_abs_shap": round(float(mean_abs[i]), 4),
            "share": round(float(mean_abs[i]) / total, 4),
        }
        for i in np.argsort(-mean_abs)
    ]


def promoted(card: dict, champion: dict | None, when: str) -> dict:
    """``card`` as installed over ``champion``: the champion's figures and replacement date join its history."""
    out = dict(card)
    history = list((champion or {}).get("history", []))
    if champion:
        entry = {k: champion.get(k) for k in HISTORY_KEYS}
        entry["cv"] = {k: champion.get("cv", {}).get(k) for k in ("roc_auc", "brier", "ece", "accuracy")}
        entry["replaced_at"] = when
        history.insert(0, entry)
    out["history"] = history
    return out


def write(card: dict, directory: str | Path) -> None:
    """Write ``model_card.json`` and ``model_card.md`` for ``card`` into ``directory``."""
    directory = Path(directory)
    (directory / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (directory / MARKDOWN).write_text(markdown(card), encoding="utf-8")


def markdown(card: dict) -> str:
    """The model card as Markdown."""
    return "\n".join(
        [*_head(card), *_sets(card), *_gate(card), *_importance(card), *_choices(card), *_history(card), ""]
    )


def _head(card: dict) -> list[str]:
    cv = card["cv"]
    return [
        f"# Model card: {card['version']}",
        "",
        "Predicts the probability that a customer cancels (churns). XGBoost gradient-boosted trees, one model per "
        "feature set; the set that suits the columns of an upload scores it.",
        "",
        "## Data",
        f"- `{_code(card['data']['file'])}`: {card['data']['rows']:,} customers, {card['data']['positive_rate']:.1%} "
        f"churned (SHA-256 `{card['data']['sha256'][:16]}…`)",
        f"- Trained {card['trained_at']}, seed {card['seed']}",
        "",
        "## Performance (full feature set)",
        f"- {cv['method']}",
        f"- ROC AUC **{cv['roc_auc']}** (folds {', '.join(map(str, cv['roc_auc_folds']))}); "
        f"reference: logistic regression about 0.835",
        f"- Brier **{cv['brier']}**, log loss {cv['log_loss']}, expected calibration error {cv['ece']} "
        f"(plot: `{card['calibration_plot']}`)",
        f"- Accuracy **{cv['accuracy']}** at threshold {cv['threshold']} (always answering 'stays': "
        f"{cv['base_rate_accuracy']})",
        "",
    ]


def _code(text: str) -> str:
    """A user's text (the training file's name) safe inside a Markdown code span: no backtick to close it."""
    return str(text).replace("`", "'").replace("\n", " ")


def _sets(card: dict) -> list[str]:
    mc = card["missing_columns"]
    lines = [
        "## Feature sets and missing columns",
        "| set | features | CV ROC AUC | Brier | ECE | rounds | calibration | artefact SHA-256 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, s in card["feature_sets"].items():
        cal = "Platt" if s["calibration"] else "none needed"
        lines.append(
            f"| {name} | {len(s['features'])} | {s['cv']['roc_auc']} | {s['cv']['brier']} | "
            f"{s['cv']['ece']} | {s['rounds']} | {cal} | `{s['sha256']}` |"
        )
    drops = mc["drop_one_roc_auc"]
    worst = min(drops, key=drops.get)
    return lines + [
        "",
        f"- Training with missing values: {mc['training']}.",
        f"- Only the core columns: ROC AUC **{mc['core_only_roc_auc']}** (scored by the `{mc['core_only_model']}` "
        "model).",
        f"- Any single optional column missing: ROC AUC at least **{mc['min_drop_one_optional_roc_auc']}**; "
        f"any single column: at least {drops[worst]} (without `{worst}`).",
        "- Scoring picks the feature set with the best ROC AUC measured (out of fold, at training time) on a set "
        "of columns the upload covers, and reports that figure as the run's confidence.",
        "",
    ]


def _gate(card: dict) -> list[str]:
    gate = card.get("gate")
    if not gate:
        return []
    lines = [
        "## Promotion gate",
        f"- Verdict: **{gate['decision']}**: {gate['reason']}.",
        f"- Rule: {gate['rule']}.",
    ]
    if gate.get("folds"):
        lines += [
            "",
            "| fold | champion ROC AUC | candidate ROC AUC | Δ | champion Brier | candidate Brier | Δ |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {f['fold']} | {f['champion ROC AUC']} | {f['candidate ROC AUC']} | {f['Δ ROC AUC']:+.4f} | "
            f"{f['champion Brier']} | {f['candidate Brier']} | {f['Δ Brier']:+.4f} |"
            for f in gate["folds"]
        ]
    return [*lines, ""]


def _importance(card: dict) -> list[str]:
    return [
        "## Feature importance (mean |SHAP|, log-odds, full model)",
        "| feature | mean abs SHAP | share |",
        "| --- | ---: | ---: |",
        *[
            f"| {f['feature']} | {f['mean_abs_shap']} | {f['share']:.1%} |"
            for f in card["feature_importance"]
        ],
        "",
    ]


def _choices(card: dict) -> list[str]:
    return [
        "## Choices",
        f"- Class balance: {card['class_balance']['rule']}; chosen: "
        f"{card['class_balance']['chosen_scale_pos_weight']}.",
        "- Calibration: Platt scaling on log-odds is applied only when it lowers cross-validated Brier "
        "(it keeps SHAP values exact); isotonic is measured for comparison.",
        *[f"- `{k}` not used: {v}." for k, v in card["excluded_features"].items()],
        "",
    ]


def _history(card: dict) -> list[str]:
    history = card.get("history") or []
    if not history:
        return []
    lines = [
        "## Champion history",
        "| version | trained | replaced | CV ROC AUC | Brier | ECE | accuracy |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for h in history:
        cv = h.get("cv") or {}
        lines.append(
            f"| {h.get('version')} | {h.get('trained_at')} | {h.get('replaced_at')} | {cv.get('roc_auc')} "
            f"| {cv.get('brier')} | {cv.get('ece')} | {cv.get('accuracy')} |"
        )
    return [*lines, ""]
