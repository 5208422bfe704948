"""How far the committed model can be trusted on one file, and who should score it.

The committed model learned from one telco's customers. Its cross-validated ROC AUC (0.85, and the
figure per set of columns on the card) holds for customers like those; for another kind of business
it is a guess, however sure it sounds. So every run asks two questions of its own file:

1. **Does it look like another kind of business?** A file with at least :data:`SAAS_MIN` of the
   software-subscription usage fields (:data:`SAAS_FIELDS`: seats, logins, feature usage, last
   activity, tickets, NPS, failed payments, integrations, plan) and none of the telco's service fields
   (:data:`TELCO_FIELDS`) is a subscription-software business: *SaaS-like*.
2. **Have the fields the model relies on drifted far from its training data?** For each model feature
   the file carries, the population stability index (drift.py) less what chance alone gives a file of
   this size (``(bins - 1) / rows``: a small file's shares are noisy) is compared with drift.MAJOR
   (0.25). When features holding at least :data:`DRIFTED_SHARE` of the model's importance among those
   the file has (the card's ``feature_importance``) are that far off, the file is *out of domain*.
   Below :data:`MIN_ROWS` rows drift is not judged (too few customers to tell).

Either sign puts the file out of the model's domain. Then the run's confidence is **low**, it quotes
no expected ROC AUC (the card's figure does not apply), and the rules baseline (rules.py, which reads
the SaaS fields) scores every customer it can: :func:`router_prefers_rules`. In the domain, the
confidence is the card's, per the columns present (model.confidence_level). A file that carries
outcomes (``churned``) is measured both ways (:func:`compare`) and the report says which ranked better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retainwise.science import drift, rules, schema

SAAS_FIELDS = (
    "seats_purchased",
    "seats_used",
    "logins_30d",
    "feature_usage_score",
    "last_activity_days_ago",
    "support_tickets",
    "nps",
    "failed_payments",
    "integrations",
    "plan",
)
TELCO_FIELDS = (
    "phone_service",
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
)
SAAS_MIN = 2
DRIFTED_SHARE = 0.5
MIN_ROWS = 200


@dataclass
class Domain:
    """The verdict on one file: in the model's domain or not, and why, in words and figures."""

    in_domain: bool
    saas_fields: list[str] = field(default_factory=list)
    drifted: dict[str, float] = field(default_factory=dict)  # feature -> PSI beyond chance, the far ones
    drifted_share: float | None = None  # share of the model's importance (features present) that is far off
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "in_domain": self.in_domain,
            "saas_fields": list(self.saas_fields),
            "drifted": {k: round(v, 4) for k, v in self.drifted.items()},
            "drifted_share": None if self.drifted_share is None else round(self.drifted_share, 4),
            "reason": self.reason,
        }


def _label(name: str) -> str:
    return schema.column(name).label if name in schema.BY_NAME else name


def _join(words: list[str], most: int = 4) -> str:
    """ "a", "a and b", "a, b and c"; past ``most`` words "a, b, c, d and 3 more"."""
    if len(words) > most:
        return ", ".join(words[:most]) + f" and {len(words) - most} more"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def importance(card: dict, features) -> dict[str, float]:
    """Share of the committed model's importance (its card's ``feature_importance``) per feature of ``features``."""
    shares = {e["feature"]: float(e["share"]) for e in card.get("feature_importance", [])}
    return {f: shares.get(f, 0.0) for f in features}


def excess_psi(psi: float, bins: int, rows: int) -> float:
    """PSI beyond what sampling alone gives ``rows`` customers spread over ``bins`` bins (about (bins-1)/rows)."""
    return psi - (bins - 1) / max(rows, 1)


