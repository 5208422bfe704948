"""The schemas of ``summary.json`` and ``results.csv``/``results.parquet``, from a real run.

The pipeline (:class:`retainwise.science.pipeline.Pipeline`, the code the notebook calls) scores the
bundled sample once per build in a temporary folder, and the tables list what it actually wrote: every
field path of ``summary.json`` with its JSON type and the sample's value, every results column with its
Parquet type. Words come from ``docs/data/summary_fields.yml`` and ``docs/data/results_columns.yml``.
A field the code writes but the words do not describe is still listed (the code is the truth); words
about a field the run did not write fail the build, unless they say ``when`` it appears (``realised``
needs a file with outcomes), so removed fields cannot linger in the docs. In the words, ``a.*`` marks
``a`` as a map whose keys are data (source columns, features, stages): its keys are not listed.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from pathlib import Path

import yaml
from markdown_cells import cell, code, table

log = logging.getLogger("mkdocs.hooks.summary_page")


@functools.cache
def sample_run() -> tuple[dict, list[tuple[str, str]]]:
    """summary.json and the (column, Parquet type) list of one run of the pipeline on the sample."""
    import pyarrow.parquet as pq

    from retainwise.resources import SAMPLE_UPLOAD
    from retainwise.science.pipeline import Pipeline

    with tempfile.TemporaryDirectory(prefix="retainwise-docs-") as out:
        run = Pipeline(str(SAMPLE_UPLOAD), out, tenant="docs", progress_bar=False)
        run.read(), run.map_columns(), run.validate(), run.predict(), run.explain()
        paths = run.write_outputs()
        summary = json.loads(Path(paths["summary.json"]).read_text(encoding="utf-8"))
        schema = pq.read_schema(Path(out) / "results.parquet")
    return summary, [(f.name, str(f.type)) for f in schema]


def render_summary(root: Path) -> str:
    words = _words(root / "docs" / "data" / "summary_fields.yml")
    seen: dict[str, object] = {}
    _walk(sample_run()[0], "", words, seen)
    rows = [
        [code(p), cell(_json_type(v)), _example(v), cell(_what(words.pop(p, "")))] for p, v in seen.items()
    ]
    rows += _unseen(words, "summary.json")
    return table(["field", "type", "in the sample run", "what"], rows)


def render_results(root: Path) -> str:
    words = _words(root / "docs" / "data" / "results_columns.yml")
    rows = [[code(name), code(kind), cell(_what(words.pop(name, "")))] for name, kind in sample_run()[1]]
    rows += [[code(name), "", cell(f"{_what(w)} ({w['when']})")] for name, w in _optional(words, "results")]
    return table(["column", "Parquet type", "what"], rows)


def _words(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _walk(value: object, path: str, words: dict, seen: dict) -> None:
    """Record each field path under ``path``: maps once (``.*``), lists of records by their first record."""
    if path:
        seen[path] = value
    if isinstance(value, dict):
        if f"{path}.*" in words:
            _walk(next(iter(value.values()), None), f"{path}.*", words, seen)
            return
        for key, inner in value.items():
            _walk(inner, f"{path}.{key}" if path else key, words, seen)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for key, inner in value[0].items():
            _walk(inner, f"{path}[].{key}", words, seen)


def _unseen(words: dict, what: str) -> list[list[str]]:
    return [
        [code(p), cell(w.get("type", "")), "", cell(f"{_what(w)} ({w['when']})")]
        for p, w in _optional(words, what)
    ]


def _optional(words: dict, what: str):
    """The described fields the sample run did not write; a warning (a failed --strict build) unless ``when``."""
    for path, w in words.items():
        if isinstance(w, dict) and w.get("when"):
            yield path, w
        else:
            log.warning("docs/data describes %s field %r, which the code no longer writes", what, path)


def _what(words: object) -> str:
    return words.get("what", "") if isinstance(words, dict) else str(words or "")


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _example(value: object) -> str:
    if isinstance(value, dict | list):
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return code(text if len(text) <= 40 else text[:39] + "…")
