"""Text the pipeline notebook displays, with everything that came from a user escaped.

Headers, values, file names and tenants are the uploader's text: shown as
Markdown they could carry HTML (``<img src=x onerror=...>`` runs script once
nbconvert or JupyterLab renders it) or Markdown links. :func:`escape_markdown`
makes such text inert for both renderers; tables go through pandas, which
escapes HTML itself.
"""

from __future__ import annotations

import html
import re

from retainwise.science import scoring

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def escape_markdown(text) -> str:
    """``text`` shown literally in Markdown: Markdown punctuation backslash-escaped, then ``&<>"'`` as entities."""
    return html.escape(_MARKDOWN.sub(r"\\\1", str(text)), quote=True).replace("\n", " ")


def mapping_summary(upload, mapping) -> str:
    """The mapping section's one-paragraph summary (Markdown), user text escaped."""
    unmapped = ", ".join(escape_markdown(c) for c in mapping.unmapped) or "none"
    return (
        f"**{escape_markdown(upload.source_name)}**: {upload.frame.shape[1]} columns "
        f"({escape_markdown(upload.format)}, {escape_markdown(upload.encoding)}). {len(mapping.mapping)} mapped, "
        f"{len(mapping.unmapped)} unmapped: {unmapped}."
    )


def prediction_summary(model: dict, tiers: dict[str, int]) -> str:
    """The prediction section's paragraph (Markdown): who scored the file, how far to trust it and why, the
    customers per tier and what the tiers mean (:func:`tier_legend`). ``model`` is summary.json's ``model`` (Pipeline.model_summary)."""
    who = (
        "the SaaS rules"
        if model.get("kind") == "rules"
        else f"model **{escape_markdown(model['version'])}** ({escape_markdown(model.get('feature_set', ''))} feature set)"
    )
    counts = ", ".join(f"{tiers.get(t, 0):,} {t}" for t in scoring.TIERS)
    return (
        f"Scored by {who}: {counts}.\n\n**Confidence: {escape_markdown(model['confidence'])}.** "
        f"{escape_markdown(model.get('reason', ''))}\n\n{tier_legend()}"
    )


def tier_legend() -> str:
    """The risk tiers' thresholds in one line (Markdown), from scoring.py, where they are defined."""
    return (
        f"Risk tiers: **HIGH** from a churn probability of {scoring.HIGH:.2f}, **MEDIUM** from "
        f"{scoring.MEDIUM:.2f}, **LOW** below."
    )


def validation_summary(validation) -> str:
    """The validation section's line (Markdown): the quality score, its level, customers to score and rows
    rejected. ``validation`` is what Pipeline.validate returns (validation.Report)."""
    quality = validation.quality
    return (
        f"**Quality score {quality.score:.0f}/100** ({escape_markdown(quality.level)} checks): "
        f"{validation.rows_in - validation.rows_rejected:,} customers to score, "
        f"{validation.rows_rejected:,} rows rejected."
    )


def outputs_list(paths: dict) -> str:
    """The files a run wrote, one Markdown bullet each (``name``: path). Paths may hold a tenant's or a
    file's name, so each is escaped."""
    return "\n".join(f"- {escape_markdown(name)}: {escape_markdown(path)}" for name, path in paths.items())