def assess(
    present: frozenset[str], drift_report: dict, reference: dict, importance: dict[str, float], rows: int
) -> Domain:
    """The domain verdict for a file carrying ``present`` feature columns over ``rows`` customers.

    ``drift_report``: drift.psi_from_counts output (feature -> {"psi", ...}); ``reference`` the card's
    ``drift_reference`` (its bins); ``importance`` feature -> share of the model's importance, for the
    features of the model that scores the file.
    """
    saas = [f for f in SAAS_FIELDS if f in present]
    saas_like = len(saas) >= SAAS_MIN and not any(f in present for f in TELCO_FIELDS)
    drifted, share = {}, None
    weights = {f: w for f, w in importance.items() if f in drift_report}
    if rows >= MIN_ROWS and sum(weights.values()) > 0:
        for name in weights:
            bins = len(reference[name]["shares"]) if name in reference else 11
            beyond = excess_psi(float(drift_report[name]["psi"]), bins, rows)
            if beyond >= drift.MAJOR:
                drifted[name] = beyond
        share = sum(weights[f] for f in drifted) / sum(weights.values())
    far = share is not None and share >= DRIFTED_SHARE
    reasons = []
    if saas_like:
        reasons.append(
            f"your file looks like a software-subscription business (it has {_join([_label(f) for f in saas])}) "
            "and none of the phone and internet services the model learned from"
        )
    if far:
        reasons.append(
            f"the columns the model relies on most look very different from its training customers "
            f"({_join([_label(f) for f in drifted])})"
        )
    return Domain(
        in_domain=not (saas_like or far),
        saas_fields=saas,
        drifted=drifted,
        drifted_share=share,
        reason="; ".join(reasons),
    )


def router_prefers_rules(domain: Domain, present: frozenset[str]) -> bool:
    """True when the rules should score everyone they can: the file is out of the model's domain and has
    at least one column the rules read."""
    return not domain.in_domain and any(c in present for c in rules.COLUMNS)


def in_domain_reason(expected_auc: float, confidence: str, missing: list[str]) -> str:
    """The plain words for a file the model knows, at its card's ``confidence`` for these columns."""
    gap = f"; without {_join([_label(f) for f in missing])}" if missing else ""
    return (
        f"Your customers look like the ones the model learned from (a telco's){gap}, its cross-validated "
        f"ROC AUC with the columns you sent is {expected_auc:.2f}"
        + {
            "high": ".",
            "medium": ": useful, not its best.",
            "low": ": little better than chance, so read its ranking as a rough guide.",
        }[confidence]
    )


def _how_well(measured: float | None) -> str:
    return (
        "how well they rank your customers is unknown until you tell us who actually left"
        if measured is None
        else f"on the outcomes in this file they ranked a leaver above a stayer {measured:.0%} of the time"
    )


def out_of_domain_reason(domain: Domain, by_rules: bool, measured: float | None = None) -> str:
    """The plain words for a file the model does not know (``measured``: the served score's realised ROC AUC)."""
    who = (
        f"the SaaS rules score your customers instead (usage, billing, engagement and tenure); {_how_well(measured)}"
        if by_rules
        else "the rules have no column of yours to read either, so treat the model's scores as a rough guide only"
    )
    return (
        f"{domain.reason[0].upper()}{domain.reason[1:]}. Our model learned from a telco's customers and its "
        f"accuracy does not carry over to yours: {who}."
    )


def too_little_reason(expected_auc: float, measured: float | None = None) -> str:
    """The plain words for a file whose columns give the model almost nothing (the rules score it)."""
    return (
        f"Your file has too few of the columns the model uses (expected ROC AUC {expected_auc:.2f}, near "
        f"chance), so the SaaS rules score it instead; {_how_well(measured)}."
    )


def compare(realised_model: dict | None, realised_rules: dict | None) -> dict | None:
    """Both scores measured on a file's own outcomes: their ROC AUCs and which ranked better."""
    if not realised_model or not realised_rules:
        return None
    m, r = realised_model.get("roc_auc"), realised_rules.get("roc_auc")
    if m is None or r is None:
        return None
    return {
        "model_roc_auc": m,
        "rules_roc_auc": r,
        "rules_n": realised_rules["n"],
        "better": "rules" if r > m else "model" if m > r else "tie",
    }
