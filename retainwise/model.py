"""Loading the churn model artefact and scoring with it.

The artefact is an XGBoost booster in UBJSON (never a pickle) next to its
model card (``model_card.json``). The card records the artefact's SHA-256;
the model is loaded only when the file matches it, so a tampered or
half-written artefact is refused instead of silently scoring customers.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ModelError
from .features import feature_frame

MODEL_DIR = Path(__file__).resolve().parent / "model"
ARTEFACT = "churn_model.ubj"
CARD = "model_card.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ChurnModel:
    """A loaded, verified churn model."""

    booster: object  # xgboost.Booster (imported lazily)
    card: dict

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def kind(self) -> str:
        return self.card.get("kind", "xgboost")

    @property
    def features(self) -> list[str]:
        return list(self.card["features"])

    @property
    def threshold(self) -> float:
        """Probability at or above which ``predicted_churn`` is 1."""
        return float(self.card.get("threshold", 0.5))

    def _dmatrix(self, rows: pd.DataFrame):
        import xgboost as xgb

        return xgb.DMatrix(feature_frame(rows, self.features), enable_categorical=True)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """Raw log-odds for each row."""
        return self.booster.predict(self._dmatrix(rows), output_margin=True)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Churn probability in [0, 1] for each row of canonical customer data."""
        return 1.0 / (1.0 + np.exp(-self.margin(rows)))

    def contributions(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP values (log-odds) per row and feature, and the base value per row.

        Uses XGBoost's native ``pred_contribs``: the same numbers as
        ``shap.TreeExplainer`` without its overhead. ``contribs.sum(1) + base``
        equals the model's margin.
        """
        out = self.booster.predict(self._dmatrix(rows), pred_contribs=True)
        return out[:, :-1], out[:, -1]


def load_model(directory: str | os.PathLike | None = None) -> ChurnModel:
    """Load and verify the model in ``directory`` (default: the bundled artefact).

    Raises :class:`ModelError` when the artefact or card is missing, or when the
    artefact's SHA-256 does not match the card.
    """
    return _load(str(Path(directory or MODEL_DIR).resolve()))


@lru_cache(maxsize=4)
def _load(directory: str) -> ChurnModel:
    import xgboost as xgb

    path = Path(directory)
    artefact, card_path = path / ARTEFACT, path / CARD
    if not artefact.is_file() or not card_path.is_file():
        raise ModelError(
            f"No model in {path}: expected {ARTEFACT} and {CARD}. Run `retainwise train` to build one.",
            code="model_missing",
        )
    card = json.loads(card_path.read_text(encoding="utf-8"))
    actual = sha256_file(artefact)
    if actual != card.get("sha256"):
        raise ModelError(
            f"The model artefact {artefact.name} does not match its model card (SHA-256 {actual[:12]}… "
            f"instead of {str(card.get('sha256'))[:12]}…); refusing to score. Restore it or run `retainwise train`.",
            code="model_tampered",
        )
    booster = xgb.Booster()
    try:
        booster.load_model(str(artefact))
    except xgb.core.XGBoostError as exc:
        raise ModelError(f"The model artefact {artefact.name} cannot be read: {exc}", code="model_unreadable") from exc
    booster.set_param({"nthread": os.cpu_count() or 1})
    return ChurnModel(booster=booster, card=card)
