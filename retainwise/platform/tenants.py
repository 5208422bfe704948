"""The tenant and key rules: which tenant names and S3 keys RetainWise accepts.

One place, used by ``submit``, the runner's message parser, storage and every command that takes a
tenant. Every check is a full match (``re.fullmatch``): ``$`` would also accept a trailing newline,
and ``"acme\\n"`` must never become a tenant or a key (``uploads/acme\\n/x.csv``).

Layout: uploads live at ``uploads/<tenant>/<uuid>-<safe name>``, training uploads (a history to train
the tenant's own model from) at ``uploads/<tenant>/train/<uuid>-<safe name>``, a run's outputs under
``results/<tenant>/<run_id>/``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import PurePosixPath

from retainwise.errors import InputError, MessageError

#: Lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters.
TENANT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
#: A run id: what ``submit`` and the run store make (hex), or a job's ``prediction_id``.
RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: An upload's file name inside the key: no slashes, quotes or control characters.
_FILE_SEGMENT = re.compile(r"[A-Za-z0-9._ ()+,-]+")
#: The unique prefix ``upload_key`` puts before the file's name.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{12}-(?=.)")


def is_tenant(tenant: object) -> bool:
    """Whether ``tenant`` is an acceptable tenant name."""
    return isinstance(tenant, str) and TENANT_RE.fullmatch(tenant) is not None


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a safe tenant name (lower-case letters, digits, - and _), else InputError."""
    if not is_tenant(tenant):
        raise InputError(
            f"Tenant name {tenant!r} is not allowed: use lower-case letters, digits, '-' and '_' "
            "(at most 63 characters).",
            code="bad_tenant",
        )
    return tenant


def check_run_id(run_id: str) -> str:
    """``run_id`` if it can name a run (and so a results prefix), else InputError."""
    if not isinstance(run_id, str) or RUN_ID_RE.fullmatch(run_id) is None:
        raise InputError(f"Run id {run_id!r} is not allowed.", code="bad_run_id")
    return run_id


def safe_name(name: str) -> str:
    """A file name made safe to be part of a key (the last path part, unsafe characters replaced)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(str(name).replace("\\", "/")).name).strip("._")
    return (stem or "upload")[:100]


#: Folder under ``uploads/<tenant>/`` of training uploads: the runner trains the tenant's model from them.
TRAIN = "train"


def upload_key(tenant: str, filename: str, *, train: bool = False) -> str:
    """A fresh key for ``tenant``'s upload of ``filename`` (``train``: a training upload, under ``train/``)."""
    folder = f"{TRAIN}/" if train else ""
    return f"uploads/{check_tenant(tenant)}/{folder}{uuid.uuid4().hex[:12]}-{safe_name(filename)}"


def is_training_key(key: str) -> bool:
    """Whether ``key`` is a training upload (``uploads/<tenant>/train/<file>``): train, do not score."""
    parts = str(key or "").split("/")
    return len(parts) == 4 and parts[0] == "uploads" and is_tenant(parts[1]) and parts[2] == TRAIN


def upload_name(key: str) -> str:
    """The uploaded file's own name in an upload key: ``uploads/acme/0123456789ab-junk.csv`` -> ``junk.csv``.

    What a person is shown (messages, run lists), never the key's internal prefix. Raises nothing.
    """
    base = str(key or "").rsplit("/", 1)[-1]
    return _UPLOAD_PREFIX.sub("", base, count=1) or base


def results_prefix(tenant: str, run_id: str) -> str:
    """Where a run's outputs live."""
    return f"results/{check_tenant(tenant)}/{check_run_id(run_id)}/"


#: Folder under ``uploads/<tenant>/`` where the portal keeps a file until its columns are confirmed;
#: the confirmed file is copied to ``uploads/<tenant>/<file>``, and that copy is what runs.
STAGING = "portal"


def is_staged(key: str) -> bool:
    """Whether ``key`` is a portal upload waiting for its columns (its S3 event is not a job)."""
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == "uploads" and is_tenant(parts[1]) and parts[2] == STAGING


def check_key(key: str, tenant: str | None = None) -> tuple[str, str]:
    """(tenant, key) if ``key`` lies under ``uploads/<tenant>/`` (or ``uploads/<tenant>/train/``, a training
    upload) with no traversal; MessageError otherwise."""
    parts = key.split("/")
    if len(parts) == 4 and parts[2] == TRAIN:  # a training upload: the same rules for the rest
        parts = [*parts[:2], parts[3]]
    if (
        len(parts) != 3
        or parts[0] != "uploads"
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise MessageError(f"Key {key!r} is not an upload: expected uploads/<tenant>/<file>.", code="bad_key")
    if not is_tenant(parts[1]):
        raise MessageError(f"Key {key!r} names an invalid tenant.", code="bad_tenant")
    if tenant is not None and parts[1] != tenant:
        raise MessageError(f"Key {key!r} does not belong to tenant {tenant!r}.", code="tenant_mismatch")
    if _FILE_SEGMENT.fullmatch(parts[2]) is None:
        raise MessageError(f"Key {key!r} has an unsafe file name.", code="bad_key")
    return parts[1], key
