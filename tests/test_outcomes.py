"""Outcomes joined to a run's snapshot; the tenant's labelled store; ``retainwise outcomes`` end to end."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retainwise.cli import main
from retainwise.errors import InputError
from retainwise.platform import labelled as store
from retainwise.science import outcomes

from .conftest import SAMPLE, TRAINING

SCORED_AT = "2024-12-03T10:00:00+00:00"


def _snapshot() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array(["A1", "A2", "A3", "A4"], dtype="str"),
            "tenure_months": [3.0, 40.0, 12.0, 1.0],
            "contract": pd.array(["monthly", "two_year", "annual", "monthly"], dtype="str"),
            "own:Plan name": pd.array(["Basic", "Pro", "Pro", "Basic"], dtype="str"),
        }
    )


def _text(**columns) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype="str") for k, v in columns.items()})


def test_outcomes_label_the_snapshot_rows_never_the_outcomes_values():
    # the outcomes file (like a later upload) says A1's tenure is now 15 and its plan changed: not learnt from
    sent = _text(
        **{
            "Customer ID": [" A1", "A2", "ZZ9", "A3"],
            "Status": ["churned", "stayed", "left", "Active"],
            "Tenure": ["15", "52", "1", "24"],
            "Plan name": ["Enterprise", "Pro", "Pro", "Pro"],
        }
    )
    labelled, report = outcomes.join_outcomes(_snapshot(), sent, run_id="r1", scored_at=SCORED_AT)
    assert labelled["customer_id"].tolist() == ["A1", "A2", "A3"]  # snapshot order
    assert labelled["tenure_months"].tolist() == [3.0, 40.0, 12.0]
    assert labelled["own:Plan name"].tolist() == ["Basic", "Pro", "Pro"]
    assert labelled["churned"].tolist() == [1.0, 0.0, 0.0]
    assert not {"Tenure", "Plan name", "Status"} & set(labelled.columns)
    assert set(labelled["_run_id"]) == {"r1"}
    assert labelled["_scored_at"].iloc[0] == pd.Timestamp(SCORED_AT)
    assert report["matched"] == 3 and report["leavers"] == 1 and report["stayers"] == 2
    assert report["not_in_run"] == {"count": 1, "examples": ["ZZ9"]}
    assert report["no_outcome"] == 1  # A4
    assert report["columns"]["customer_id"] == "Customer ID" and report["columns"]["churned"] == "Status"


@pytest.mark.parametrize(
    ("left", "stayed"),
    [("1", "0"), ("yes", "no"), ("TRUE", "false"), ("Churned", "Stayed"), ("left", "retained"), ("Y", "N")],
)
def test_churned_is_read_in_its_common_spellings(left, stayed):
    sent = _text(customer_id=["A1", "A2", "A3"], churned=[left, stayed, "maybe"])
    labelled, report = outcomes.join_outcomes(_snapshot(), sent)
    assert labelled["churned"].tolist() == [1.0, 0.0]
    assert report["churned_not_understood"] == {"count": 1, "examples": ["maybe"]}


def test_a_repeated_id_counts_once_the_latest_by_date():
    sent = _text(
        customer_id=["A1", "A1", "A2"],
        churned=["no", "yes", "no"],
        churn_date=["2025-02-01", "2025-01-01", "2025-01-15"],
    )
    labelled, report = outcomes.join_outcomes(_snapshot(), sent)
    assert labelled.set_index("customer_id")["churned"].to_dict() == {"A1": 0.0, "A2": 0.0}
    assert report["duplicate_ids"]["count"] == 1
    assert "_outcome_date" in labelled.columns


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_text(name=["x"], churned=["1"]), "no_customer_id"),
        (_text(customer_id=["A1"], comment=["called twice"]), "no_churned"),
    ],
)
def test_an_outcomes_file_without_an_id_or_churned_column_is_refused(frame, code):
    with pytest.raises(InputError) as caught:
        outcomes.join_outcomes(_snapshot(), frame)
    assert caught.value.code == code


def test_labelled_store_replaces_a_runs_file_and_keeps_each_customers_latest_row(tmp_path):
    where = store.LocalLabelled(tmp_path, "acme")
    early, _ = outcomes.join_outcomes(
        _snapshot(),
        _text(customer_id=["A1", "A2"], churned=["0", "0"]),
        run_id="r1",
        scored_at="2024-11-01T00:00:00+00:00",
    )
    where.save("r1", early, {})
    again, _ = outcomes.join_outcomes(
        _snapshot(),
        _text(customer_id=["A1", "A2"], churned=["1", "0"]),
        run_id="r1",
        scored_at="2024-11-01T00:00:00+00:00",
    )
    where.save("r1", again, {})  # outcomes re-sent for the same run: replaced, never doubled
    later = _snapshot().assign(tenure_months=[4.0, 41.0, 13.0, 2.0])
    newer, _ = outcomes.join_outcomes(
        later, _text(customer_id=["A2", "A3"], churned=["1", "0"]), run_id="r2", scored_at=SCORED_AT
    )
    where.save("r2", newer, {})
    assert where.run_ids() == ["r1", "r2"]
    both = store.load_labelled("acme", where).set_index("customer_id")
    assert len(both) == 3
    assert both.loc["A1", "churned"] == 1.0 and both.loc["A1", "_run_id"] == "r1"
    assert both.loc["A2", "_run_id"] == "r2" and both.loc["A2", "tenure_months"] == 41.0


def test_realised_accuracy_is_the_runs_roc_auc_on_the_outcomes():
    labelled = pd.DataFrame({"customer_id": ["A1", "A2", "A3", "A4"], "churned": [1.0, 0.0, 1.0, 0.0]})
    results = pd.DataFrame(
        {"customer_id": ["A1", "A2", "A3", "A4"], "churn_probability": [0.9, 0.2, 0.3, 0.4]}
    )
    assert outcomes.realised_accuracy(results, labelled)["roc_auc"] == 0.75


# -- the command line, on one machine --------------------------------------------------------
_PLATFORM = ("RETAINWISE_BUCKET", "AWS_ENDPOINT_URL", "RETAINWISE_QUEUE_URL", "RETAINWISE_DATABASE_URL")


def _local_only(mp, home) -> None:
    mp.setenv("RETAINWISE_HOME", str(home))
    for var in _PLATFORM:
        mp.delenv(var, raising=False)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """`retainwise score --tenant acme` of the sample with an own column, in its own RETAINWISE_HOME."""
    tmp = tmp_path_factory.mktemp("outcomes-cli")
    data = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    data["Region code"] = [f"R{i % 3}" for i in range(len(data))]
    upload = tmp / "customers.csv"
    data.to_csv(upload, index=False)
    home = tmp / "home"
    with pytest.MonkeyPatch.context() as mp:
        _local_only(mp, home)
        assert main(["score", str(upload), "--out", str(tmp / "out"), "--tenant", "acme", "--quiet"]) == 0
    return tmp, home, data


@pytest.mark.notebook
def test_outcomes_command_end_to_end_and_resending_replaces(scored, monkeypatch, capsys):
    tmp, home, data = scored
    _local_only(monkeypatch, home)
    summary = json.loads((tmp / "out" / "summary.json").read_text())
    runs = json.loads((home / "tenants" / "acme" / "runs.json").read_text())
    assert [r["run_id"] for r in runs] == [summary["run_id"]] and runs[0]["snapshot"]
    ids = data["customerID"].tolist()
    sent = pd.DataFrame(
        {
            "Customer ID": ids[:300] + ["NOPE-1", "NOPE-2"],
            "Churned?": ["yes" if i % 4 == 0 else "no" for i in range(300)] + ["yes", "no"],
            "tenure": ["999"] * 302,
        }
    )  # a later tenure: never reaches the labelled data
    path = tmp / "outcomes.csv"
    sent.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["outcomes", str(path), "--tenant", "acme"]) == 0
    text = capsys.readouterr().out
    assert "300 customers matched, 75 leavers" in text
    assert "Unmatched ids: 2" in text and "NOPE-1" in text
    assert "ranked a leaver above a stayer" in text
    assert main(["outcomes", str(path), "--tenant", "acme", "--run", summary["run_id"], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replaced"] and out["report"]["matched"] == 300 and out["report"]["realised"]["n"] == 300
    folder = home / "tenants" / "acme" / "labelled"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{summary['run_id']}.json",
        f"{summary['run_id']}.parquet",
    ]
    kept = store.load_labelled("acme")
    assert len(kept) == 300 and (kept["tenure_months"] < 999).all()
    assert set(kept["own:Region code"]) == {"R0", "R1", "R2"}
    assert json.loads((folder / f"{summary['run_id']}.json").read_text())["realised"]["roc_auc"] is not None


@pytest.mark.notebook
def test_outcomes_command_refuses_unusable_input_with_exit_code_2(scored, monkeypatch, capsys):
    tmp, home, _ = scored
    _local_only(monkeypatch, home)
    no_churned = tmp / "no_churned.csv"
    no_churned.write_text("customer_id,comment\n6828-HMKWP,nice\n")
    strangers = tmp / "strangers.csv"
    strangers.write_text("customer_id,churned\nX-1,1\nX-2,0\n")
    for argv in (
        ["outcomes", str(no_churned), "--tenant", "acme"],
        ["outcomes", str(strangers), "--tenant", "acme"],
        ["outcomes", str(strangers), "--tenant", "acme", "--run", "nosuchrun"],
        ["outcomes", str(strangers), "--tenant", "nobody"],
    ):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("retainwise: error: ") and "\n" not in err


@pytest.mark.notebook
def test_a_history_upload_becomes_the_runs_labelled_data(tmp_path, home):
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).head(300)
    upload = tmp_path / "history.csv"
    data.to_csv(upload, index=False)
    assert main(["score", str(upload), "--out", str(tmp_path / "out"), "--tenant", "acme", "--quiet"]) == 0
    run_id = json.loads((tmp_path / "out" / "summary.json").read_text())["run_id"]
    kept = store.load_labelled("acme")
    assert len(kept) == 300 and set(kept["_run_id"]) == {run_id}
    assert kept["churned"].tolist() == (data["Churn"] == "Yes").astype(float).tolist()
    assert (home / "tenants" / "acme" / "labelled" / f"{run_id}.parquet").is_file()


# -- on the platform: the run store and the bucket ---------------------------------------------
@pytest.mark.aws
def test_outcomes_of_a_platform_run_join_its_snapshot_from_the_bucket(stack, tmp_path, capsys):
    from retainwise.platform.runs import COMPLETED
    from retainwise.platform.tenants import results_prefix, upload_key
    from retainwise.science.pipeline import Pipeline

    run = stack.store.create(tenant="acme", upload_key=upload_key("acme", "customers.csv"))
    out = tmp_path / "out"
    Pipeline(SAMPLE, out, tenant="acme", run_id=run.id, explain_ahead=False).run_all()
    keys = stack.storage.put_outputs(out, results_prefix("acme", run.id))  # what the runner puts: every file
    assert "snapshot.parquet" in keys
    stack.store.claim(run.id, lease_s=30)
    summary = json.loads((out / "summary.json").read_text())
    assert stack.store.complete(run.id, summary=summary, output_keys=keys).status == COMPLETED
    ids = pd.read_csv(SAMPLE, dtype=str)["customerID"].tolist()
    sent = tmp_path / "outcomes.csv"
    pd.DataFrame({"customer_id": ids[:200], "churned": [i % 3 == 0 for i in range(200)]}).to_csv(
        sent, index=False
    )
    for _ in range(2):  # sent twice: one labelled file
        assert main(["outcomes", str(sent), "--tenant", "acme", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["run_id"] == run.id and report["report"]["matched"] == 200
    prefix = "tenants/acme/labelled/"
    assert sorted(stack.storage.list(prefix)) == [f"{prefix}{run.id}.json", f"{prefix}{run.id}.parquet"]
    kept = store.load_labelled("acme", store.BucketLabelled(stack.storage, "acme"))
    assert len(kept) == 200 and kept["churned"].sum() == 67
