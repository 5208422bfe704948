"""What becomes of a message once :func:`runner.process.process` is done with it.

Every path a message can take ends in one of these; the poll loop applies it with one ``match``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delete:
    """Finished with: the run is recorded (COMPLETED, FAILED, a duplicate or a rejected message)."""

    reason: str


@dataclass(frozen=True)
class Retry:
    """A transient fault: offer the message again after ``delay_s`` seconds (a backoff, or a lease's end)."""

    delay_s: int
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    """Gave up on a fault that may pass: park the message in the dead-letter queue, where a redrive finds it."""

    reason: str


@dataclass(frozen=True)
class HandBack:
    """The runner is stopping: make the message visible again at once for another runner."""

    reason: str


Outcome = Delete | Retry | DeadLetter | HandBack
