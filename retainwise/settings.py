"""One typed settings object, read once from the environment.

Every setting has a type, a safe default and help text. ``retainwise up``
writes the endpoints it creates to ``$RETAINWISE_HOME/settings.env`` so that
``submit``, ``status`` and ``link`` in another shell find them; real
environment variables always win over that file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from retainwise.errors import ConfigError

SETTINGS_FILE = "settings.env"


def _setting(env: str, default, help: str):
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    """RetainWise settings (see the README's settings table)."""

    home: Path = _setting("RETAINWISE_HOME", Path(".retainwise"), "Local state: run store, settings, outputs.")
    aws_endpoint_url: str | None = _setting(
        "AWS_ENDPOINT_URL", None, "S3/SQS endpoint; unset means real AWS. `retainwise up` sets it."
    )
    aws_region: str = _setting("AWS_DEFAULT_REGION", "us-east-1", "AWS region for S3 and SQS.")
    queue_url: str | None = _setting("RETAINWISE_QUEUE_URL", None, "SQS queue the runner reads.")
    bucket: str | None = _setting("RETAINWISE_BUCKET", None, "S3 bucket for uploads/ and results/.")
    database_url: str | None = _setting(
        "RETAINWISE_DATABASE_URL", None, "Run store URL; default SQLite under RETAINWISE_HOME."
    )
    secret: str | None = _setting("RETAINWISE_SECRET", None, "Key signing report links; required in production.")
    report_base_url: str = _setting(
        "RETAINWISE_REPORT_URL", "http://127.0.0.1:8866", "Public base URL of the Voila report server."
    )
    run_timeout_s: int = _setting("RETAINWISE_RUN_TIMEOUT", 240, "Longest a pipeline run may take (seconds).")
    visibility_timeout_s: int = _setting(
        "RETAINWISE_VISIBILITY_TIMEOUT", 300, "SQS visibility timeout; must exceed the run timeout."
    )

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.home / 'runs.sqlite3').resolve()}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``), then the home's settings file.

        Raises :class:`ConfigError` when a value has the wrong type.
        """
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("RETAINWISE_HOME") or ".retainwise")
        for key, value in _read_env_file(home / SETTINGS_FILE).items():
            env.setdefault(key, value)
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f, raw)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (for child processes)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.metadata["env"]] = str(value)
        return out


def _convert(f, raw: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("Path"):
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"{f.metadata['env']}={raw!r} is not a valid number.") from exc
    return raw


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def write_env_file(home: Path, values: dict[str, str]) -> Path:
    """Write ``values`` to the home's settings file (used by ``retainwise up``)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / SETTINGS_FILE
    body = "".join(f"{k}={v}\n" for k, v in sorted(values.items()))
    path.write_text("# written by `retainwise up`; real environment variables win\n" + body, encoding="utf-8")
    return path
