"""Argument types: bad values are refused by the parser (exit 2, one usage line) before any work starts."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from retainwise.errors import InputError
from retainwise.platform.links import parse_duration
from retainwise.platform.tenants import check_run_id, check_tenant


def probability(text: str) -> float:
    """A share between 0 and 1 (``--rules-share``). Raises ArgumentTypeError otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A type for whole numbers from ``minimum`` (to ``maximum``); the parser refuses others."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else " or more"
            raise argparse.ArgumentTypeError(
                f"must be {'between ' if maximum is not None else ''}{minimum}{upper}, not {value}"
            )
        return value

    parse.__name__ = "whole number"  # argparse names the type in its message
    return parse


def _from_input_error(check: Callable[[str], object]) -> Callable[[str], object]:
    """``check``'s InputError as the parser's refusal (the same words as everywhere else)."""

    def parse(text: str):
        try:
            return check(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return parse


def duration(text: str) -> int:
    """Seconds in a lifetime such as ``30m``, ``12h``, ``7d`` (more than 0). Raises ArgumentTypeError."""
    return _from_input_error(parse_duration)(text)


def tenant(text: str) -> str:
    """A tenant name the platform accepts. Raises ArgumentTypeError."""
    return _from_input_error(check_tenant)(text)


def run_id(text: str) -> str:
    """A run id the platform accepts. Raises ArgumentTypeError."""
    return _from_input_error(check_run_id)(text)
