"""A CSV upload's text encoding, decided from its bytes.

A byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without one is
recognised by its zero bytes; then strict UTF-8; then charset-normalizer, with
Western files read as cp1252 (the superset of Latin-1 that Excel on Windows
writes). The whole file is checked block by block (an incremental decoder),
never held decoded in memory. Binary data (NUL characters, a share of control
characters over :data:`CONTROL_SHARE`) is refused with an InputError.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from retainwise.errors import InputError

SNIFF_CHARS = 256 * 1024
READ_BLOCK = 1 << 20
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_WESTERN = {
    "cp1252",
    "latin_1",
    "iso8859_15",
    "iso8859_1",
    "cp1250",
    "mac_roman",
    "cp850",
    "cp437",
    "iso8859_2",
    "ascii",
    "windows-1252",
}
# control characters no text export contains (vertical tab and form feed do occur: FileMaker line breaks)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: Share of control characters above which a file is taken for binary data.
CONTROL_SHARE = 0.05


def _fail(message: str, code: str) -> InputError:
    return InputError(message, code=code)


def _binary(name: str) -> InputError:
    return _fail(
        f"{name} looks like binary data, not a CSV: export the customer list as CSV and upload that.",
        "not_text",
    )


def _decodes(path: Path, encoding: str, name: str) -> bool:
    """Whether the whole file decodes as ``encoding``; raises InputError on NUL characters (binary data)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as fh:
        try:
            while block := fh.read(READ_BLOCK):
                if "\x00" in decoder.decode(block):
                    raise _binary(name)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path: Path, name: str) -> str:
    """The encoding to read ``path`` with. Raises InputError for binary data or a broken byte-order-marked file."""
    with open(path, "rb") as fh:
        sample = fh.read(SNIFF_CHARS)
    encoding = next((enc for bom, enc in BOMS if sample.startswith(bom)), None)
    window = sample[:65536]
    if encoding is None and b"\x00" in window:
        half = max(len(window) // 2, 1)
        even, odd = window[0::2].count(0), window[1::2].count(0)
        if odd > 0.3 * half and even < 0.02 * half:
            encoding = "utf-16-le"
        elif even > 0.3 * half and odd < 0.02 * half:
            encoding = "utf-16-be"
        else:
            raise _binary(name)
    if encoding is None:
        encoding = "utf-8" if _decodes(path, "utf-8", name) else _legacy(path, sample, name)
    elif not _decodes(path, encoding, name):
        raise _fail(
            f"{name} starts like {encoding} but is not valid {encoding}: export it again as UTF-8 CSV.",
            "bad_encoding",
        )
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")[:65536]
    if len(_CONTROL.findall(text)) > CONTROL_SHARE * max(len(text), 1):
        raise _binary(name)
    return encoding


def _legacy(path: Path, sample: bytes, name: str) -> str:
    """A file that is not UTF-8: charset-normalizer's guess, Western guesses read as cp1252."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else "cp1252"
    candidates = ["cp1252", "latin-1"] if guess in _WESTERN else [guess, "cp1252", "latin-1"]
    for enc in candidates:
        try:
            if _decodes(path, enc, name):
                return enc
        except LookupError:
            continue
    raise _binary(name)  # pragma: no cover - latin-1 decodes any bytes
