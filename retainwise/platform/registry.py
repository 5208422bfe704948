"""Each tenant's model versions: artefacts, status and which one scores the tenant's next upload.

A tenant model (retainwise.science.tenant) is a folder of ``model.ubj`` (UBJSON, never a pickle) and
``card.json``. Registered, it lives under ``models/<tenant>/<version>/`` beside ``models/<tenant>/
registry.json``, which lists every version with its status:

- ``active``: scores the tenant's uploads (at most one);
- ``candidate``: trained, not promoted by the gate (kept, so it can be activated by hand);
- ``retired``: was active, replaced by another version (kept for a roll-back).

On one machine the root is ``$RETAINWISE_HOME`` (``retainwise train --tenant``, ``retainwise score
--tenant``, ``retainwise models``). Activating a version retires the one it replaces; activating a
retired or candidate version is a roll-back or forward, never a copy. Files are replaced atomically.
The tenant name is percent-encoded into the folder name, so no tenant can write outside ``models/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from retainwise.errors import InputError
from retainwise.files import write_atomic
from retainwise.platform.tenants import check_tenant

REGISTRY = "registry.json"
STATUSES = ("active", "candidate", "retired")


def _folder(tenant: str) -> str:
    return quote(str(tenant), safe="-_").replace(".", "%2E") or "%00"


class LocalRegistry:
    """``tenant``'s model versions under ``<home>/models/<tenant>/``."""

    def __init__(self, home: str | os.PathLike, tenant: str) -> None:
        check_tenant(tenant)
        self.tenant, self.dir = tenant, Path(home) / "models" / _folder(tenant)

    @classmethod
    def active_for(cls, home: str | os.PathLike, tenant: str) -> Path | None:
        """The active model of ``tenant`` under ``home``, or None, also for a name no registry can have
        (``retainwise score`` accepts any tenant name locally; only valid ones can train a model)."""
        try:
            return cls(home, tenant).active()
        except InputError:
            return None

    # -- reading ----------------------------------------------------------------------------
    def versions(self) -> list[dict]:
        """Every registered version, newest first: ``version``, ``status``, ``registered_at``, figures."""
        path = self.dir / REGISTRY
        if not path.is_file():
            return []
        entries = json.loads(path.read_text(encoding="utf-8")).get("versions", [])
        return sorted(entries, key=lambda e: e["registered_at"], reverse=True)

    def active(self) -> Path | None:
        """The active version's folder, or None when the tenant has no model of its own in use."""
        for entry in self.versions():
            if entry["status"] == "active":
                return self.dir / entry["version"]
        return None

    def path(self, version: str) -> Path:
        if not any(e["version"] == version for e in self.versions()):
            known = ", ".join(e["version"] for e in self.versions()) or "none yet"
            raise InputError(
                f"Tenant {self.tenant!r} has no model version {version!r} (versions: {known}).",
                code="no_such_model",
            )
        return self.dir / version

    # -- writing ----------------------------------------------------------------------------
    def register(self, folder: Path, *, activate: bool) -> dict:
        """Copy a trained model folder in as a new version (``active`` when ``activate``, else ``candidate``)."""
        card = json.loads((Path(folder) / "card.json").read_text(encoding="utf-8"))
        version = card["version"]
        target = self.dir / version
        if not target.exists():
            staging = Path(tempfile.mkdtemp(dir=self._ensure_dir(), prefix=f".{version}-"))
            for name in ("model.ubj", "card.json"):
                shutil.copy2(Path(folder) / name, staging / name)
            os.replace(staging, target)
        entry = {
            "version": version,
            "status": "candidate",
            "registered_at": _now(),
            "trained_at": card.get("trained_at"),
            "trained_on": card.get("trained_on", {}),
            "roc_auc": (card.get("cv") or {}).get("roc_auc"),
            "verdict": (card.get("gate") or {}).get("verdict", ""),
        }
        if not any(e["version"] == version for e in self.versions()):  # the same model again keeps its status
            self._write([*self.versions(), entry])
        if activate:
            self.activate(version)
        return next(e for e in self.versions() if e["version"] == version)

    def activate(self, version: str) -> dict:
        """Make ``version`` the one that scores; the version it replaces is retired."""
        self.path(version)  # refuses an unknown version
        versions = _activated(self.versions(), version)
        self._write(versions)
        return next(e for e in versions if e["version"] == version)

    def _ensure_dir(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir

    def _write(self, versions: list[dict]) -> None:
        write_atomic(
            self.dir / REGISTRY, json.dumps({"tenant": self.tenant, "versions": versions}, indent=2).encode()
        )


def _activated(versions: list[dict], version: str) -> list[dict]:
    """``versions`` with ``version`` active and the one it replaces retired (the registry's one rule)."""
    for entry in versions:
        if entry["version"] == version:
            entry["status"], entry["activated_at"] = "active", _now()
        elif entry["status"] == "active":
            entry["status"] = "retired"
    return versions


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class BucketRegistry:
    """``tenant``'s model versions in the bucket: ``models/<tenant>/<version>/`` and ``models/<tenant>/registry.json``.

    The same statuses and rules as :class:`LocalRegistry`; what the runner reads to score a tenant's
    upload with its own model (:meth:`fetch_active`).
    """

    def __init__(self, storage, tenant: str) -> None:
        check_tenant(tenant)
        self.storage, self.tenant, self.prefix = storage, tenant, f"models/{tenant}/"

    def versions(self) -> list[dict]:
        data = self.storage.get_json(self.prefix + REGISTRY) or {}
        return sorted(data.get("versions", []), key=lambda e: e["registered_at"], reverse=True)

    def register(self, folder: Path, *, activate: bool) -> dict:
        card = json.loads((Path(folder) / "card.json").read_text(encoding="utf-8"))
        version = card["version"]
        for name in ("model.ubj", "card.json"):
            self.storage.put_file(Path(folder) / name, f"{self.prefix}{version}/{name}")
        entry = {
            "version": version,
            "status": "candidate",
            "registered_at": _now(),
            "trained_at": card.get("trained_at"),
            "trained_on": card.get("trained_on", {}),
            "roc_auc": (card.get("cv") or {}).get("roc_auc"),
            "verdict": (card.get("gate") or {}).get("verdict", ""),
        }
        if not any(e["version"] == version for e in self.versions()):  # the same model again keeps its status
            self._write([*self.versions(), entry])
        return (
            self.activate(version)
            if activate
            else next(e for e in self.versions() if e["version"] == version)
        )

    def activate(self, version: str) -> dict:
        versions = self.versions()
        if not any(e["version"] == version for e in versions):
            raise InputError(
                f"Tenant {self.tenant!r} has no model version {version!r}.", code="no_such_model"
            )
        versions = _activated(versions, version)
        self._write(versions)
        return next(e for e in versions if e["version"] == version)

    def fetch_active(self, into: Path) -> Path | None:
        """Download the active version into ``into`` (verified when loaded); None when there is none."""
        active = next((e["version"] for e in self.versions() if e["status"] == "active"), None)
        if active is None:
            return None
        for name in ("model.ubj", "card.json"):
            self.storage.download(f"{self.prefix}{active}/{name}", Path(into) / name)
        return Path(into)

    def _write(self, versions: list[dict]) -> None:
        self.storage.put_json(self.prefix + REGISTRY, {"tenant": self.tenant, "versions": versions})
