"""One training run, step by step: each step a section of ``notebooks/training.ipynb``.

Every method computes its step (in notebook order) and returns what the
section shows, a frame or a figure. :func:`train` runs them all without a
notebook (tests, scripts).
"""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.resources import TRAINING_DATA
from retainwise.science import calibration, drift
from retainwise.science.features import EXCLUDED, FEATURE_SETS, FULL_FEATURES, feature_frame
from retainwise.science.model import ARTEFACT, sha256_file
from retainwise.science.training import card as cards
from retainwise.science.training import figures, gate
from retainwise.science.training.cv import MASK_COPIES, MASK_RATE, fit, searched
from retainwise.science.training.data import load_training_rows, profile
from retainwise.science.training.evaluate import REPEATS, Evaluation, evaluate, folds_table
from retainwise.science.training.robustness import robustness
from retainwise.science.training.search import BRIER_SLACK, DEFAULT_BUDGET, Progress, search, trials_table
from retainwise.science.training.segments import segments_table

ARTEFACTS = {"full": ARTEFACT, "core": "churn_model_core.ubj"}
PLOT = "calibration.png"


class Training:
    """A training run on one labelled file; call the steps in order (each needs the ones before it).

    Raises :class:`InputError` (on creation) when the training file is unusable.
    """

    def __init__(
        self,
        data: str | Path | None = None,
        *,
        seed: int = 42,
        budget: int = DEFAULT_BUDGET,
        repeats: int = REPEATS,
        progress_path: str | Path | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self.data = Path(data or TRAINING_DATA)
        self.seed, self.budget, self.repeats = int(seed), int(budget), int(repeats)
        self.rows, self.y = load_training_rows(self.data)
        self.x = feature_frame(self.rows, FULL_FEATURES)
        self.progress = Progress(progress_path)
        self.found: dict[str, dict] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.specs: dict[str, dict] = {}
        self.boosters: dict = {}
        self.verdict: dict | None = None
        self.shap: np.ndarray | None = None  # full model's SHAP values on the training rows (after refit)
        self.robustness_report: dict = {}

    def profile(self):
        """Rows, churn rate, missing values per column (a styled frame)."""
        return profile(self.rows, self.y)

    def search(self) -> pd.DataFrame:
        """The seeded random search per feature set (progress shown while it runs); the trials table."""
        for name, feats in FEATURE_SETS.items():
            self.found[name] = search(
                self.x[list(feats)], self.y, self.budget, self.seed, label=name, on_trial=self.progress
            )
        return trials_table(self.found)

    def cross_validation(self) -> pd.DataFrame:
        """Repeated CV of each chosen setting on fresh splits; the per-fold table."""
        for name, feats in FEATURE_SETS.items():
            ev = evaluate(self.x[list(feats)], self.y, self.found[name], self.seed, repeats=self.repeats)
            self.evaluations[name] = ev
            self.specs[name] = {
                "artefact": ARTEFACTS[name],
                "features": list(feats),
                **ev.spec,
                "search": {"budget": self.budget, "trials": self.found[name]["trials"]},
            }
        return folds_table(self.y, self.evaluations)

    def curves(self):
        """ROC and precision-recall curves of each feature set's out-of-fold probabilities (first repeat)."""
        return figures.roc_pr(
            self.y,
            {f"{n} ({len(FEATURE_SETS[n])} columns)": ev.probs[0] for n, ev in self.evaluations.items()},
        )

    def calibration(self):
        """Reliability of the full model's out-of-fold probabilities with and without Platt scaling."""
        ev = self.evaluations["full"]
        platt = [
            calibration.cross_fitted_platt(cv["margin"], self.y, s)
            for cv, s in zip(ev.runs, ev.seeds, strict=True)
        ]
        y = np.tile(self.y, len(ev.runs))
        return figures.calibration_with_and_without_platt(
            y, np.concatenate(ev.raw), np.concatenate(platt), kept=ev.spec["calibration"] is not None
        )

    def refit(self, out: str | Path) -> pd.DataFrame:
        """Each feature set refitted on all rows and saved as UBJSON in ``out``; a table of the artefacts."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, spec in self.specs.items():
            booster = fit(
                self.x[spec["features"]], self.y, searched(spec["params"]), spec["rounds"], self.seed
            )
            booster.save_model(str(out / spec["artefact"]))
            spec["sha256"] = sha256_file(out / spec["artefact"])
            self.boosters[name] = booster
        self.shap = figures.contributions(self.boosters["full"], self.x, self.specs["full"]["calibration"])
        return pd.DataFrame(
            [
                {
                    "feature set": n,
                    "artefact": s["artefact"],
                    "rounds": s["rounds"],
                    "calibration": "Platt" if s["calibration"] else "none",
                    "SHA-256": s["sha256"],
                }
                for n, s in self.specs.items()
            ]
        )

    def shap_summary(self):
        """Global SHAP summary of the refitted full model on the training rows."""
        return figures.shap_summary(self.shap, self.x, seed=self.seed)

    def shap_dependence(self):
        """SHAP dependence plots of the three strongest features."""
        return figures.shap_dependence(self.shap, self.x)

    def segments(self) -> pd.DataFrame:
        """Performance of the full model by contract, tenure band, internet service and payment method."""
        p = np.mean(self.evaluations["full"].probs, axis=0)
        return segments_table(self.rows, self.y, p)

    def robustness(self):
        """ROC AUC with columns missing, measured with the first repeat's fold models; as a chart."""
        cvs = {name: ev.runs[0] for name, ev in self.evaluations.items()}
        estimates, self.robustness_report = robustness(self.x, self.y, cvs, self.seed)
        for name, est in estimates.items():
            self.specs[name]["expected_auc"] = est
        return figures.robustness(self.robustness_report)

    def gate(self, champion_dir: str | Path | None):
        """Paired per-fold comparison with the champion in ``champion_dir``; the verdict is the caption."""
        champion = gate.read_champion(champion_dir)
        if champion is None:
            self.verdict = gate.no_champion()
            return pd.DataFrame().style.set_caption(
                html.escape(f"Verdict: promote ({self.verdict['reason']})")
            )
        ev = self.evaluations["full"]
        run = ev.runs[0]
        # The first evaluation repeat is the candidate on these folds: the champion is retrained on the same
        # split with the same fold seeds (identical settings give identical margins).
        candidate = {"margin": run["margin"], "prob": ev.probs[0]}
        held = gate.recipe_oof(self.rows, self.y, champion["feature_sets"]["full"], run["folds"], ev.seeds[0])
        table = gate.compare(self.y, run["folds"], held, candidate)
        self.verdict = gate.verdict(table, champion.get("version", "the champion"))
        caption = f"Verdict: {self.verdict['decision']}: {self.verdict['reason']}"
        return table.style.set_caption(html.escape(caption)).format(precision=4, escape="html")

    def card(self, out: str | Path) -> dict:
        """Write the model card (JSON and Markdown) and the calibration plot to ``out``; return the card."""
        out = Path(out)
        card = self._card()
        calibration.plot(
            {
                f"{n} ({len(FEATURE_SETS[n])} features)": calibration.reliability(
                    np.tile(self.y, len(ev.probs)), np.concatenate(ev.probs)
                )
                for n, ev in self.evaluations.items()
            },
            out / PLOT,
        )
        cards.write(card, out)
        return card

    def _card(self) -> dict:
        full, y = self.specs["full"], self.y
        return {
            "version": cards.version_of(self.specs),
            "kind": "xgboost",
            "artefact": full["artefact"],
            "sha256": full["sha256"],
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "file": self.data.name,
                "rows": int(len(y)),
                "positive_rate": round(float(y.mean()), 4),
                "sha256": sha256_file(self.data),
            },
            "cv": full["cv"],
            "threshold": full["threshold"],
            "features": full["features"],
            "excluded_features": dict(EXCLUDED),
            "class_balance": {
                "positive_rate": round(float(y.mean()), 4),
                "balanced_weight": round(float((y == 0).sum() / (y == 1).sum()), 3),
                "chosen_scale_pos_weight": {
                    n: s["params"]["scale_pos_weight"] for n, s in self.specs.items()
                },
                "rule": f"scale_pos_weight is searched; a trial wins on AUC only within {BRIER_SLACK} Brier of "
                "the best",
            },
            "missing_columns": {
                "training": f"data plus {MASK_COPIES} copies with each value blanked with "
                f"probability {MASK_RATE}",
                **self.robustness_report,
            },
            "feature_importance": cards.importance(self.shap, self.x),
            "feature_sets": self.specs,
            "gate": self.verdict or gate.no_champion(),
            "drift_reference": drift.profile(self.rows, FULL_FEATURES),
            "calibration_plot": PLOT,
            "seed": self.seed,
            "training_seconds": round(time.perf_counter() - self.started, 1),
        }


def train(
    data: str | Path | None = None,
    *,
    out: str | Path,
    seed: int = 42,
    budget: int = DEFAULT_BUDGET,
    repeats: int = REPEATS,
    champion_dir: str | Path | None = None,
) -> dict:
    """Every step of :class:`Training` without a notebook; artefacts and card go to ``out``. Returns the card.

    Raises :class:`InputError` when the training file is unusable.
    """
    run = Training(data, seed=seed, budget=budget, repeats=repeats)
    run.search()
    run.cross_validation()
    run.refit(out)
    run.robustness()
    run.gate(champion_dir)
    return run.card(out)
