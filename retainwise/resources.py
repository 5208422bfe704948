"""Where the files that ship with RetainWise live: sample data, the model, notebooks, templates.

Resolved through :mod:`importlib.resources`, never the working directory, so
``retainwise`` and the notebooks' defaults work from any folder and from an
installed wheel. ``notebooks/`` and ``templates/`` sit at the top of the
repository and ship inside the package as ``retainwise/notebooks`` and
``retainwise/templates`` (see ``pyproject.toml``); in a source checkout the
repository's copies are used, so an edit in JupyterLab is what runs.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_PACKAGE = Path(str(files("retainwise")))
_REPO = _PACKAGE.parent

#: Bundled data: the training file and the sample upload.
DATA_DIR = _PACKAGE / "data"
TRAINING_DATA = DATA_DIR / "telco_churn_train.csv"
SAMPLE_UPLOAD = DATA_DIR / "sample_customers.csv"
#: The committed model artefacts and their model card.
MODEL_DIR = _PACKAGE / "model"
#: Alembic migrations of the run store.
MIGRATIONS_DIR = _PACKAGE / "platform" / "migrations"


def _shipped(folder: str) -> Path:
    repo = _REPO / folder
    if (_REPO / "pyproject.toml").is_file() and repo.is_dir():
        return repo
    return _PACKAGE / folder


def notebook(name: str) -> Path:
    """The path of the notebook ``name`` (e.g. ``pipeline.ipynb``)."""
    return _shipped("notebooks") / name


def templates_dir() -> Path:
    """The folder holding the Voila and nbconvert templates."""
    return _shipped("templates")
