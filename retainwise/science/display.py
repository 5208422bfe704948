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
    """The prediction section's paragraph (Markdown): who scored the file, how far to trust it and why, and
    the customers per tier. ``model`` is summary.json's ``model`` (Pipeline.model_summary)."""
    who = (
        "the SaaS rules"
        if model.get("kind") == "rules"
        else f"model **{escape_markdown(model['version'])}** ({escape_markdown(model.get('feature_set', ''))} feature set)"
    )
    counts = ", ".join(f"{tiers.get(t, 0):,} {t}" for t in ("HIGH", "MEDIUM", "LOW"))
    return (
        f"Scored by {who}: {counts}.\n\n**Confidence: {escape_markdown(model['confidence'])}.** "
        f"{escape_markdown(model.get('reason', ''))}"
    )
