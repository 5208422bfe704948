"""One typed settings object, read once from the environment (pydantic-settings).

Every setting has a type, a safe default and help text (the field description). ``retainwise up``
writes the endpoints it creates, and the run and visibility timeouts its queue was made with, to
``$RETAINWISE_HOME/settings.env`` (mode 0600: it holds the secret) so that ``submit``, ``status``,
``link`` and ``worker`` in another shell use the same stack; real environment variables always win
over that file.

Constructing :class:`Settings` directly (``Settings(home=...)``) uses only the values given and the
defaults, never the process environment: :meth:`Settings.from_env` is the one place the environment
is read. Invalid values raise :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from retainwise.errors import ConfigError

SETTINGS_FILE = "settings.env"
APP_NAME = "retainwise"

# The environment from_env() is reading; empty outside it, so direct construction stays pure.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("retainwise_environ", default=None)


def default_home() -> Path:
    """The user's data directory (platformdirs), so every command finds the same state from any folder."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def _env(name: str, default: Any = None, help: str = "", **kw) -> Any:
    return Field(default, validation_alias=name, description=help, **kw)


class _Environ(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping from_env() was handed."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v for k, v in (_ENVIRON.get() or {}).items() if v != ""}


class Settings(BaseSettings):
    """RetainWise settings (the docs' Settings page is generated from these fields and descriptions)."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, case_sensitive=True, extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        validation_alias="RETAINWISE_HOME",
        description="Local state: run store, settings written by `retainwise up`, logs.",
    )
    aws_endpoint_url: str | None = _env(
        "AWS_ENDPOINT_URL", None, "S3/SQS endpoint; unset means real AWS. `retainwise up` sets it."
    )
    aws_region: str = _env("AWS_DEFAULT_REGION", "us-east-1", "AWS region for S3 and SQS.")
    queue_url: str | None = _env("RETAINWISE_QUEUE_URL", None, "SQS queue the runner reads.")
    bucket: str | None = _env("RETAINWISE_BUCKET", None, "S3 bucket for uploads/ and results/.")
    database_url: str | None = _env(
        "RETAINWISE_DATABASE_URL", None, "Run store URL; default SQLite under RETAINWISE_HOME."
    )
    secret: str | None = _env("RETAINWISE_SECRET", None, "Key signing report links; required in production.")
    # A rotation: the old key moves here, a new one becomes RETAINWISE_SECRET (retainwise.platform.links).
    previous_secrets: str | None = _env(
        "RETAINWISE_PREVIOUS_SECRETS",
        None,
        "Comma-separated earlier link keys whose unexpired links still work; none signs new links.",
    )
    report_base_url: str = _env(
        "RETAINWISE_REPORT_URL", "http://127.0.0.1:8866", "Public base URL of the Voila report server."
    )
    report_port: int = _env(
        "RETAINWISE_REPORT_PORT", 8866, "Port the report server listens on.", gt=0, lt=65536
    )
    report_ip: str = _env(
        "RETAINWISE_REPORT_IP",
        "127.0.0.1",
        "Address the report server binds: 0.0.0.0 in a container behind the load balancer.",
    )
    run_timeout_s: int = _env(
        "RETAINWISE_RUN_TIMEOUT", 240, "Longest a pipeline cell may run (seconds).", gt=0
    )
    visibility_timeout_s: int = _env(
        "RETAINWISE_VISIBILITY_TIMEOUT",
        300,
        "SQS visibility timeout and run lease; must exceed the run timeout.",
        gt=0,
    )
    retry_backoff_s: int = _env(
        "RETAINWISE_RETRY_BACKOFF",
        30,
        "First wait before a transient fault is retried; x4 each attempt.",
        ge=0,
    )
    stop_grace_s: int = _env(
        "RETAINWISE_STOP_GRACE",
        100,
        "How long a stopping runner waits for runs in hand before handing them back.",
        ge=0,
    )
    poll_wait_s: int = _env("RETAINWISE_POLL_WAIT", 20, "SQS long-poll seconds.", ge=0, le=20)
    concurrency: int = _env("RETAINWISE_CONCURRENCY", 1, "Uploads one runner runs at once.", gt=0)
    pool_size: int | None = _env(
        "RETAINWISE_POOL_SIZE",
        None,
        "Pre-started kernels per runner (default: the concurrency; 0: none).",
        ge=0,
    )
    # Webhooks (retainwise.platform.webhooks): https to public addresses only, except these hosts.
    webhook_allow_http_hosts: str | None = _env(
        "RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS",
        None,
        "Comma-separated webhook hosts allowed over plain http and at any address (test receivers only).",
    )
    webhook_timeout_s: float = _env(
        "RETAINWISE_WEBHOOK_TIMEOUT", 10.0, "Total deadline of one webhook POST (seconds).", gt=0, le=120
    )
    # Per-tenant limits (retainwise.platform.limits): these are the defaults, `retainwise tenant limits T
    # --set name=value` overrides them for one tenant.
    limit_queued_runs: int = _env(
        "RETAINWISE_LIMIT_QUEUED_RUNS", 20, "Runs a tenant may have queued or processing at once.", gt=0
    )
    limit_upload_bytes_per_day: int = _env(
        "RETAINWISE_LIMIT_UPLOAD_BYTES_PER_DAY",
        2_000_000_000,
        "Bytes a tenant may upload in any 24 hours (portal and `retainwise submit`).",
        gt=0,
    )
    limit_uploads_per_minute: int = _env(
        "RETAINWISE_LIMIT_UPLOADS_PER_MINUTE", 20, "Portal upload requests per tenant per minute.", gt=0
    )
    limit_pages_per_minute: int = _env(
        "RETAINWISE_LIMIT_PAGES_PER_MINUTE", 60, "Report and portal page loads per tenant per minute.", gt=0
    )
    # Report kernels (retainwise.reports.kernels): past a cap a visitor gets the run's static report at once.
    report_kernels_max: int = _env(
        "RETAINWISE_REPORT_KERNELS",
        6,
        "Report kernels alive at once on one report server, preheated ones included (also bounded by memory).",
        gt=0,
    )
    report_kernels_per_token: int = _env(
        "RETAINWISE_REPORT_KERNELS_PER_LINK", 4, "Interactive report pages open at once on one link.", gt=0
    )
    report_pages_in_flight: int = _env(
        "RETAINWISE_REPORT_PAGES_IN_FLIGHT",
        0,
        "Interactive report pages being built at once (sent, then loading until their widgets connect); past "
        "it a visitor gets the static report at once. 0: the report server's CPUs minus one, at least one.",
        ge=0,
    )
    report_kernel_gone_s: int = _env(
        "RETAINWISE_REPORT_KERNEL_GONE",
        15,
        "Seconds a report page's websocket may stay closed before its kernel is shut down.",
        gt=0,
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, _Environ(settings_cls))

    @model_validator(mode="after")
    def _visibility_exceeds_run_timeout(self) -> Settings:
        # The one place this rule lives: a run longer than the message's invisibility is delivered twice.
        if self.visibility_timeout_s <= self.run_timeout_s:
            raise ValueError(
                f"RETAINWISE_VISIBILITY_TIMEOUT ({self.visibility_timeout_s} s) must exceed "
                f"RETAINWISE_RUN_TIMEOUT ({self.run_timeout_s} s), or a slow run is delivered twice"
            )
        return self

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.home / 'runs.sqlite3').resolve()}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``), then the home's settings file.

        Raises :class:`ConfigError` when a value is invalid (wrong type, out of range, the
        visibility timeout not above the run timeout).
        """
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("RETAINWISE_HOME") or default_home())
        merged = {**_read_env_file(home / SETTINGS_FILE), **env}
        token = _ENVIRON.set(merged)
        try:
            return cls()
        finally:
            _ENVIRON.reset(token)

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (for child processes)."""
        out = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value is not None:
                out[field.validation_alias] = str(value)
        return out

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated again. Raises ConfigError."""
        return type(self)(**{**{n: getattr(self, n) for n in type(self).model_fields}, **changes})


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    field = Settings.model_fields.get(where)
    name = field.validation_alias if field is not None else where
    text = first["msg"].removeprefix("Value error, ")
    return f"{name}: {text}." if name else f"{text}."


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
    """Write ``values`` to the home's settings file, readable by its owner only (it holds the secret)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / SETTINGS_FILE
    body = "# written by `retainwise up`; real environment variables win\n"
    body += "".join(f"{k}={v}\n" for k, v in sorted(values.items()))
    # Created 0600 from the start (never world-readable, even for an instant); an older file is narrowed too.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
    return path
