"""``retainwise train --tenant T`` and ``retainwise models``, in-process, on a simulated CRM history
(bench/tenant_simulator.py): trained, gated, registered, listed, refused on noise, activated by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retainwise.cli import main
from retainwise.errors import LinkError
from retainwise.platform.registry import LocalRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from tenant_simulator import simulate  # noqa: E402


@pytest.fixture(scope="module")
def histories(tmp_path_factory) -> dict[str, Path]:
    """A 1,500-account history with a Churned column, the same with shuffled labels, and a 200-row one."""
    folder = tmp_path_factory.mktemp("histories")
    export, _, churned = simulate(1500, seed=3)
    assert churned.sum() >= 150  # enough leavers for the 50 the trainer needs, and for the gate
    export["Churned"] = churned
    paths = {"history": folder / "history.csv", "noise": folder / "noise.csv", "small": folder / "small.csv"}
    export.to_csv(paths["history"], index=False)
    noise = export.assign(Churned=np.random.default_rng(7).permutation(churned))
    noise.to_csv(paths["noise"], index=False)
    export.head(200).to_csv(paths["small"], index=False)
    return paths


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _statuses(home: Path, tenant: str) -> dict[str, str]:
    return {e["version"]: e["status"] for e in LocalRegistry(home, tenant).versions()}


def test_train_gate_list_refuse_noise_and_activate_by_hand(home, histories, capsys):
    code, out, err = _run(capsys, "train", "--tenant", "acme", "--data", str(histories["history"]))
    assert code == 0, err
    assert "Reading history.csv" in err and "Training acme's model on 1,500 labelled customers" in err
    assert "trained on 1,500 customers" in out and "Active: acme's next upload is scored by it." in out
    assert "Region Code" in out and "left out Notes: free text" in out and "Gate: Promoted:" in out
    (first,) = _statuses(home, "acme")
    assert _statuses(home, "acme") == {first: "active"}
    assert LocalRegistry(home, "acme").active() == home / "models" / "acme" / first

    code, out, _ = _run(capsys, "models", "--tenant", "acme", "--json")
    listed = json.loads(out)
    assert code == 0 and [(e["tenant"], e["version"], e["status"]) for e in listed] == [
        ("acme", first, "active")
    ]
    assert listed[0]["roc_auc"] > 0.7

    # shuffled labels: nothing to learn, so the gate keeps it as a candidate and the active one stays
    code, out, err = _run(capsys, "train", "--tenant", "acme", "--data", str(histories["noise"]), "--json")
    assert code == 0, err
    assert err == ""  # --json: no progress lines
    noise = json.loads(out)
    assert noise["status"] == "candidate" and noise["gate"]["promoted"] is False
    assert noise["gate"]["verdict"].startswith("Not promoted") and first in noise["gate"]["incumbent_name"]
    assert "own:Notes" in noise["excluded"] and noise["trained_on"]["rows"] == 1500
    assert _statuses(home, "acme") == {first: "active", noise["version"]: "candidate"}

    code, out, _ = _run(capsys, "models", "activate", "acme", noise["version"])
    assert code == 0 and f"{noise['version']} is now active" in out
    assert _statuses(home, "acme") == {first: "retired", noise["version"]: "active"}

    code, out, _ = _run(capsys, "models")
    assert code == 0 and "retired" in out and noise["version"] in out


def test_the_same_model_again_keeps_its_status(home, histories, capsys, tmp_path):
    assert _run(capsys, "train", "--tenant", "acme", "--data", str(histories["history"]))[0] == 0
    (version,) = _statuses(home, "acme")
    code, out, err = _run(
        capsys,
        "train",
        "--tenant",
        "acme",
        "--data",
        str(histories["history"]),
        "--json",
        "--out",
        str(tmp_path / "again"),
    )
    again = json.loads(out)
    assert code == 0, err
    # the same history and seed give the same booster: registering it again must not demote the active one
    assert again["version"] == version and again["already_registered"] is True and again["status"] == "active"
    assert _statuses(home, "acme") == {version: "active"}
    assert {p.name for p in (tmp_path / "again").iterdir()} >= {"model.ubj", "card.json"}


def test_too_little_history_is_refused_with_how_much_more(home, histories, capsys):
    code, out, err = _run(capsys, "train", "--tenant", "acme", "--data", str(histories["small"]))
    assert code == 2 and out == ""
    assert "Only 200 labelled customers" in err and "needs at least 500" in err and "send about" in err
    assert "Traceback" not in err
    assert _statuses(home, "acme") == {}


def test_another_tenant_has_no_models_and_no_labelled_rows(home, capsys):
    code, out, _ = _run(capsys, "models", "--tenant", "beta", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, err = _run(capsys, "train", "--tenant", "beta")
    assert code == 2 and "retainwise outcomes FILE --tenant beta" in err and "--data" in err
    assert not (home / "models").exists()


def test_without_data_it_learns_from_the_kept_labelled_rows(home, histories, capsys, tmp_path):
    from retainwise.platform.labelled import LocalLabelled
    from retainwise.science.outcomes import labelled_from_snapshot
    from retainwise.science.pipeline import Pipeline

    Pipeline(
        histories["history"], tmp_path / "run", tenant="kept", run_id="run-1", explain_ahead=False
    ).run_all()
    made = labelled_from_snapshot(
        pd.read_parquet(tmp_path / "run" / "snapshot.parquet"),
        run_id="run-1",
        scored_at="2025-06-30T00:00:00+00:00",
    )
    LocalLabelled(home, "kept").save("run-1", *made)
    code, out, err = _run(capsys, "train", "--tenant", "kept", "--json")
    result = json.loads(out)
    assert code == 0, err
    assert result["trained_on"]["sources"] == ["run-1"] and result["trained_on"]["rows"] == 1500


@pytest.mark.parametrize("extra", [["--install"], ["--budget", "3"]])
def test_committed_model_options_are_refused_with_tenant(home, extra, capsys):
    code, _, err = _run(capsys, "train", "--tenant", "acme", *extra)
    assert code == 2 and "only for the committed model's training" in err


def test_train_without_tenant_is_still_the_committed_models_training(home, capsys):
    code, _, err = _run(capsys, "train")
    assert code == 2 and "--out DIR is required" in err


def test_models_activate_needs_a_known_version(home, capsys):
    code, _, err = _run(capsys, "models", "activate", "acme", "t-000000000000")
    assert code == 2 and "no model version" in err
    code, _, err = _run(capsys, "models", "activate", "acme")
    assert code == 2 and "retainwise models activate TENANT VERSION" in err


# -- issue 25: `tenant revoke-links|disable|enable` and `link --expires` ---------------------------------
@pytest.fixture
def links_home(home, monkeypatch):
    """A home with a link secret and one run of acme's in its run store (no bucket, no server needed)."""
    from retainwise.platform.runs import RunStore
    from retainwise.settings import Settings

    monkeypatch.setenv("RETAINWISE_SECRET", "cli-secret")
    monkeypatch.delenv("RETAINWISE_PREVIOUS_SECRETS", raising=False)
    store = RunStore.from_settings(Settings.from_env())
    run = store.create(tenant="acme", upload_key="uploads/acme/0123456789ab-march.csv")
    return {"home": home, "store": store, "run": run.id}


