"""``retainwise models`` on the platform: with a bucket configured, the bucket's ``models/<tenant>/``
(BucketRegistry, what the runner scores with) is listed and activated, never this machine's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retainwise.cli import main
from retainwise.platform.registry import BucketRegistry, LocalRegistry

pytestmark = [pytest.mark.aws]


def _model(folder: Path, version: str, auc: float) -> Path:
    folder.mkdir()
    (folder / "model.ubj").write_bytes(b"booster bytes")
    (folder / "card.json").write_text(
        json.dumps(
            {"version": version, "kind": "tenant", "cv": {"roc_auc": auc}, "trained_on": {"rows": 1500}}
        )
    )
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_lists_and_activates_the_platform_s_versions(stack, tmp_path, capsys):
    registry = BucketRegistry(stack.storage, "acme")
    registry.register(_model(tmp_path / "one", "t-one", 0.81), activate=True)
    registry.register(_model(tmp_path / "two", "t-two", 0.84), activate=False)
    BucketRegistry(stack.storage, "globex").register(_model(tmp_path / "g", "t-g", 0.7), activate=True)
    stack.storage.put_json("models/Not A Tenant/registry.json", {"versions": []})  # a stray key: skipped

    code, out, err = _run(capsys, "models", "--json")
    assert code == 0, err
    assert sorted((e["tenant"], e["version"], e["status"]) for e in json.loads(out)) == [
        ("acme", "t-one", "active"),
        ("acme", "t-two", "candidate"),
        ("globex", "t-g", "active"),
    ]

    code, out, err = _run(capsys, "models", "activate", "acme", "t-two")
    assert code == 0, err
    assert "acme: t-two is now active" in out
    assert {e["version"]: e["status"] for e in registry.versions()} == {"t-two": "active", "t-one": "retired"}
    code, out, _ = _run(capsys, "models", "--tenant", "acme")
    assert code == 0 and "t-two" in out and "retired" in out and "0.840" in out and "1500" in out
    assert LocalRegistry(stack.settings.home, "acme").versions() == []  # nothing written on this machine

    code, _, err = _run(capsys, "models", "activate", "acme", "t-nope")
    assert code == 2 and "no model version 't-nope'" in err
    assert {e["version"]: e["status"] for e in registry.versions()} == {"t-two": "active", "t-one": "retired"}


def test_a_tenant_without_models_on_the_platform_says_so(stack, capsys):
    code, out, _ = _run(capsys, "models", "--tenant", "beta")
    assert code == 0 and "beta has no model of its own yet" in out and "--train" in out
    code, out, _ = _run(capsys, "models", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = _run(capsys, "models")
    assert code == 0 and "No tenant models yet" in out
