"""One root exception with categories.

Every error RetainWise raises on purpose is a :class:`RetainwiseError`. The
category, not the message text, decides what happens next: the runner retries
``transient`` errors (the queue redelivers the message) and fails the run at
once on permanent ones; the CLI exits with code 2 on :class:`InputError`.

Errors from libraries (botocore, SQLAlchemy, pandas) are translated into these
where they enter our code, so nothing else needs to import them to catch them.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class RetainwiseError(Exception):
    """Root of every RetainWise error.

    ``message`` is one sentence a person can act on: what is wrong and what to
    do. Structured fields (``column``, ``count``, ``examples``) travel with it so
    callers never parse prose.
    """

    #: Whether retrying the same work later may succeed.
    transient: bool = False
    #: Short machine-readable code, e.g. ``empty_file``.
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        column: str | None = None,
        count: int | None = None,
        examples: list[Any] | None = None,
    ) -> None:
        # One line, always: messages quote column names and values from customer files, which may hold
        # newlines or control characters (found by the property tests).
        message = _CONTROL.sub(" ", str(message)).strip()
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.column = column
        self.count = count
        self.examples = list(examples or [])

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready fields (for run records and logs)."""
        return {
            "category": type(self).__name__,
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "count": self.count,
            "examples": [str(e) for e in self.examples],
            "transient": self.transient,
        }


class InputError(RetainwiseError):
    """The upload cannot be used as it is (encoding, shape, schema, size).

    Permanent: the same file will fail the same way, so it is never retried.
    """

    code = "bad_input"


class ModelError(RetainwiseError):
    """The model artefact is missing, tampered with or cannot score."""

    code = "model"


class ConfigError(RetainwiseError):
    """A setting is missing or invalid."""

    code = "config"


class StorageError(RetainwiseError):
    """S3, SQS or the run store failed; usually worth a retry."""

    transient = True
    code = "storage"


class ExecutionError(RetainwiseError):
    """A notebook run died for a reason that is not the input (kernel death, timeout)."""

    transient = True
    code = "execution"


#: Names of our exception classes, so an error raised inside a notebook kernel
#: (which reaches us only as ``ename``/``evalue`` text) maps back to its category.
BY_NAME: dict[str, type[RetainwiseError]] = {
    cls.__name__: cls
    for cls in (RetainwiseError, InputError, ModelError, ConfigError, StorageError, ExecutionError)
}