def _grant(url: str):
    from retainwise.platform.links import verify, verify_portal

    token = url.strip().split("token=")[1]
    return verify_portal("cli-secret", token) if "/portal?" in url else verify("cli-secret", token)


def _link(capsys, *argv: str) -> str:
    code, out, err = _run(capsys, "link", *argv)
    assert code == 0, err
    return out.strip()


def test_revoke_links_ends_the_tenants_links_and_no_one_elses(links_home, capsys):
    from retainwise.platform.links import check_access

    store = links_home["store"]
    acme_report, acme_portal = _link(capsys, links_home["run"]), _link(capsys, "--tenant", "acme")
    rival_portal = _link(capsys, "--tenant", "rival")
    code, out, err = _run(capsys, "tenant", "revoke-links", "acme")
    assert code == 0, err
    assert "every link issued to acme so far is refused" in out and "only those issued after" in out
    for url in (acme_report, acme_portal):
        with pytest.raises(LinkError) as info:
            check_access(store, _grant(url))
        assert info.value.code == "revoked"
    check_access(store, _grant(rival_portal))
    check_access(store, _grant(_link(capsys, "--tenant", "acme")))  # a new link works
    code, out, _ = _run(capsys, "tenant", "show", "acme", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["disabled"] is False and shown["links_valid_after"].endswith("Z")


def test_disable_refuses_every_link_and_issues_none_until_enable(links_home, capsys):
    from retainwise.platform.links import check_access

    store = links_home["store"]
    portal = _link(capsys, "--tenant", "acme")
    code, out, _ = _run(capsys, "tenant", "disable", "acme", "--json")
    assert code == 0 and json.loads(out) == {"tenant": "acme", "disabled": True, "links_valid_after": None}
    with pytest.raises(LinkError) as info:
        check_access(store, _grant(portal))
    assert info.value.code == "disabled"
    for argv in (["--tenant", "acme"], [links_home["run"]]):
        code, out, err = _run(capsys, "link", *argv)
        assert code == 2 and out == "" and "retainwise tenant enable acme" in err and "Traceback" not in err
    code, out, _ = _run(capsys, "tenant", "show", "acme")
    assert code == 0 and "DISABLED" in out
    code, out, _ = _run(capsys, "tenant", "enable", "acme")
    assert code == 0 and "acme is enabled" in out
    check_access(store, _grant(portal))  # not revoked: the old link works again
    check_access(store, _grant(_link(capsys, "--tenant", "acme")))


def test_access_commands_refuse_a_bad_tenant(links_home, capsys):
    code, _, err = _run(capsys, "tenant", "revoke-links", "Acme/..")
    assert code == 2 and "Traceback" not in err


def test_link_expires_is_capped_at_ninety_days(links_home, capsys):
    for argv in (["--tenant", "acme"], [links_home["run"]]):
        with pytest.raises(SystemExit) as exited:
            main(["link", *argv, "--expires", "3650d"])
        _, err = capsys.readouterr()
        assert exited.value.code == 2
        assert "Link lifetime 3650d is longer than the 90 days a link may live: give 90d or less" in err
    grant = _grant(_link(capsys, "--tenant", "acme", "--expires", "90d"))
    assert grant.expires - grant.issued_at == pytest.approx(90 * 86400, abs=1)
