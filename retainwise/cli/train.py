"""``retainwise train`` and ``retainwise model``: train through the notebook, gate, install; show the card.

``train`` executes ``notebooks/training.ipynb`` with Papermill on a fresh
kernel (the executed notebook is the record of the run), follows the search's
progress through a file the notebook appends to, and prints the headline
figures and the promotion gate's verdict. It writes to ``--out`` and never
touches the committed model unless ``--install`` is given; ``--install``
refuses a model the gate rejected unless ``--force``. ``train --tenant T`` trains a business's own
model instead (cli/tenant_train.py).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from retainwise.errors import InputError, ModelError
from retainwise.execution.notebook import run_notebook
from retainwise.resources import MODEL_DIR, TRAINING_DATA
from retainwise.science.model import CARD, load_model
from retainwise.science.training import card as cards
from retainwise.science.training.evaluate import REPEATS
from retainwise.science.training.search import DEFAULT_BUDGET

NOTEBOOK = "training.ipynb"


def cli_train(args) -> int:
    """Train into ``--out`` (or a folder under the home with ``--install``); gate; install when asked.

    Raises :class:`InputError` for an unusable training file or output folder, :class:`ModelError`
    when ``--install`` meets a rejected model without ``--force``, and what :func:`run_notebook`
    raises (:class:`InternalError` for a failed cell, :class:`ExecutionError` when the kernel dies).
    With ``--tenant``, :func:`~retainwise.cli.tenant_train.cli_tenant_train` trains that tenant's own model.
    """
    if getattr(args, "tenant", None):  # a business's own model: cli/tenant_train.py
        from retainwise.cli.tenant_train import cli_tenant_train

        return cli_tenant_train(args)
    install, force = bool(getattr(args, "install", False)), bool(getattr(args, "force", False))
    data = Path(args.data).resolve() if args.data else TRAINING_DATA
    if not data.is_file():
        raise InputError(f"{data}: no such training file. Pass --data with a labelled CSV.", code="no_file")
    out = _out_dir(args.out, install)
    budget = DEFAULT_BUDGET if args.budget is None else int(args.budget)
    params = {
        "data_path": str(data),
        "out_dir": str(out),
        "champion_dir": str(MODEL_DIR),
        "seed": int(args.seed),
        "budget": budget,
        "repeats": REPEATS,
    }
    executed = _run_with_progress(params, out)
    card = json.loads((out / CARD).read_text(encoding="utf-8"))
    as_json = bool(getattr(args, "json", False))
    _report(card, out, executed, as_json=as_json)
    if install:
        install_model(out, MODEL_DIR, force=force)
        forced = " (forced past the gate)" if card["gate"]["decision"] != "promote" else ""
        # with --json, stdout holds the one JSON object only
        print(
            f"installed {card['version']} into {MODEL_DIR}{forced}",
            file=sys.stderr if as_json else sys.stdout,
        )
    return 0


def _report(card: dict, out: Path, executed: Path, *, as_json: bool) -> None:
    """The new model's headline figures and the gate's verdict: lines, or one JSON object."""
    cv, mc, gate = card["cv"], card["missing_columns"], card["gate"]
    if as_json:
        headline = {k: cv[k] for k in ("roc_auc", "brier", "ece", "accuracy", "threshold")}
        print(
            json.dumps(
                {
                    "version": card["version"],
                    "cv": headline,
                    "core_only_roc_auc": mc["core_only_roc_auc"],
                    "gate": {"decision": gate["decision"], "reason": gate["reason"]},
                    "model_card": str(out / cards.MARKDOWN),
                    "executed_notebook": str(executed),
                },
                indent=2,
            )
        )
        return
    print(
        f"model {card['version']}: CV ROC AUC {cv['roc_auc']}, Brier {cv['brier']}, ECE {cv['ece']}, "
        f"accuracy {cv['accuracy']} at {cv['threshold']}; core-only AUC {mc['core_only_roc_auc']}"
    )
    print(f"gate: {gate['decision']} ({gate['reason']})")
    print(f"model card: {out / cards.MARKDOWN}; executed notebook: {executed}")


def cli_model(args) -> int:
    """Print the current (committed) model's card: Markdown, or JSON with ``--json``.

    Raises :class:`ModelError` when the model is missing or its artefacts do not match the card.
    """
    card = load_model(MODEL_DIR).card
    if getattr(args, "json", False):
        print(json.dumps(card, indent=2))
    else:
        print(cards.markdown(card), end="")
    return 0


def _out_dir(out: str | None, install: bool) -> Path:
    if out:
        path = Path(out).resolve()
        if path == MODEL_DIR.resolve():
            raise InputError(
                f"--out {out} is the committed model's folder: use --install to replace it.", code="bad_out"
            )
        return path
    if not install:
        raise InputError(
            "--out DIR is required (or --install to replace the committed model).", code="bad_out"
        )
    from retainwise.settings import Settings

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Settings.from_env().home.resolve() / "training" / stamp


def _run_with_progress(params: dict, out: Path) -> Path:
    """Run the notebook while printing its search progress (trials done / total, best CV AUC so far)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="retainwise-train-") as tmp:
        progress = Path(tmp) / "progress.txt"
        progress.touch()
        stop = threading.Event()
        follower = threading.Thread(target=_follow, args=(progress, stop), daemon=True)
        follower.start()
        try:
            return run_notebook(NOTEBOOK, out / NOTEBOOK, {**params, "progress_path": str(progress)}, cwd=out)
        finally:
            stop.set()
            follower.join()


def _follow(path: Path, stop: threading.Event) -> None:
    """Print each progress line the notebook appends to ``path`` until ``stop`` is set (then drain)."""
    pending = ""
    with open(path, encoding="utf-8") as fh:
        while True:
            finished = stop.wait(0.5)
            pending += fh.read()
            # a line still being written stays pending until its newline arrives
            *lines, pending = pending.split("\n")
            for line in lines:
                fields = line.split()
                if len(fields) == 3:
                    print(
                        f"training {fields[0]}: trial {fields[1]}, best CV ROC AUC so far {fields[2]}",
                        file=sys.stderr,
                        flush=True,
                    )
            if finished:
                return


def install_model(out: Path, model_dir: Path, *, force: bool = False) -> dict:
    """Install the model trained into ``out`` over the one in ``model_dir``; returns the installed card.

    The artefacts are copied first and the card (naming the replaced champion) last: until it is
    written the old card's SHA-256s no longer match, so scoring refuses a half-installed model
    instead of serving it. Raises :class:`ModelError` (one line, with the gate's reason) when the
    gate rejected the model and ``force`` is not set.
    """
    card = json.loads((out / CARD).read_text(encoding="utf-8"))
    gate = card.get("gate") or {}
    if gate.get("decision") != "promote" and not force:
        raise ModelError(
            f"Not installed: the promotion gate rejected {card['version']}: "
            f"{gate.get('reason', 'no verdict in its card')} (--force installs it anyway).",
            code="gate_rejected",
        )
    champion_card = model_dir / CARD
    champion = json.loads(champion_card.read_text(encoding="utf-8")) if champion_card.is_file() else None
    model_dir.mkdir(parents=True, exist_ok=True)
    for spec in card["feature_sets"].values():
        shutil.copyfile(out / spec["artefact"], model_dir / spec["artefact"])
    shutil.copyfile(out / card["calibration_plot"], model_dir / card["calibration_plot"])
    installed = cards.promoted(card, champion, datetime.now(UTC).isoformat(timespec="seconds"))
    cards.write(installed, model_dir)
    return installed
