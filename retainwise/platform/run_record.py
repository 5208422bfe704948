"""A run as callers see it: a plain, frozen snapshot of one row of the run store, detached from the database.

The runner, the CLI and the portal read runs through :class:`Run`; only the run store
(:mod:`retainwise.platform.runs`) touches the table rows it is made from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Run:
    """A run as callers see it (a plain snapshot, detached from the database)."""

    id: str
    tenant: str
    upload_key: str
    upload_etag: str | None
    status: str
    attempts: int
    rows_in: int | None
    rows_scored: int | None
    quality_score: float | None
    model_version: str | None
    output_keys: dict
    error: str | None
    error_code: str | None
    message_id: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row) -> Run:
        """The snapshot of ``row``, a ``runs.RunRow`` (not imported: the store imports this module)."""
        return cls(
            id=row.id,
            tenant=row.tenant,
            upload_key=row.upload_key,
            upload_etag=row.upload_etag,
            status=row.status,
            attempts=row.attempts,
            rows_in=row.rows_in,
            rows_scored=row.rows_scored,
            quality_score=row.quality_score,
            model_version=row.model_version,
            output_keys=json.loads(row.output_keys) if row.output_keys else {},
            error=row.error,
            error_code=row.error_code,
            message_id=row.message_id,
            lease_until=row.lease_until,
            created_at=row.created_at,
            updated_at=row.updated_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat(timespec="seconds") + "Z"
        return out
