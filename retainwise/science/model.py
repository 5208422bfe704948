"""Loading the churn models and scoring with them.

The artefact directory holds one XGBoost booster per feature set (UBJSON,
never a pickle) next to the model card (``model_card.json``). The card records
each artefact's SHA-256; the models are loaded only when every file matches,
so a tampered or half-written artefact is refused instead of silently scoring
customers.

Which model scores a file depends on the columns it has: the card carries, per
feature set, the out-of-fold ROC AUC measured with many sets of columns
missing (``expected_auc``); the feature set with the best figure for the
file's columns is chosen, and that figure is the confidence the summary
reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.errors import ModelError
from retainwise.resources import MODEL_DIR
from retainwise.science.calibration import sigmoid
from retainwise.science.features import feature_frame, present_features

ARTEFACT = "churn_model.ubj"  # the full feature set's booster
CARD = "model_card.json"


def container_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (containers)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota: the affinity is the limit
    return max(1, cpus)


#: Threads XGBoost uses when scoring: the container's CPUs.
NTHREAD = container_cpus()
#: Set (to "1") in the environment of the kernels retainwise starts for runs: see :func:`import_xgboost`.
LEAN_ENV = "RETAINWISE_LEAN_XGBOOST"


def import_xgboost():
    """``xgboost``, imported without scikit-learn in the kernels retainwise starts for runs.

    Why: ``import xgboost`` imports scikit-learn (and SciPy) for its estimator classes, 0.8 of its
    1.0 s, on every run's clock before the first chunk can be scored; scoring never uses them. With
    :data:`LEAN_ENV` set, scikit-learn is hidden while xgboost loads (xgboost then builds its estimator
    classes on plain bases) and visible again after, so a later ``import sklearn`` works as usual.
    Anywhere else (JupyterLab, tests, training) xgboost is imported as it is.
    """
    import sys

    if "xgboost" in sys.modules or os.environ.get(LEAN_ENV) != "1" or "sklearn" in sys.modules:
        import xgboost

        return xgboost
    sys.modules["sklearn"] = None  # an import of it now raises ImportError: xgboost's own fallback
    try:
        import xgboost
    finally:
        del sys.modules["sklearn"]
    return xgboost


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_auc(estimate: dict, features, present) -> float:
    """Cross-validated ROC AUC to expect from a model using ``features`` when only ``present`` columns exist.

    ``estimate`` is a feature set's ``expected_auc`` entry in the card: the
    out-of-fold AUC measured at training time for many column sets. The
    answer is the best AUC measured on a set the present columns cover (a set
    whose absent columns include all of ours): a measured lower bound, exact
    for the sets that were measured. 0.5 (chance) when nothing fits.
    """
    missing = set(features) - set(present)
    best = 0.5
    for entry in estimate["measured"]:
        if entry["roc_auc"] > best and missing <= set(entry["absent"]):
            best = float(entry["roc_auc"])
    return best


def confidence_level(auc: float, full_auc: float) -> str:
    """``high`` near the full model's CV AUC, ``medium`` while still useful, ``low`` below."""
    if auc >= full_auc - 0.01:
        return "high"
    return "medium" if auc >= 0.75 else "low"


class _Carded:
    """The model card's identity, for a single model and for the set it belongs to."""

    card: dict

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def kind(self) -> str:
        return self.card.get("kind", "xgboost")


