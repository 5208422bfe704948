"""A tenant's model versions: register, activate, roll back (platform/registry.py)."""

from __future__ import annotations

import json

import pytest

from retainwise.errors import InputError
from retainwise.platform.registry import LocalRegistry


def _trained(tmp_path, version: str, auc: float = 0.8):
    folder = tmp_path / f"trained-{version}"
    folder.mkdir()
    (folder / "model.ubj").write_bytes(b"booster " + version.encode())
    (folder / "card.json").write_text(
        json.dumps(
            {
                "version": version,
                "kind": "tenant",
                "cv": {"roc_auc": auc},
                "gate": {"verdict": "Promoted."},
                "trained_on": {"rows": 900},
            }
        )
    )
    return folder


def test_register_activate_and_roll_back(tmp_path):
    reg = LocalRegistry(tmp_path / "home", "acme")
    assert reg.versions() == [] and reg.active() is None
    reg.register(_trained(tmp_path, "t-1"), activate=True)
    assert reg.active() == reg.dir / "t-1" and (reg.active() / "model.ubj").read_bytes() == b"booster t-1"
    reg.register(_trained(tmp_path, "t-2", 0.85), activate=True)
    statuses = {e["version"]: e["status"] for e in reg.versions()}
    assert statuses == {"t-1": "retired", "t-2": "active"} and reg.versions()[0]["roc_auc"] == 0.85
    reg.activate("t-1")  # roll back
    assert (
        reg.active().name == "t-1" and {e["version"]: e["status"] for e in reg.versions()}["t-2"] == "retired"
    )


def test_a_version_the_gate_refused_is_a_candidate_and_an_unknown_one_is_refused(tmp_path):
    reg = LocalRegistry(tmp_path / "home", "acme")
    reg.register(_trained(tmp_path, "t-1"), activate=False)
    assert reg.active() is None and reg.versions()[0]["status"] == "candidate"
    with pytest.raises(InputError, match="no model version 't-9'"):
        reg.activate("t-9")


def test_tenants_have_separate_registries_and_names_cannot_escape(tmp_path):
    LocalRegistry(tmp_path / "home", "acme").register(_trained(tmp_path, "t-1"), activate=True)
    assert LocalRegistry(tmp_path / "home", "globex").active() is None
    with pytest.raises(InputError):
        LocalRegistry(tmp_path / "home", "../etc")


def test_registering_the_same_version_again_keeps_its_status(tmp_path):
    reg = LocalRegistry(tmp_path / "home", "acme")
    reg.register(_trained(tmp_path, "t-1"), activate=True)
    (tmp_path / "again").mkdir()
    for name in ("model.ubj", "card.json"):
        (tmp_path / "again" / name).write_bytes((tmp_path / "trained-t-1" / name).read_bytes())
    assert reg.register(tmp_path / "again", activate=False)["status"] == "active"
    assert [e["status"] for e in reg.versions()] == ["active"]


def test_a_name_no_registry_can_have_has_no_active_model(tmp_path):
    assert LocalRegistry.active_for(tmp_path / "home", '<img src=x onerror="1">') is None
    LocalRegistry(tmp_path / "home", "acme").register(_trained(tmp_path, "t-1"), activate=True)
    assert LocalRegistry.active_for(tmp_path / "home", "acme").name == "t-1"
