"""Neutralising spreadsheet formulas in cells we write (OWASP CSV injection).

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
may be run as a formula when the CSV is opened in a spreadsheet. Such cells get
a leading single quote, which spreadsheets show as text. Idempotent: a
neutralised cell starts with ``'`` and is left alone.
"""

from __future__ import annotations

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` (those present) neutralised, vectorised."""
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            s = out[col].astype("str")
            risky = s.str.startswith(TRIGGERS, na=False)
            out[col] = s.mask(risky, "'" + s)
    return out
