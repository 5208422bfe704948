"""A tenant model on disk (``model.ubj`` + ``card.json``, never a pickle) and in use (:class:`TenantModel`).

:func:`build_card` writes down what a :class:`~retainwise.science.tenant.train.Candidate` learned and how
the gate judged it; :func:`save` writes the booster (UBJSON) and the card, with the booster's SHA-256 and
the version derived from it; :func:`load` reads them back and refuses (ModelError) a missing, unreadable
or tampered artefact. :class:`TenantModel` scores like the committed model's ``ChurnModel`` (``version``,
``kind``, ``name``, ``card``, ``features``, ``threshold``, ``margin``, ``predict_proba``,
``contributions``, ``with_threads``), from canonical rows plus ``own:`` text converted by the card's spec.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.errors import ModelError
from retainwise.files import write_atomic
from retainwise.science.calibration import sigmoid
from retainwise.science.model import NTHREAD, sha256_file
from retainwise.science.tenant.features import feature_frame, names
from retainwise.science.tenant.train import PARAMS

MODEL, CARD = "model.ubj", "card.json"
#: Probability at or above which ``predicted_churn`` is 1 (as for the committed model).
THRESHOLD = 0.5


def build_card(candidate, gate: dict | None) -> dict:
    """The card of ``candidate`` (a train.Candidate) and the ``gate``'s verdict (gate.gate), before saving.

    :func:`save` adds ``sha256`` and ``version``.
    """
    y = candidate.y
    return {
        "kind": "tenant",
        "tenant": candidate.tenant,
        "trained_at": candidate.trained_at,
        "seed": candidate.seed,
        "trained_on": {
            "rows": int(len(y)),
            "leavers": int(y.sum()),
            "churn_rate": round(float(y.mean()), 4),
            "sources": list(candidate.sources),
        },
        "features": candidate.spec,
        "excluded": dict(candidate.excluded),
        "cv": candidate.cv,
        "params": {k: v for k, v in PARAMS.items()},
        "rounds": candidate.rounds,
        "training_seconds": candidate.seconds,
        "gate": gate,
        "threshold": THRESHOLD,
        "artefact": MODEL,
    }


def save(directory: str | os.PathLike, booster, card: dict) -> dict:
    """Write ``model.ubj`` and ``card.json`` into ``directory`` (created); returns the card as written.

    The card gets the SHA-256 of model.ubj and the version ``t-`` + its first 12 hex digits. The card is
    written last, so a reader never finds a card whose model is not there yet.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    raw = booster.save_raw(raw_format="ubj")
    write_atomic(path / MODEL, bytes(raw))
    digest = sha256_file(path / MODEL)
    card = dict(card, sha256=digest, version="t-" + digest[:12], artefact=MODEL)
    write_atomic(path / CARD, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return card


def load(directory: str | os.PathLike) -> TenantModel:
    """The verified tenant model in ``directory``; ModelError when it is missing, unreadable or tampered."""
    from retainwise.science.model import import_xgboost

    path = Path(directory)
    try:
        card = json.loads((path / CARD).read_text(encoding="utf-8"))
        expected, spec = card["sha256"], card["features"]
    except FileNotFoundError as exc:
        raise ModelError(f"No tenant model in {path}: {CARD} is missing.", code="model_missing") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"The tenant model card in {path} is unreadable ({exc}).", code="model_missing"
        ) from exc
    if not (path / MODEL).is_file() or not isinstance(spec, list):
        raise ModelError(f"No tenant model in {path}: {MODEL} is missing.", code="model_missing")
    actual = sha256_file(path / MODEL)
    if actual != expected:
        raise ModelError(
            f"The tenant model {MODEL} in {path} does not match its card (SHA-256 {actual[:12]}… "
            f"instead of {str(expected)[:12]}…); refusing to score with it.",
            code="model_tampered",
        )
    xgb = import_xgboost()
    booster = xgb.Booster()
    try:
        booster.load_model(str(path / MODEL))
    except xgb.core.XGBoostError as exc:
        raise ModelError(
            f"The tenant model {MODEL} in {path} cannot be read: {exc}", code="model_unreadable"
        ) from exc
    booster.set_param({"nthread": NTHREAD})
    return TenantModel(booster=booster, card=card)


@dataclass
class TenantModel:
    """One tenant's verified booster and its card; scores canonical rows plus ``own:`` columns."""

    booster: object  # xgboost.Booster
    card: dict
    nthread: int = NTHREAD
    name: str = "tenant"

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def kind(self) -> str:
        return "tenant"

    @property
    def spec(self) -> list[dict]:
        """The card's feature spec (features.py)."""
        return self.card["features"]

    @property
    def features(self) -> list[str]:
        return names(self.spec)

    @property
    def threshold(self) -> float:
        """Probability at or above which ``predicted_churn`` is 1."""
        return float(self.card.get("threshold", THRESHOLD))

    def with_threads(self, n: int) -> TenantModel:
        """This model on a booster of its own using ``n`` threads (the same numbers)."""
        booster = self.booster.copy()
        booster.set_param({"nthread": n})
        return dataclasses.replace(self, booster=booster, nthread=n)

    def frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The model input for ``rows`` (features.feature_frame by the card's spec)."""
        return feature_frame(rows, self.spec)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """Log-odds of leaving for each row."""
        return self.booster.inplace_predict(self.frame(rows), predict_type="margin")

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Churn probability in [0, 1] for each row."""
        return sigmoid(self.margin(rows))

    def contributions(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP values (log-odds) per row and feature, and the base value per row
        (``contribs.sum(1) + base == margin(rows)``)."""
        from retainwise.science.model import import_xgboost

        xgb = import_xgboost()
        out = self.booster.predict(
            xgb.DMatrix(self.frame(rows), enable_categorical=True, nthread=self.nthread), pred_contribs=True
        )
        return out[:, :-1], out[:, -1]