@dataclass
class ChurnModel(_Carded):
    """One verified booster for one feature set.

    ``calibration`` (from the card) is ``None`` or a Platt map ``a * margin + b``
    on log-odds; it is applied to the margin *and* scales the SHAP values, so
    contributions plus base value still equal :meth:`margin` exactly.
    """

    booster: object  # xgboost.Booster (imported lazily)
    card: dict
    name: str = "full"
    nthread: int = NTHREAD

    def with_threads(self, n: int) -> ChurnModel:
        """This model on a booster of its own that uses ``n`` threads (the same numbers; for a thread
        pool whose threads each score alone: one booster's settings are not to be changed under a
        running prediction)."""
        booster = self.booster.copy()
        booster.set_param({"nthread": n})
        return dataclasses.replace(self, booster=booster, nthread=n)

    @property
    def spec(self) -> dict:
        return self.card["feature_sets"][self.name]

    @property
    def features(self) -> list[str]:
        return list(self.spec["features"])

    @property
    def threshold(self) -> float:
        """Probability at or above which ``predicted_churn`` is 1."""
        return float(self.spec.get("threshold", 0.5))

    @property
    def _platt(self) -> tuple[float, float]:
        cal = self.spec.get("calibration") or {}
        return float(cal.get("a", 1.0)), float(cal.get("b", 0.0))

    def _dmatrix(self, rows: pd.DataFrame):
        xgb = import_xgboost()
        return xgb.DMatrix(feature_frame(rows, self.features), enable_categorical=True, nthread=self.nthread)

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds for each row."""
        a, b = self._platt
        # inplace_predict reads the feature frame as it is: no DMatrix copy (same numbers)
        return a * self.booster.inplace_predict(feature_frame(rows, self.features), predict_type="margin") + b

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Churn probability in [0, 1] for each row of canonical customer data."""
        return sigmoid(self.margin(rows))

    def contributions(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP values (log-odds) per row and feature, and the base value per row.

        XGBoost's native ``pred_contribs``: the numbers ``shap.TreeExplainer``
        computes, without its overhead. ``contribs.sum(1) + base == margin(rows)``.
        """
        a, b = self._platt
        out = self.booster.predict(self._dmatrix(rows), pred_contribs=True)
        contribs = out[:, :-1]
        if a != 1.0:
            contribs *= a
        return contribs, a * out[:, -1] + b


@dataclass
class Choice:
    """Which feature set scores a file, and how much to trust it."""

    model: ChurnModel
    present: list[str]
    missing: list[str]
    expected_roc_auc: float
    confidence: str
    alternatives: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "feature_set": self.model.name,
            "confidence": self.confidence,
            "expected_roc_auc": round(self.expected_roc_auc, 4),
            "missing_features": list(self.missing),
            "expected_roc_auc_by_set": {k: round(v, 4) for k, v in self.alternatives.items()},
        }


@dataclass
class ModelSet(_Carded):
    """The verified models of one artefact directory (one per feature set) and their card."""

    card: dict
    models: dict[str, ChurnModel]

    def choose(self, rows: pd.DataFrame) -> Choice:
        """The feature set with the best expected ROC AUC for the columns ``rows`` has."""
        return self.choose_for(present_features(rows))

    def choose_for(self, present: frozenset[str]) -> Choice:
        """The feature set with the best expected ROC AUC when the ``present`` feature columns hold values."""
        estimates = {
            name: expected_auc(m.spec["expected_auc"], m.features, present) for name, m in self.models.items()
        }
        # Ties go to the first set listed in the card (the fuller one).
        best = max(estimates, key=lambda n: (estimates[n], -list(estimates).index(n)))
        model = self.models[best]
        full_auc = float(self.card["cv"]["roc_auc"])
        return Choice(
            model=model,
            present=sorted(present & set(model.features)),
            missing=[f for f in self.models["full"].features if f not in present],
            expected_roc_auc=estimates[best],
            confidence=confidence_level(estimates[best], full_auc),
            alternatives=estimates,
        )

    def for_rows(self, rows: pd.DataFrame) -> ChurnModel:
        """The model that scores ``rows`` (see :meth:`choose`)."""
        return self.choose(rows).model

    # Convenience: score with whichever model fits the rows.
    @property
    def threshold(self) -> float:
        return self.models["full"].threshold

    @property
    def features(self) -> list[str]:
        return self.models["full"].features

    def margin(self, rows: pd.DataFrame) -> np.ndarray:
        return self.for_rows(rows).margin(rows)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        return self.for_rows(rows).predict_proba(rows)

    def contributions(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return self.for_rows(rows).contributions(rows)


def load_model(directory: str | os.PathLike | None = None) -> ModelSet:
    """Load and verify the models in ``directory`` (default: the bundled artefacts).

    Raises :class:`ModelError` when an artefact or the card is missing, or when
    an artefact's SHA-256 does not match the card.
    """
    path = Path(directory or MODEL_DIR).resolve()
    card_path = path / CARD
    if not card_path.is_file():
        raise ModelError(
            f"No model in {path}: expected {CARD}. Run `retainwise train --out DIR` to build one.",
            code="model_missing",
        )
    # Cache on content, so a re-trained or tampered directory is re-checked, not served from memory.
    return _load(str(path), card_path.stat().st_mtime_ns, *_artefact_stamps(path))


def _artefact_stamps(path: Path) -> tuple:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.glob("*.ubj")))


@lru_cache(maxsize=4)
def _load(directory: str, *_stamps) -> ModelSet:
    xgb = import_xgboost()

    path = Path(directory)
    try:
        card = json.loads((path / CARD).read_text(encoding="utf-8"))
        sets = card["feature_sets"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"The model card in {path} is unreadable ({exc}). Run `retainwise train --out DIR` to rebuild it.",
            code="model_missing",
        ) from exc
    models = {}
    for name, spec in sets.items():
        artefact = path / spec["artefact"]
        if not artefact.is_file():
            raise ModelError(
                f"No model in {path}: {artefact.name} is missing. Run `retainwise train --out DIR` to build one.",
                code="model_missing",
            )
        actual = sha256_file(artefact)
        if actual != spec.get("sha256"):
            raise ModelError(
                f"The model artefact {artefact.name} does not match its model card (SHA-256 {actual[:12]}… "
                f"instead of {str(spec.get('sha256'))[:12]}…); refusing to score. "
                "Restore it or run `retainwise train --install`.",
                code="model_tampered",
            )
        booster = xgb.Booster()
        try:
            booster.load_model(str(artefact))
        except xgb.core.XGBoostError as exc:
            raise ModelError(
                f"The model artefact {artefact.name} cannot be read: {exc}", code="model_unreadable"
            ) from exc
        booster.set_param({"nthread": NTHREAD})
        models[name] = ChurnModel(booster=booster, card=card, name=name)
    if "full" not in models:
        raise ModelError(
            f"The model card in {path} lists no full model. Run `retainwise train --out DIR`.",
            code="model_missing",
        )
    return ModelSet(card=card, models=models)
