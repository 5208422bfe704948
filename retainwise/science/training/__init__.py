"""Training the churn models: search, evaluation, robustness, the promotion gate and the model card.

What ``retainwise train`` (through ``notebooks/training.ipynb``, one section per
step of :class:`Training`) does, in order:

1. **Profile** the labelled file (rows, churn rate, missing values).
2. **Search**: for each feature set (``full``, ``core``; see features.py) a
   seeded random search over XGBoost hyperparameters, each trial scored by
   5-fold stratified CV ROC AUC (search.py).
3. **Evaluate** the chosen settings with fresh 5-fold splits (evaluate.py):
   ROC AUC, Brier, expected calibration error, the accuracy-maximising
   threshold, per fold; Platt calibration kept only if it lowers Brier.
4. **Refit** each feature set on all rows (UBJSON artefacts), then explain the
   full model globally with exact TreeSHAP (figures.py), show performance by
   segment (segments.py) and robustness to missing columns (robustness.py).
5. **Gate**: paired per-fold comparison with the champion (gate.py); the
   verdict goes into the model card (card.py), with the champion history.

Every model is trained on the data plus masked copies (cv.py), so missing
columns degrade the score gracefully. Pure: reads and writes only the paths it
is handed; never imports the notebook-running, platform or command layers.

scikit-learn, XGBoost and matplotlib are imported inside the functions that
use them: together they take seconds to import (``python -X importtime``: 6 s
for ``sklearn.metrics``, 10 s for ``xgboost`` on the shared 2-core machine
under load), which ``retainwise model`` and the command's argument checks
should not pay before they can answer.
"""

from retainwise.science.training.card import markdown as model_card_markdown
from retainwise.science.training.cv import (
    DEFAULT_PARAMS,
    FOLDS,
    augment,
    cross_validate,
    dmatrix,
    fit,
    folds_for,
    max_rounds,
)
from retainwise.science.training.data import load_training_rows, profile
from retainwise.science.training.evaluate import REPEATS, choose_threshold, evaluate
from retainwise.science.training.robustness import column_sets, masked_oof_aucs, robustness
from retainwise.science.training.search import DEFAULT_BUDGET, SPACE, search
from retainwise.science.training.session import ARTEFACTS, PLOT, Training, train

__all__ = [
    "ARTEFACTS",
    "DEFAULT_BUDGET",
    "DEFAULT_PARAMS",
    "FOLDS",
    "PLOT",
    "REPEATS",
    "SPACE",
    "Training",
    "augment",
    "choose_threshold",
    "column_sets",
    "cross_validate",
    "dmatrix",
    "evaluate",
    "fit",
    "folds_for",
    "load_training_rows",
    "masked_oof_aucs",
    "max_rounds",
    "model_card_markdown",
    "profile",
    "robustness",
    "search",
    "train",
]
