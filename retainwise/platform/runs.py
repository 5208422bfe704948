"""The run store: one row per upload run, SQLAlchemy 2 with Alembic migrations.

SQLite under ``RETAINWISE_HOME`` by default, PostgreSQL in production
(``RETAINWISE_DATABASE_URL``). Status flows ``QUEUED`` -> ``PROCESSING`` ->
``COMPLETED`` | ``FAILED``.

Exactly-once in effect: a run is *claimed* by one atomic UPDATE that only
succeeds when the run is QUEUED, or PROCESSING with an expired lease (its
worker died). The lease is the in-progress marker; it expires with the SQS
visibility timeout and is extended by the worker's heartbeat, so a crashed run
is retried, never stuck, and a live one is never run twice. Uploads are
identified by (tenant, key, ETag): the same upload reaching us twice (a job
message and its S3 event) is one run.

SQLAlchemy errors are translated into :class:`StorageError` here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from retainwise.errors import StorageError
from retainwise.platform.run_record import Run

QUEUED, PROCESSING, COMPLETED, FAILED = "QUEUED", "PROCESSING", "COMPLETED", "FAILED"
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED)
#: Attempts a run gets before a transient fault (or a runner that keeps dying on it) fails it
#: (the queue's maxReceiveCount is the same number).
MAX_ATTEMPTS = 3
#: Error codes of runs FAILED for a fault that may pass: a redriven message runs them again.
GAVE_UP, ABANDONED = "gave_up", "abandoned"
RETRYABLE_FAILURES = (GAVE_UP, ABANDONED)


def now() -> datetime:
    # naive UTC: SQLite keeps no zone, and comparisons must agree across both databases
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64), index=True)
    upload_key: Mapped[str] = mapped_column(sa.String(1024))
    upload_etag: Mapped[str | None] = mapped_column(sa.String(128))
    upload_id: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(1300), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    rows_in: Mapped[int | None] = mapped_column(sa.Integer)
    rows_scored: Mapped[int | None] = mapped_column(sa.Integer)
    quality_score: Mapped[float | None] = mapped_column(sa.Float)
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    output_keys: Mapped[str | None] = mapped_column(sa.Text)  # JSON object name -> key
    error: Mapped[str | None] = mapped_column(sa.Text)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    message_id: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


def idempotency_key(tenant: str, key: str, etag: str | None) -> str | None:
    return f"{tenant}|{key}|{etag.strip(chr(34))}" if etag else None


class RunStore:
    """Runs in a SQL database. Create with :meth:`open` (migrates to the latest schema)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> RunStore:
        """Connect to ``url`` (SQLite or PostgreSQL) and bring its schema up to date."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    @classmethod
    def from_settings(cls, settings) -> RunStore:
        return cls.open(settings.effective_database_url)

    def migrate(self) -> None:
        """Run Alembic migrations to head."""
        from alembic import command
        from alembic.config import Config

        from retainwise.resources import MIGRATIONS_DIR

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        for attempt in range(3):
            try:
                with self._errors("migrating the run store"), self.engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                return
            except StorageError:  # several processes starting at once race to create the tables
                if attempt == 2:
                    raise
                time.sleep(0.5 + attempt)

    @contextmanager
    def _errors(self, doing: str):
        try:
            yield
        except sa_exc.SQLAlchemyError as exc:
            raise StorageError(
                f"The run store failed while {doing}: {type(exc).__name__}.", code="database"
            ) from exc

    @contextmanager
    def _session(self, doing: str):
        with self._errors(doing), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # -- writes -----------------------------------------------------------
    def create(
        self,
        *,
        tenant: str,
        upload_key: str,
        upload_etag: str | None = None,
        run_id: str | None = None,
        upload_id: str | None = None,
        message_id: str | None = None,
    ) -> Run:
        """Record a new QUEUED run, or return the existing run for the same upload (tenant, key, ETag)."""
        key = idempotency_key(tenant, upload_key, upload_etag)
        if key:
            existing = self.find_upload(tenant, upload_key, upload_etag)
            if existing:
                return existing
        t = now()
        row = RunRow(
            id=run_id or uuid.uuid4().hex[:12],
            tenant=tenant,
            upload_key=upload_key,
            upload_etag=upload_etag,
            upload_id=upload_id,
            idempotency_key=key,
            status=QUEUED,
            attempts=0,
            message_id=message_id,
            created_at=t,
            updated_at=t,
        )
        try:
            with self._session("recording a run") as s:
                s.add(row)
        except StorageError as err:
            if isinstance(err.__cause__, sa_exc.IntegrityError):  # raced with another worker: same upload
                found = self.find_upload(tenant, upload_key, upload_etag) or self.get(row.id)
                if found:
                    return found
            raise
        return Run.of(row)

    def claim(
        self, run_id: str, *, lease_s: float, message_id: str | None = None, max_attempts: int = MAX_ATTEMPTS
    ) -> Run | None:
        """Atomically take a run for processing. None when it is finished, another live worker holds it,
        or its runner died on it ``max_attempts`` times (see :meth:`fail_abandoned`).

        A run that FAILED because it gave up on a transient fault can be claimed again (a redriven
        message), with a fresh count of attempts.
        """
        t = now()
        given_up = sa.and_(RunRow.status == FAILED, RunRow.error_code.in_(RETRYABLE_FAILURES))
        stmt = (
            sa.update(RunRow)
            .where(RunRow.id == run_id)
            .where(
                sa.or_(
                    RunRow.status == QUEUED,
                    given_up,
                    sa.and_(
                        RunRow.status == PROCESSING, RunRow.lease_until < t, RunRow.attempts < max_attempts
                    ),
                )
            )
            .values(
                status=PROCESSING,
                attempts=sa.case((given_up, 1), else_=RunRow.attempts + 1),
                lease_until=t + timedelta(seconds=lease_s),
                started_at=t,
                updated_at=t,
                message_id=message_id,
                error=None,
                error_code=None,
                finished_at=None,
            )
        )
        with self._session("claiming a run") as s:
            if s.execute(stmt).rowcount != 1:
                return None
        return self.get(run_id)

    def extend_lease(self, run_id: str, lease_s: float) -> None:
        """The heartbeat: keep the in-progress marker alive while the notebooks run."""
        t = now()
        with self._session("extending a lease") as s:
            s.execute(
                sa.update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == PROCESSING)
                .values(lease_until=t + timedelta(seconds=lease_s), updated_at=t)
            )

    def set_etag(self, run_id: str, etag: str) -> None:
        """Record the upload's ETag once it is known (after the upload), making the run findable by it."""
        with self._session("recording an upload's ETag") as s:
            row = s.get(RunRow, run_id)
            if row is not None and row.upload_etag is None:
                row.upload_etag = etag
                row.idempotency_key = idempotency_key(row.tenant, row.upload_key, etag)
                row.updated_at = now()

    def complete(self, run_id: str, *, summary: dict, output_keys: dict) -> Run:
        t = now()
        with self._session("completing a run") as s:
            s.execute(
                sa.update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    status=COMPLETED,
                    rows_in=summary.get("rows_in"),
                    rows_scored=summary.get("rows_scored"),
                    quality_score=(summary.get("quality") or {}).get("score"),
                    model_version=(summary.get("model") or {}).get("version"),
                    output_keys=json.dumps(output_keys),
                    lease_until=None,
                    finished_at=t,
                    updated_at=t,
                    error=None,
                    error_code=None,
                )
            )
        return self.get(run_id)

    def fail(
        self, run_id: str, *, error: str, code: str | None = None, output_keys: dict | None = None
    ) -> Run:
        t = now()
        values = dict(
            status=FAILED, error=error, error_code=code, lease_until=None, finished_at=t, updated_at=t
        )
        if output_keys is not None:
            values["output_keys"] = json.dumps(output_keys)
        with self._session("failing a run") as s:
            s.execute(sa.update(RunRow).where(RunRow.id == run_id).values(**values))
        return self.get(run_id)

    def fail_abandoned(self, *, max_attempts: int = MAX_ATTEMPTS) -> list[str]:
        """FAIL every run whose runner stopped (lease expired) on its last attempt; returns their ids.

        Nothing else would: the run's message has used its receives and sits in the dead-letter queue.
        """
        t = now()
        where = (RunRow.status == PROCESSING, RunRow.lease_until < t, RunRow.attempts >= max_attempts)
        with self._session("failing abandoned runs") as s:
            ids = list(s.scalars(sa.select(RunRow.id).where(*where)).all())
            if ids:
                s.execute(
                    sa.update(RunRow)
                    .where(RunRow.id.in_(ids), *where)
                    .values(
                        status=FAILED,
                        error_code=ABANDONED,
                        lease_until=None,
                        finished_at=t,
                        updated_at=t,
                        error=f"The runner stopped while processing this file {max_attempts} times "
                        "(it may need more memory than a runner has).",
                    )
                )
        return ids

    def release(self, run_id: str, *, error: str, code: str | None = None, rest_s: float = 0) -> None:
        """A transient failure: the lease ends after ``rest_s`` (the retry's backoff), when the run's message
        comes back to claim it again. Until then a copy of the message finds the run held and is dropped,
        so copies cannot spend the run's attempts faster than its backoff."""
        t = now()
        with self._session("releasing a run") as s:
            s.execute(
                sa.update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == PROCESSING)
                .values(lease_until=t + timedelta(seconds=rest_s), error=error, error_code=code, updated_at=t)
            )

    # -- reads ------------------------------------------------------------
    def get(self, run_id: str) -> Run | None:
        with self._session("reading a run") as s:
            row = s.get(RunRow, run_id)
            return Run.of(row) if row else None

    def find_upload(self, tenant: str, upload_key: str, upload_etag: str | None) -> Run | None:
        key = idempotency_key(tenant, upload_key, upload_etag)
        with self._session("finding an upload") as s:
            row = None
            if key:
                row = s.scalars(sa.select(RunRow).where(RunRow.idempotency_key == key)).first()
            if (
                row is None
            ):  # a submitted run whose ETag was not known yet (a new version of the key is a new run)
                query = sa.select(RunRow).where(RunRow.tenant == tenant, RunRow.upload_key == upload_key)
                if key:
                    query = query.where(RunRow.upload_etag.is_(None))
                row = s.scalars(query.order_by(RunRow.created_at.desc())).first()
            return Run.of(row) if row else None

    def list_tenant(self, tenant: str, limit: int = 50) -> list[Run]:
        """The tenant's runs, newest first."""
        with self._session("listing runs") as s:
            rows = s.scalars(
                sa.select(RunRow)
                .where(RunRow.tenant == tenant)
                .order_by(RunRow.created_at.desc())
                .limit(limit)
            ).all()
            return [Run.of(r) for r in rows]

    def with_status(self, status: str, limit: int = 1000) -> list[Run]:
        """Runs in ``status``, oldest first."""
        with self._session("listing runs") as s:
            rows = s.scalars(
                sa.select(RunRow).where(RunRow.status == status).order_by(RunRow.created_at).limit(limit)
            ).all()
            return [Run.of(r) for r in rows]

    def recent(self, limit: int = 50) -> list[Run]:
        """The most recently updated runs of every tenant (``retainwise up`` announces finished ones)."""
        with self._session("listing runs") as s:
            rows = s.scalars(sa.select(RunRow).order_by(RunRow.updated_at.desc()).limit(limit)).all()
            return [Run.of(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._session("counting runs") as s:
            result = s.execute(sa.select(RunRow.status, sa.func.count()).group_by(RunRow.status)).all()
        return {status: int(n) for status, n in result}


_SHARED: dict[str, RunStore] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(database_url: str, *, migrate: bool = False) -> RunStore:
    """The run store at ``database_url``, opened once per process and shared by every caller in it.

    One engine and connection pool per process, not per page or per run: the report server's gate, a
    report kernel, the portal and the runner's notifier each ask for the store many times. ``migrate``
    only for a process that may be the first to open a fresh database (a kernel of ``retainwise up``);
    services that start after the stack migrated pass ``migrate=False``.
    """
    with _SHARED_LOCK:  # requests arriving together on a fresh server must still share one engine
        if database_url not in _SHARED:
            _SHARED[database_url] = RunStore.open(database_url, migrate=migrate)
        return _SHARED[database_url]
