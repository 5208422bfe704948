"""The science: reading, mapping, normalising and validating an upload, the model, scoring,
explanations, rules, the A/B experiment, drift, calibration, training and the in-kernel ``Pipeline``.

Owns everything that turns a customer file into predictions and explanations. It does no I/O
beyond the paths it is handed: no AWS, no database, no Papermill, no tenant state on disk (the
pipeline takes a tenant's saved mapping as a parameter and returns the one to save). It must never
import ``retainwise.platform``, ``retainwise.execution``, ``retainwise.reports``, ``retainwise.cli``
or ``runner`` (an import-linter contract in ``pyproject.toml``).
"""

# The public modules: imported from outside the package. The others are its own business
# (tests/test_import_paths.py keeps this list true).
__all__ = [
    "display",
    "domain",
    "drift",
    "explain",
    "features",
    "mapping",
    "mapping_record",
    "model",
    "normalise",
    "outcomes",
    "pipeline",
    "playbook",
    "progress",
    "reading",
    "rules",
    "sample",
    "schema",
    "scoring",
    "snapshot",
    "tenant",
    "tenant_training",
    "training",
    "validation",
]
