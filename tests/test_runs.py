"""The run store, on SQLite and on a real PostgreSQL server (started by .ci/postgres.sh)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from retainwise.errors import StorageError
from retainwise.platform.runs import COMPLETED, FAILED, PROCESSING, QUEUED, RunStore

from .conftest import ROOT


def _postgres_url() -> str:
    url = os.environ.get("RETAINWISE_TEST_POSTGRES_URL")
    if not url:  # start the same throwaway server CI starts, rather than skip: these tests must run
        url = subprocess.run(
            ["bash", str(ROOT / ".ci" / "postgres.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield RunStore.open(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
        return
    base = _postgres_url()
    schema_db = f"rw_{uuid.uuid4().hex[:10]}"  # a fresh database per test: migrations run from empty
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{schema_db}"'))
    url = base.rsplit("/", 1)[0] + "/" + schema_db
    s = RunStore.open(url)
    yield s
    s.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{schema_db}"'))
    admin.dispose()


def test_migrations_create_the_runs_table(store):
    tables = sa.inspect(store.engine).get_table_names()
    assert {"runs", "mappings", "alembic_version"} <= set(tables)
    store.migrate()  # a second migration is a no-op


def test_create_is_idempotent_per_upload(store):
    a = store.create(tenant="acme", upload_key="uploads/acme/a.csv", upload_etag='"e1"')
    b = store.create(
        tenant="acme", upload_key="uploads/acme/a.csv", upload_etag="e1"
    )  # S3 events drop quotes
    c = store.create(tenant="acme", upload_key="uploads/acme/a.csv", upload_etag='"e2"')  # a new version
    assert a.id == b.id != c.id
    assert a.status == QUEUED and a.attempts == 0


def test_submitted_run_is_found_by_its_s3_event(store):
    run = store.create(tenant="acme", upload_key="uploads/acme/b.csv", run_id="r1")
    store.set_etag("r1", '"abc"')
    again = store.create(tenant="acme", upload_key="uploads/acme/b.csv", upload_etag="abc")
    assert again.id == run.id == "r1"
    assert store.get("r1").upload_etag == '"abc"'


def test_claim_is_exclusive_until_the_lease_expires(store):
    run = store.create(tenant="acme", upload_key="uploads/acme/c.csv")
    first = store.claim(run.id, lease_s=60, message_id="m1")
    assert first.status == PROCESSING and first.attempts == 1 and first.message_id == "m1"
    assert store.claim(run.id, lease_s=60) is None  # a live worker holds it
    store.release(run.id, error="storage hiccup", code="aws_unreachable")  # transient: lease ends now
    second = store.claim(run.id, lease_s=1, message_id="m2")
    assert second.attempts == 2 and second.error is None
    time.sleep(1.2)  # the worker "died": its lease expires with the message's visibility
    third = store.claim(run.id, lease_s=60)
    assert third.attempts == 3


def test_heartbeat_extends_the_lease(store):
    run = store.create(tenant="acme", upload_key="uploads/acme/d.csv")
    store.claim(run.id, lease_s=1)
    store.extend_lease(run.id, 60)
    time.sleep(1.2)
    assert store.claim(run.id, lease_s=60) is None


def test_only_one_of_many_concurrent_claims_wins(store):
    run = store.create(tenant="acme", upload_key="uploads/acme/e.csv")
    results, barrier = [], threading.Barrier(6)

    def claim():
        barrier.wait()
        results.append(store.claim(run.id, lease_s=60))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert store.get(run.id).attempts == 1


def test_finished_runs_cannot_be_claimed_and_keep_their_outputs(store):
    ok = store.create(tenant="acme", upload_key="uploads/acme/f.csv")
    store.claim(ok.id, lease_s=60)
    done = store.complete(
        ok.id,
        summary={"rows_in": 10, "rows_scored": 9, "quality": {"score": 87.5}, "model": {"version": "xgb-1"}},
        output_keys={"results.csv": "results/acme/x/results.csv"},
    )
    assert (done.status, done.rows_in, done.rows_scored, done.quality_score, done.model_version) == (
        COMPLETED,
        10,
        9,
        87.5,
        "xgb-1",
    )
    assert done.output_keys == {"results.csv": "results/acme/x/results.csv"}
    assert done.finished_at is not None and done.lease_until is None
    assert store.claim(ok.id, lease_s=60) is None

    bad = store.create(tenant="acme", upload_key="uploads/acme/g.csv")
    store.claim(bad.id, lease_s=60)
    failed = store.fail(bad.id, error="The file is empty.", code="empty")
    assert failed.status == FAILED and failed.error == "The file is empty." and failed.error_code == "empty"
    assert store.claim(bad.id, lease_s=60) is None
    assert store.counts() == {COMPLETED: 1, FAILED: 1}


def test_tenant_listing_is_newest_first_and_tenant_scoped(store):
    ids = [store.create(tenant="acme", upload_key=f"uploads/acme/{i}.csv").id for i in range(3)]
    store.create(tenant="other", upload_key="uploads/other/x.csv")
    time.sleep(0.01)
    listed = [r.id for r in store.list_tenant("acme")]
    assert listed == ids[::-1]
    assert all(r.tenant == "acme" for r in store.list_tenant("acme"))


def test_status_dict_is_json_ready(store):
    import json

    run = store.create(tenant="acme", upload_key="uploads/acme/h.csv")
    data = run.to_dict()
    json.dumps(data)
    assert data["status"] == QUEUED and data["created_at"].endswith("Z")


def test_unreachable_database_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match="run store"):
        RunStore.open("postgresql+psycopg://nobody:x@127.0.0.1:1/none")


def test_recent_runs_are_newest_updated_first_across_tenants(store):
    a = store.create(tenant="acme", upload_key="uploads/acme/r1.csv")
    b = store.create(tenant="other", upload_key="uploads/other/r2.csv")
    time.sleep(0.01)
    store.claim(a.id, lease_s=60)  # touches a: now the most recently updated
    assert [r.id for r in store.recent()][:2] == [a.id, b.id]


def test_saved_mappings_are_shared_through_the_store(store):
    from retainwise.platform import mapping_store

    assert mapping_store.load(store, "acme") is None
    record = {
        "columns": ["Ref", "MRR"],
        "mapping": {"Ref": "customer_id", "MRR": "monthly_charges"},
        "confidence": {},
        "units": {},
        "confirmed": {"Ref": "customer_id"},
    }
    mapping_store.save(store, "acme", record)
    other_runner = RunStore(store.engine)  # another process reading the same database
    assert mapping_store.load(other_runner, "acme") == record
    mapping_store.save(store, "acme", {**record, "columns": ["Ref"]})
    assert mapping_store.load(other_runner, "acme")["columns"] == ["Ref"]
    assert mapping_store.load(other_runner, "other") is None


def test_runs_are_listed_by_status(store):
    a = store.create(tenant="acme", upload_key="uploads/acme/s1.csv")
    b = store.create(tenant="acme", upload_key="uploads/acme/s2.csv")
    store.claim(b.id, lease_s=60)
    assert [r.id for r in store.with_status(QUEUED)] == [a.id]
    assert [r.id for r in store.with_status(PROCESSING)] == [b.id]


def test_a_run_given_up_on_can_be_claimed_again_with_fresh_attempts(store):
    from retainwise.platform.runs import GAVE_UP

    run = store.create(tenant="acme", upload_key="uploads/acme/gu.csv")
    for _ in range(3):
        store.claim(run.id, lease_s=0)
    assert store.claim(run.id, lease_s=60) is None  # attempts spent
    store.fail(run.id, error="Gave up after 3 attempts: storage", code=GAVE_UP)
    again = store.claim(run.id, lease_s=60)  # a redriven message
    assert again.status == PROCESSING and again.attempts == 1 and again.finished_at is None
    store.fail(run.id, error="The file is empty.", code="empty_file")
    assert store.claim(run.id, lease_s=60) is None  # a permanent failure stays failed
