"""Text columns built by Arrow from small tables: the pieces factor lists and sentences are made of.

Text is Arrow large_string throughout, what pandas' "str" dtype holds: the columns built here become
the frame's columns without a copy or a Python object per cell. Each column is one element-wise
concatenation of pieces taken from small tables; the separators are folded into the pieces (fewer
pieces, less time). Impacts are formatted exactly as ``json.dumps`` writes them (:func:`impacts`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()
STR = pd.StringDtype("pyarrow", na_value=np.nan)
#: Impacts this large (log-odds: never in practice) and non-finite ones are formatted by Python.
LARGEST = 1000


def text(values) -> pa.Array:
    """``values`` (Python strings) as an Arrow text array."""
    return pa.array(values, TEXT)


def concat(*parts: pa.Array) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays: one pass, no Python per row."""
    return pc.binary_join_element_wise(*parts, pa.scalar("", TEXT))


@functools.cache
def impact_tables() -> tuple[pa.Array, pa.Array]:
    """The two halves of a formatted impact, after a blank (""): the sign and whole part ("0".."999",
    "-0".."-999"), and the fraction closing the factor (".0}", ".0001}", ..., ".9999}"), then the same
    closing the list too (".0}]", ...)."""
    wholes = [str(w) for w in range(LARGEST)]
    fractions = ["." + (f"{f:04d}".rstrip("0") or "0") + "}" for f in range(10_000)]
    return text([""] + wholes + ["-" + w for w in wholes]), text(
        [""] + fractions + [f + "]" for f in fractions]
    )


def impacts(values: np.ndarray, closing: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``repr(round(x, 4)) + "}"`` of each value, as json.dumps writes the impact, closing its factor (and
    with ``closing``, its list: ``"}]"``): as ``(wholes, w, f)``, the text being ``wholes[w] + fractions[f]``
    (:func:`impact_tables`; index 0 is "").

    Built from the integer count of 1e-4s: the double nearest a 4-decimal number prints as that number
    without trailing zeros (repr is the shortest string that reads back, and at these magnitudes no other
    4-decimal number reads back to the same double). Each of the few other values gets its own entry at
    the end of ``wholes`` and the blank fraction.
    """
    x = np.asarray(values, dtype="float64")
    rounded = np.round(x, 4)
    # numpy rounds x * 1e4 (itself rounded); near a tie Python's correctly rounded round() decides
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite values: no tie, formatted by Python below
        tie = np.abs(np.abs(x * 1e4) % 1 - 0.5) < 1e-6
    rounded[tie] = [round(float(v), 4) for v in x[tie]]
    odd = ~(np.abs(rounded) < LARGEST)  # NaN included
    steps = np.rint(np.abs(np.where(odd, 0.0, rounded)) * 1e4).astype(np.int64)
    wholes, _ = impact_tables()
    w = 1 + steps // 10_000 + LARGEST * np.signbit(rounded)  # -0.0 is "-0.0", as repr writes it
    f = 1 + steps % 10_000 + 10_000 * closing
    if odd.any():
        extra = [
            repr(round(float(v), 4)) + ("}]" if last else "}")
            for v, last in zip(x[odd], closing[odd], strict=True)
        ]
        w[odd], f[odd] = len(wholes) + np.arange(len(extra)), 0
        wholes = pa.concat_arrays([wholes, text(extra)])
    return wholes, w, f
