"""S3: uploads in, run outputs out.

Layout: ``uploads/<tenant>/<uuid>-<safe name>`` for uploads (kept forever by
us; lifecycle rules in infra/ expire them), ``results/<tenant>/<run_id>/...``
for each run's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

from retainwise.errors import StorageError, StorageRefusedError
from retainwise.platform.aws import client, translate

__all__ = ["Storage"]

_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".ipynb": "application/x-ipynb+json",
    ".png": "image/png",
}


class Storage:
    """The bucket, through one boto3 client."""

    def __init__(self, settings, bucket: str | None = None) -> None:
        self.bucket = bucket or settings.bucket
        if not self.bucket:
            from retainwise.errors import ConfigError

            raise ConfigError("No bucket configured: set RETAINWISE_BUCKET or start `retainwise up`.")
        self.s3 = client("s3", settings)

    def put_file(self, path: Path, key: str, *, create_only: bool = False) -> str | None:
        """Upload ``path`` to ``key``; returns the ETag.

        With ``create_only`` an existing object is never replaced (a conditional write,
        ``If-None-Match: *``): None is returned when ``key`` was already written.
        """
        from botocore.exceptions import ClientError

        extra = {"IfNoneMatch": "*"} if create_only else {}
        try:
            with translate(f"uploading {key}"), open(path, "rb") as fh:
                resp = self.s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=fh,
                    **extra,
                    ContentType=_CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream"),
                )
        except StorageError as exc:
            cause = exc.__cause__
            if (
                create_only
                and isinstance(cause, ClientError)
                and cause.response["Error"]["Code"]
                in ("PreconditionFailed", "412", "ConditionalRequestConflict")
            ):
                return None  # written by an earlier attempt of the same run: never a second version
            raise
        return resp["ETag"]

    def download(self, key: str, path: Path) -> str:
        """Download ``key`` to ``path``; returns the ETag. A missing upload is an InputError."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with translate(f"downloading {key}", missing_is_input=True):
            resp = self.s3.get_object(Bucket=self.bucket, Key=key)
            with open(path, "wb") as fh:
                for chunk in resp["Body"].iter_chunks(1 << 20):
                    fh.write(chunk)
        return resp["ETag"]

    def head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            with translate(f"checking {key}"):
                return self.s3.head_object(Bucket=self.bucket, Key=key)
        except (StorageError, StorageRefusedError) as exc:  # a 404 here means "not there", not a failure
            if isinstance(exc.__cause__, ClientError) and exc.__cause__.response["Error"]["Code"] in (
                "404",
                "NoSuchKey",
            ):
                return None
            raise

    def put_outputs(self, directory: Path, prefix: str, *, create_only: bool = False) -> dict[str, str]:
        """Upload every file under ``directory`` below ``prefix``; returns name -> key.

        ``create_only``: keys an earlier attempt already wrote are left as they are (see :meth:`put_file`).
        """
        from concurrent.futures import ThreadPoolExecutor

        names = {p: p.relative_to(directory).as_posix() for p in sorted(directory.rglob("*")) if p.is_file()}
        keys = {name: prefix + name for name in names.values()}
        # boto3 clients are thread-safe; a run's handful of outputs go up in parallel (latency, not bandwidth)
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(names)))) as pool:
            list(
                pool.map(
                    lambda item: self.put_file(item[0], keys[item[1]], create_only=create_only), names.items()
                )
            )
        return keys

    def put_json(self, key: str, data: dict) -> str:
        """Write ``data`` as JSON to ``key``; returns the ETag."""
        body = json.dumps(data, default=str).encode("utf-8")
        with translate(f"writing {key}"):
            return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")[
                "ETag"
            ]

    def get_json(self, key: str) -> dict | None:
        """The JSON object at ``key``, or None when there is none. StorageError when storage fails."""
        if self.head(key) is None:
            return None
        data = json.loads(self.get_text(key))
        return data if isinstance(data, dict) else None

    def get_bytes(self, key: str) -> bytes:
        """The object at ``key``. StorageError when storage fails."""
        with translate(f"reading {key}"):
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8")

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        with translate(f"listing {prefix}"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    # -- what the pages need: copies, removals, short-lived links, ranges, multipart writes --------------
    def copy(self, source_key: str, key: str) -> str:
        """Copy ``source_key`` to ``key`` (metadata kept); returns the new object's ETag."""
        with translate(f"copying {source_key}"):
            copied = self.s3.copy_object(
                Bucket=self.bucket,
                Key=key,
                MetadataDirective="COPY",
                CopySource={"Bucket": self.bucket, "Key": source_key},
            )
        return copied["CopyObjectResult"]["ETag"]

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone). StorageError when storage fails."""
        with translate(f"removing {key}"):
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    def presign(self, key: str, expires_s: int, *, filename: str | None = None) -> str:
        """A GET URL for ``key`` valid ``expires_s`` seconds; ``filename``: download it under that name.

        Presigning signs locally (no request): the URL is only as safe as its lifetime, so callers pass
        the smallest lifetime that serves the page.
        """
        params = {"Bucket": self.bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.s3.generate_presigned_url("get_object", ExpiresIn=int(expires_s), Params=params)

    def get_head_bytes(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of ``key`` (fewer when it is shorter)."""
        with translate(f"reading {key}"):
            return self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"].read()

    def put_bytes(self, key: str, body: bytes, *, metadata: dict[str, str] | None = None) -> str:
        """Write ``body`` to ``key`` with user ``metadata``; returns the ETag."""
        with translate(f"storing {key}"):
            return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=metadata or {})["ETag"]

    def start_multipart(self, key: str, *, metadata: dict[str, str] | None = None) -> str:
        """Begin a multipart write of ``key``; returns its upload id."""
        with translate(f"storing {key}"):
            return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, Metadata=metadata or {})[
                "UploadId"
            ]

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        """Write part ``number`` of a multipart write; returns the part's entry for :meth:`finish_multipart`."""
        with translate(f"storing {key}"):
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
        return {"PartNumber": number, "ETag": resp["ETag"]}

    def finish_multipart(self, key: str, upload_id: str, parts: list[dict]) -> None:
        with translate(f"storing {key}"):
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with translate(f"storing {key}"):
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
