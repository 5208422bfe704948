"""RetainWise: map, validate, score and explain a business's customer file.

The public API is re-exported here lazily: ``import retainwise`` stays cheap
(no pandas, xgboost or boto3 until a name that needs them is used), which
keeps the CLI and the runner quick to start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from retainwise.errors import (
    ConfigError,
    ExecutionError,
    InputError,
    ModelError,
    RetainwiseError,
    StorageError,
)


def _version() -> str:
    # One place for the version: pyproject.toml, read back from the installed package's metadata
    # (importlib.metadata costs ~15 ms to import, so only when asked for).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("retainwise")
    except PackageNotFoundError:  # a checkout on sys.path that was never installed
        return "0+unknown"


_LAZY = {
    "Settings": "retainwise.settings",  # pydantic-settings costs ~0.15 s to import: only when used
    "Pipeline": "retainwise.science.pipeline",
    "score_file": "retainwise.execution.execute",
    "load_model": "retainwise.science.model",
}

__all__ = [
    "ConfigError",
    "ExecutionError",
    "InputError",
    "ModelError",
    "RetainwiseError",
    "Settings",
    "StorageError",
    *_LAZY,
]

if TYPE_CHECKING:  # pragma: no cover
    from retainwise.execution.execute import score_file  # noqa: F401
    from retainwise.science.model import load_model  # noqa: F401
    from retainwise.science.pipeline import Pipeline  # noqa: F401
    from retainwise.settings import Settings  # noqa: F401


def __getattr__(name: str):
    if name == "__version__":
        return _version()
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'retainwise' has no attribute {name!r}")
