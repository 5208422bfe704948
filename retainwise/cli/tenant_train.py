"""``retainwise train --tenant T [--data FILE]``: train tenant T's own model, gate it, register it.

The labelled rows are a history file's (``--data``: scored through the pipeline in-process for its
snapshot, then its rows with a known ``churned``), or everything ``retainwise outcomes`` and history
uploads kept for the tenant under ``$RETAINWISE_HOME/tenants/<tenant>/labelled/``. The candidate
(science/tenant) is gated against what the tenant gets today (its active model, else the committed
model or the SaaS rules, tenant/today.py), saved (``--out`` or a temporary folder) and registered under
``$RETAINWISE_HOME/models/<tenant>/``: active when the gate promotes it, else kept as a candidate.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from retainwise.cli.output import print_json
from retainwise.errors import InputError
from retainwise.platform.labelled import LocalLabelled, load_labelled
from retainwise.platform.registry import LocalRegistry
from retainwise.science import tenant as tenants
from retainwise.science.snapshot import OWN_PREFIX
from retainwise.science.tenant.today import what_it_gets_today
from retainwise.settings import Settings

#: ``train`` options of the committed model's training that mean nothing with ``--tenant``.
COMMITTED_ONLY = ("install", "force", "budget")


def cli_tenant_train(args) -> int:
    """Train, gate, save and register ``args.tenant``'s model; print what it learned and where it stands.

    Raises InputError for no (or too little) labelled data, an unusable ``--data`` file or ``--out``
    folder; ModelError when the tenant's active model is unreadable or tampered (the gate needs it).
    """
    tenant, quiet = args.tenant, bool(getattr(args, "json", False))
    used = [f"--{name}" for name in COMMITTED_ONLY if getattr(args, name, None) not in (None, False)]
    if used:
        raise InputError(
            f"{', '.join(used)}: only for the committed model's training (without --tenant); a "
            "tenant model is registered by itself and activated with `retainwise models activate`.",
            code="usage",
        )
    home = Settings.from_env().home
    out = _out_dir(args.out)
    labelled, sources = _labelled(args.data, tenant, home, quiet)
    _say(
        quiet, f"Training {tenant}'s model on {len(labelled):,} labelled customers (5-fold cross-validation)…"
    )
    candidate = tenants.train(labelled, tenant=tenant, seed=int(args.seed), sources=sources)
    registry = LocalRegistry(home, tenant)
    active = registry.active()
    current = tenants.load(active) if active is not None else None
    name, incumbent, probabilities = what_it_gets_today(candidate.rows, current)
    _say(quiet, f"Comparing it with {name} on the same held-out customers…")
    verdict = tenants.gate(candidate, incumbent, probabilities=probabilities, name=name)
    with tempfile.TemporaryDirectory(prefix="retainwise-tenant-model-") as scratch:
        card = tenants.save(out or Path(scratch), candidate.booster, tenants.build_card(candidate, verdict))
        known = {e["version"]: e for e in registry.versions()}
        if card["version"] in known:  # the very same model again: registering it would reset its status
            entry, again = known[card["version"]], True
        else:
            entry, again = registry.register(out or Path(scratch), activate=bool(verdict["promoted"])), False
    _report(card, entry, registry.dir / card["version"], out, again=again, as_json=quiet)
    return 0


def _say(quiet: bool, line: str) -> None:
    if not quiet:
        print(line, file=sys.stderr, flush=True)


def _out_dir(out: str | None) -> Path | None:
    """``--out`` resolved (never the committed model's folder), or None for a temporary folder."""
    if not out:
        return None
    from retainwise.resources import MODEL_DIR

    path = Path(out).resolve()
    if path == MODEL_DIR.resolve():
        raise InputError(
            f"--out {out} is the committed model's folder: choose another folder for a tenant model.",
            code="bad_out",
        )
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out} is a file, not a folder.", code="bad_out")
    return path


