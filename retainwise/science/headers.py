"""What a header alone says: its words and unit, the fields it names, and the fields it may be.

A header is read as lower-case tokens (accents, camelCase, brackets and unit words removed) with the
unit it names (:func:`header_parts`). It may *name* fields (:func:`named_fields`: it holds every word
of one of a field's names or aliases, plural or not, not inside a longer name of a third field), or
carry a word for a thing the schema has no field for (vocabulary.NOT_IN_SCHEMA): then it
:func:`says_otherwise` of any other field, and no guess from spelling or values may give it one.
:func:`header_candidates` are the fields a header matches exactly, by normalised name, alias,
alias plus filler words, or near spelling, each with its confidence (:data:`BASE`); mapping.py weighs
them against the column's values.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz, process

from retainwise.science import schema
from retainwise.science.vocabulary import FILLER, HEADER_CURRENCIES, HEADER_UNITS, NOT_ID, NOT_IN_SCHEMA

FUZZY_CUTOFF = 84
#: Confidence of each kind of match (mapping.py's table).
BASE = {"exact": 1.0, "normalised": 0.95, "alias": 0.9, "partial": 0.8, "values": 0.6}
#: Fields one of which an export's header may name while its values are the other's: a SaaS "Plan" column
#: often holds the billing term (Monthly, Annual), a "Subscription Type" the tier.
_KIN = frozenset({("plan", "contract"), ("contract", "plan")})


def header_parts(name: str) -> tuple[tuple[str, ...], str | None]:
    """A header as lower-case tokens (accents, camelCase, brackets and unit words removed) and its unit.

    ``"Tenure (Days)"`` -> ``(("tenure",), "days")``; ``"MonthlyCharges ($)"`` -> ``(("monthly", "charges"), None)``.
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(
        ch for ch in text if not unicodedata.combining(ch) and ch not in "\ufeff\u200b\u200c\u200d"
    )
    text = re.sub(r"__c$", "", text)  # Salesforce custom field suffix
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    brackets = re.findall(r"[(\[{]([^)\]}]*)[)\]}]", text)
    text = re.sub(r"[(\[{][^)\]}]*[)\]}]", " ", text)
    tokens = [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]
    unit = None
    for inner in brackets:
        for t in re.split(r"[^a-z0-9]+", inner.lower()):
            unit = unit or HEADER_UNITS.get(t)
    # trailing unit or currency words: "Tenure in days", "Total Charges USD", "Monthly Fee EUR"
    while len(tokens) > 1 and (tokens[-1] in HEADER_UNITS or tokens[-1] in HEADER_CURRENCIES):
        unit = unit or HEADER_UNITS.get(tokens[-1])
        tokens.pop()
        if len(tokens) > 1 and tokens[-1] == "in":
            tokens.pop()
    if unit is None:
        unit = next((HEADER_UNITS[t] for t in tokens if t in HEADER_UNITS and len(t) > 2), None)
    return tuple(tokens), unit


def _compact(tokens: tuple[str, ...]) -> str:
    return "".join(tokens)


def _stem(word: str) -> str:
    """A header word without a plural s ("payments" -> "payment"), so that a concept is recognised either way."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(name: str) -> frozenset[str]:
    """Every word of a header, stemmed, units and brackets included (``Service Months`` -> service, month)."""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", str(name)) if not unicodedata.combining(ch))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return frozenset(_stem(w) for w in re.split(r"[^a-z0-9]+", text.lower()) if w)


def _build_tables():
    lookup: dict[str, tuple[str, str]] = {}
    token_sets: list[tuple[frozenset[str], int, str]] = []
    for col in schema.COLUMNS:
        for alias in col.aliases:
            tokens, _ = header_parts(alias)
            lookup.setdefault(_compact(tokens), (col.name, "alias"))
            token_sets.append((frozenset(tokens), len(tokens), col.name))
    for col in schema.COLUMNS:
        tokens, _ = header_parts(col.name)
        lookup[_compact(tokens)] = (col.name, "normalised")
        token_sets.append((frozenset(tokens), len(tokens), col.name))
    # a single filler word ("customer", "account") names nothing on its own
    token_sets = [t for t in token_sets if not t[0] <= FILLER]
    # the concepts a header can name (says_otherwise): each name or alias, as words (not filler alone)
    concepts = {
        (_words(a), c.name) for c in schema.COLUMNS for a in (c.name, *c.aliases) if not _words(a) <= FILLER
    }
    return lookup, token_sets, list(lookup), sorted(concepts, key=lambda c: (sorted(c[0]), c[1]))


_LOOKUP, _TOKEN_SETS, _CHOICES, _CONCEPTS = _build_tables()


@functools.lru_cache(maxsize=4096)
def _concepts_in(header: str) -> tuple[tuple[frozenset[str], str], ...]:
    """The (words, field) of every name or alias whose words (plural or not) are all in ``header``, but for
    those inside a longer one of another field (the "payment" of "failed payments")."""
    have = _words(header)
    found = [(stems, name) for stems, name in _CONCEPTS if stems <= have]
    return tuple((s, n) for s, n in found if not any(s < other and n != m for other, m in found))


def named_fields(header: str) -> frozenset[str]:
    """Canonical fields a header names: ``Failed Payments`` names ``failed_payments`` (not ``payment_method``:
    its "payment" is part of the longer name), ``Payment Retries`` names ``payment_method``; ``Line``,
    ``Package``, ``Pay by`` and ``Col7`` name none."""
    return frozenset(name for _, name in _concepts_in(header))


def says_otherwise(target: str, header: str) -> bool:
    """Whether ``header`` says its column is something other than ``target``: it names another field (one
    not :data:`_KIN` to ``target``), or carries a word for a thing the schema has no field for (``Invoice``,
    ``Owner``, ``Name``: vocabulary.NOT_IN_SCHEMA) outside the names of ``target`` it holds."""
    found = _concepts_in(header)
    if any(name != target and (name, target) not in _KIN for _, name in found):
        return True
    own = frozenset().union(*(stems for stems, name in found if name == target))
    return bool((_words(header) - own) & NOT_IN_SCHEMA)


def header_candidates(source: str, tokens: tuple[str, ...]) -> dict[str, tuple[float, str]]:
    """Candidate target -> (confidence, method) from the header alone."""
    found: dict[str, tuple[float, str]] = {}

    def offer(target: str, conf: float, method: str) -> None:
        if conf > found.get(target, (0.0, ""))[0]:
            found[target] = (conf, method)

    if source in schema.BY_NAME:
        offer(source, BASE["exact"], "exact")
    key = _compact(tokens)
    if key in _LOOKUP:
        target, method = _LOOKUP[key]
        offer(target, BASE[method], method)
    if not found and tokens:
        have = set(tokens)
        best = max(((n, t) for s, n, t in _TOKEN_SETS if s <= have and have - s <= FILLER), default=None)
        if best:
            offer(best[1], BASE["partial"], "partial")
        if len(key) >= 4:
            for choice, score, _ in process.extract(
                key, _CHOICES, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=3
            ):
                target = _LOOKUP[choice][0]
                if not says_otherwise(target, source):  # a near spelling is no reason to cross domains
                    # below partial matches, whatever the score: a typo is weaker evidence than a known word
                    offer(target, 0.6 + 0.18 * (score - FUZZY_CUTOFF) / (100 - FUZZY_CUTOFF), "fuzzy")
    if found.get("customer_id", (0, ""))[1] in ("partial", "fuzzy") and NOT_ID & set(tokens):
        del found["customer_id"]
    return found
