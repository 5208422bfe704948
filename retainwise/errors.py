"""One root exception with categories.

Every error RetainWise raises on purpose is a :class:`RetainwiseError`. The
category, not the message text, decides what happens next: the runner retries
a :class:`TransientError` (the queue redelivers the message, over minutes) and
fails the run at once on anything else; the CLI exits with code 2 on
:class:`InputError`. Whether an error is worth a retry is a matter of its class,
never of a flag set on an instance: ``transient`` is read-only and derived from
the class tree. An unexpected exception (a bug of ours) becomes
:class:`InternalError`, which is permanent: retrying a bug only delays the
answer.

    RetainwiseError
    ├── InputError           permanent: the upload cannot be used (exit 2)
    │   ├── MessageError     a queue message we will not run
    │   └── LinkError        a report token that grants nothing
    ├── ModelError           permanent: the model artefact is unusable
    ├── ConfigError          permanent: a setting is missing or invalid
    ├── StorageRefusedError  permanent: S3/SQS said no (missing bucket or queue, access denied)
    ├── InternalError        permanent: an unexpected exception, i.e. our bug
    └── TransientError       retry later
        ├── StorageError     S3, SQS or the run store unavailable
        └── ExecutionError   a kernel died or a cell timed out

Errors from libraries (botocore, SQLAlchemy, pandas) are translated into these
where they enter our code, so nothing else needs to import them to catch them.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: Start of the last traceback line of a RetainWise error raised in a notebook kernel (see
#: ``RetainwiseError._render_traceback_``).
KERNEL_RECORD = "retainwise-error: "


class RetainwiseError(Exception):
    """Root of every RetainWise error.

    ``message`` is one sentence a person can act on: what is wrong and what to
    do. Structured fields (``column``, ``count``, ``examples``) travel with it so
    callers never parse prose.
    """

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

    @property
    def transient(self) -> bool:
        """Whether retrying the same work later may succeed (a :class:`TransientError`)."""
        return isinstance(self, TransientError)

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an error raised in a notebook kernel: the usual traceback, then one line
        holding :meth:`to_dict` as JSON after :data:`KERNEL_RECORD`.

        Papermill carries only the class name and the text out of a kernel, so without this line the
        code (``too_little_data``) and the fields were lost there; execution.notebook reads it back.
        """
        import json
        import traceback

        text = "".join(traceback.format_exception(type(self), self, self.__traceback__)).rstrip("\n")
        return [text, KERNEL_RECORD + json.dumps(self.to_dict())]

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


class StorageRefusedError(RetainwiseError):
    """S3 or SQS refused for a reason a retry will not fix (no such bucket or queue, access denied)."""

    code = "storage_refused"


class InternalError(RetainwiseError):
    """An unexpected exception: a bug of ours. Permanent, so a bug is reported at once, not retried."""

    code = "internal"


class MessageError(InputError):
    """A queue message we will not run: malformed, or naming a key it may not."""

    code = "bad_message"


class LinkError(InputError):
    """A report token that does not grant access (the reason is logged, never shown in detail)."""

    code = "bad_link"


class TransientError(RetainwiseError):
    """A fault that may pass (an outage, a dead kernel): the same work is retried later."""

    code = "transient"


class StorageError(TransientError):
    """S3, SQS or the run store is unavailable; retried."""

    code = "storage"


class ExecutionError(TransientError):
    """A notebook run died for a reason that is not the input (kernel death, timeout)."""

    code = "execution"


#: Names of our exception classes, so an error raised inside a notebook kernel
#: (which reaches us only as ``ename``/``evalue`` text) maps back to its category.
BY_NAME: dict[str, type[RetainwiseError]] = {
    cls.__name__: cls
    for cls in (
        RetainwiseError,
        InputError,
        ModelError,
        ConfigError,
        StorageRefusedError,
        InternalError,
        MessageError,
        LinkError,
        TransientError,
        StorageError,
        ExecutionError,
    )
}