def _labelled(data: str | None, tenant: str, home: Path, quiet: bool) -> tuple[pd.DataFrame, list[str]]:
    """The labelled rows to learn from and their sources (run ids, or the history file's name)."""
    if data:
        return _from_history(Path(data), tenant, quiet)
    store = LocalLabelled(home, tenant)
    labelled = load_labelled(tenant, store)
    if not pd.to_numeric(labelled["churned"], errors="coerce").notna().any():
        raise InputError(
            f"Tenant {tenant!r} has no labelled customers on this machine yet: send who left with "
            f"`retainwise outcomes FILE --tenant {tenant}` (after scoring them), or pass "
            "--data HISTORY (a customer file with a churned column).",
            code="no_labelled",
        )
    return labelled, store.run_ids()


def _from_history(path: Path, tenant: str, quiet: bool) -> tuple[pd.DataFrame, list[str]]:
    """Score the history file ``path`` in-process for its snapshot; its rows whose ``churned`` is known."""
    from retainwise.science.tenant_training import labelled_from_history

    if not path.is_file():
        raise InputError(
            f"{path}: no such history file. Pass --data with a customer file that has a churned column.",
            code="no_file",
        )
    _say(quiet, f"Reading {path.name} for {tenant} (map, validate, score: the customers as a run sees them)…")
    labelled, _ = labelled_from_history(path, tenant=tenant)
    return labelled, [path.name]


def _header(column: str) -> str:
    return column[len(OWN_PREFIX) :] if column.startswith(OWN_PREFIX) else column


def _report(card: dict, entry: dict, stored: Path, out: Path | None, *, again: bool, as_json: bool) -> None:
    """What was learned and where the model stands: lines, or one JSON object."""
    on, cv, gate, status = card["trained_on"], card["cv"], card["gate"], entry["status"]
    features = [f["name"] for f in card["features"]]
    if as_json:
        print_json(
            {
                "tenant": card["tenant"],
                "version": card["version"],
                "status": status,
                "already_registered": again,
                "trained_on": on,
                "cv": {
                    k: cv.get(k)
                    for k in ("roc_auc", "roc_auc_folds", "roc_auc_std", "brier", "base_rate_brier")
                },
                "features": features,
                "excluded": card["excluded"],
                "gate": {
                    k: gate.get(k)
                    for k in ("promoted", "verdict", "incumbent_name", "candidate", "incumbent")
                },
                "model_dir": str(stored),
                **({"out": str(out)} if out else {}),
            }
        )
        return
    tenant, version = card["tenant"], card["version"]
    own = [_header(f) for f in features if f.startswith(OWN_PREFIX)]
    print(
        f"Tenant model {version} for {tenant}: trained on {on['rows']:,} customers ({on['leavers']:,} who left, "
        f"{on['churn_rate']:.1%})"
    )
    print(
        f"Held-out ROC AUC {cv['roc_auc']:.3f} (5-fold cross-validation, ± {cv.get('roc_auc_std', 0):.3f} per "
        f"fold); Brier {cv['brier']:.4f} against {cv['base_rate_brier']:.4f} for the base rate"
    )
    print(
        f"Features kept: {len(features)}"
        + (
            f", {len(own)} of them {tenant}'s own columns: {', '.join(own)}"
            if own
            else f", none of {tenant}'s own columns"
        )
    )
    for column, reason in card["excluded"].items():
        print(f"  left out {_header(column)}: {reason}")
    print(f"Gate: {gate['verdict']}")
    if again:
        print(
            f"Already registered: {version} is the same model as before; its status ({status}) is unchanged."
        )
    elif status == "active":
        print(f"Active: {tenant}'s next upload is scored by it.")
    else:
        print(f"Kept as a candidate: `retainwise models activate {tenant} {version}` uses it anyway.")
    print(f"Saved in {stored}" + (f" (and {out})" if out else ""))
