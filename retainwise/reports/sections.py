"""The report's sections as HTML (from the templates in ``templates/report/``), one function each.

Each takes the :class:`~retainwise.reports.data.ReportData` and returns a complete, self-styled piece,
so the notebook can show, drop or reorder any of them.
"""

from __future__ import annotations

import functools

import pandas as pd

from retainwise.reports import charts, labels, segments
from retainwise.reports.data import ReportData, amount
from retainwise.reports.render import money, render
from retainwise.science import domain, playbook
from retainwise.science import drift as drift_levels

STATIC_CUSTOMERS = 15


def section(key: str, heading: str, body: str, intro: str = "") -> str:
    """A section: heading, optional intro line, body (already-escaped HTML)."""
    return render("section.html.j2", key=key, heading=heading, body=body, intro=intro)


def title(data: ReportData) -> str:
    from retainwise.execution.static_report import report_title

    return report_title(data.summary)


def headline(data: ReportData) -> str:
    kpis = [
        ("rw-rows", f"{data.rows_scored:,}", "customers scored", ""),
        ("rw-high", f"{data.high_share:.1%}", "at high risk of leaving", " rw-high"),
        ("rw-revenue", money(data.revenue_at_risk), "monthly revenue at risk", ""),
        ("rw-quality", f"{data.quality_score:.0f}", "data quality score (of 100)", ""),
    ]
    if not data.has_revenue:  # no money column: no revenue figure, and the one sentence saying why
        kpis = [k for k in kpis if k[0] != "rw-revenue"]
    return render(
        "headline.html.j2",
        title=title(data),
        upload=data.upload_name,
        finished=labels.when(data.summary.get("finished_at")),
        kpis=kpis,
        truncated=data.truncated,
        no_revenue=data.no_revenue_note,
        shown=len(data.results),
        total=f"{data.rows_scored:,}",
        download=data.download_url,
        run_id=data.run_id,
    )


def risk(data: ReportData) -> str:
    return section(
        "risk",
        "How likely your customers are to leave",
        charts.risk_distribution(data.results, data.summary.get("risk_counts") or {}),
        "High risk: 60% chance or more; medium: 30–60%; low: under 30%.",
    )


def file_drivers(data: ReportData) -> list[dict]:
    """The run's global drivers among the fields the file has: a column the upload lacks is never named (the
    model still reads its absence, but "monthly charges drives churn" about a file without them is wrong)."""
    drivers = [
        d for d in data.summary.get("global_drivers") or [] if isinstance(d, dict) and d.get("feature")
    ]
    absent = set(
        (data.summary.get("model") or {}).get("missing_features") or []
    )  # unmapped, or mapped but empty
    fields = data.fields
    return [d for d in drivers if d["feature"] not in absent and (not fields or d["feature"] in fields)]


def drivers(data: ReportData) -> str:
    chart = charts.drivers(file_drivers(data))
    if not chart:
        chart = render(
            "note.html.j2",
            text="No column of this file is one the model learns from, so every "
            "customer gets about the same chance of leaving. Add columns such as months as a customer, "
            "contract and monthly charges to see what drives it.",
        )
    return section("drivers", "What drives churn in this file", chart)


def segment_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    return segments.by_segment(data.results, data.segment_labels())


def segments_section(data: ReportData) -> str:
    top = {t: rows.head(6) for t, rows in segment_tables(data).items()}
    tables = [(t, rows.to_dict("records")) for t, rows in top.items()]
    money_shown = data.has_revenue
    intro = "Where the risk and the revenue at risk sit." if money_shown else "Where the risk sits."
    if data.truncated:  # a large run's segments are counted over the customers the page holds, not every one
        intro += (
            f" Counted over the {len(data.results):,} customers most at risk shown here,"
            f" not all {data.rows_scored:,}."
        )
    if not tables:  # nothing to count: say why, with no intro about what is not there
        intro = ""
    chart = charts.segment_bars(top, "revenue" if money_shown else "probability")
    return section(
        "segments",
        "Segments",
        render(
            "segments.html.j2",
            tables=tables,
            chart=chart,
            money=money_shown,
            have_fields=data.features() is not None,
            dimensions=labels.join(segments.DIMENSION_WORDS),
        ),
        intro,
    )


def customers_table(frame: pd.DataFrame, note: str, money_shown: bool = True) -> str:
    return render(
        "customers_table.html.j2",
        rows=frame.to_dict("records"),
        note=note,
        money=money_shown and "revenue_at_risk" in frame.columns,
    )


def customers_static(data: ReportData) -> str:
    top = data.results.head(STATIC_CUSTOMERS)
    note = f"The {len(top)} customers most likely to leave, of {data.rows_scored:,}; all of them are in the results file."
    return section("customers", "Customers most at risk", customers_table(top, note, data.has_revenue))


def actions(data: ReportData) -> str:
    table = playbook.summarise(data.results, data.results["recommended_action"])
    if (
        table.empty
    ):  # why there is no action: nobody at risk, or nothing the file says about them points to one
        intro = ""
    elif data.has_revenue:
        intro = (
            "What to do for the customers at risk, by the monthly revenue each action protects "
            "(chance of leaving × monthly charges)."
        )
    else:
        intro = "What to do for the customers at risk, by how many customers each action is for."
    at_risk = int(data.results["churn_risk"].isin(playbook.AT_RISK).sum())
    return section(
        "actions",
        "Recommended actions",
        render("actions.html.j2", rows=table.to_dict("records"), money=data.has_revenue, at_risk=at_risk),
        intro,
    )


def quality(data: ReportData) -> str:
    q = data.summary["quality"]
    issues = [
        {
            "message": i.get("message"),
            "column": labels.label(i["column"]) if i.get("column") else "",
            "count": i.get("count"),
            "examples": ", ".join(map(str, (i.get("examples") or [])[:5])),
        }
        for i in q.get("issues") or []
    ]
    return section(
        "quality",
        "Data quality",
        render(
            "quality.html.j2", score=f"{float(q['score']):.0f}", level=str(q.get("level", "")), issues=issues
        ),
    )


def mapping(data: ReportData) -> str:
    s = data.summary
    conf = s.get("mapping_confidence") or {}
    rows = [(src, labels.label(dst), conf.get(src, 1.0)) for src, dst in (s.get("mapping") or {}).items()]
    return section(
        "mapping",
        "Your columns",
        render("mapping.html.j2", rows=rows, unmapped=", ".join(s.get("unmapped") or [])),
    )


_DRIFT_WORDS = {
    "stable": ("similar", "rw-good"),
    "moderate": ("somewhat different", ""),
    "major": ("very different", "rw-bad"),
}


def _drift_sentence(rows: list[dict]) -> str:
    if not rows:
        return (
            "This file has none of the columns we compare with the customers the model learned from, so we "
            "cannot say how alike they are."
        )
    shifted = [r["label"].lower() for r in rows if r["psi"] >= drift_levels.MAJOR]
    if not shifted:
        some = [r["label"].lower() for r in rows if r["psi"] >= drift_levels.MODERATE]
        return (
            "Your customers look like the ones the model learned from, so its predictions should hold."
            if not some
            else f"Your customers differ somewhat in {labels.join(some)}; predictions should "
            "still hold, but keep an eye on them."
        )
    return (
        f"This file's customers are very different in {labels.join(shifted)} from the ones the model learned "
        "from: treat its predictions for them with care."
    )


@functools.cache
def _card() -> dict:
    """The model card (its promised accuracy), read without loading the model."""
    import json

    from retainwise.resources import MODEL_DIR

    path = MODEL_DIR / "model_card.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _realised(real: dict, promised: float | None, brier: float | None) -> dict:
    """What the file's own outcomes say: accuracy against what was promised (if anything was) and, where
    both scores were measured, which ranked better."""
    auc = real.get("roc_auc")
    verdict = ""
    if promised is not None and auc is not None:
        verdict = (
            "That is in line with what it promised."
            if auc >= promised - 0.05
            else "That is clearly below what it promised: the model may need retraining for your customers."
        )
    compared, who = real.get("compared"), {"rules": "the SaaS rules", "model": "our telco-trained model"}
    comparison = ""
    if compared and compared.get("better") in who:
        comparison = (
            f"Measured on the same customers, the SaaS rules ranked a leaver above a stayer "
            f"{compared['rules_roc_auc']:.0%} of the time and our telco-trained model "
            f"{compared['model_roc_auc']:.0%}: {who[compared['better']]} ranked better."
        )
    elif compared:
        comparison = (
            "Measured on the same customers, the SaaS rules and our telco-trained model ranked equally well."
        )
    return {
        "n": real["n"],
        "auc": auc,
        "brier": real["brier"],
        "promised": promised,
        "promised_brier": brier,
        "verdict": verdict,
        "comparison": comparison,
    }


def _later(report: dict | None) -> str:
    """One sentence on the outcomes sent after the run (:attr:`ReportData.later`); "" without them."""
    if not report:
        return ""
    from retainwise.platform.labelled import day_words

    real = report["realised"]
    return (
        f"You told us later who left: our {day_words(report.get('scored_at'), year=False)} predictions ranked a "
        f"leaver above a stayer {real['roc_auc']:.0%} of the time ({real['n']:,} customers)."
    )


def health(data: ReportData) -> str:
    cv = _card().get("cv", {})
    model = data.summary.get("model") or {}
    # Runs from before the domain check quoted the card's figure; newer ones quote one only where it applies.
    promised = model.get("expected_roc_auc") if "reason" in model else cv.get("roc_auc")
    rows = [
        {
            "label": labels.label(col),
            "psi": float(d.get("psi") or 0.0),
            "words": _DRIFT_WORDS.get(d.get("level"), (str(d.get("level")), ""))[0],
            "css": _DRIFT_WORDS.get(d.get("level"), ("", ""))[1],
        }
        for col, d in (data.summary.get("drift") or {}).items()
    ]
    rows.sort(key=lambda r: -r["psi"])
    real = data.summary.get("realised")
    realised = _realised(real, promised, cv.get("brier") if promised is not None else None) if real else None
    if data.rows_scored < domain.MIN_ROWS:
        drift_sentence = (
            (
                f"With {data.rows_scored:,} customers, how they compare with the ones the model learned "
                "from is too noisy to judge (it takes a few hundred)."
            )
            if rows
            else ""
        )
    else:
        drift_sentence = (
            _drift_sentence(rows)
            if (model.get("domain") or {}).get("in_domain", True) or not rows
            else "The model's own columns, compared with the customers it learned from:"
        )
    return section(
        "health",
        "How far to trust these predictions",
        render(
            "health.html.j2",
            realised=realised,
            later=_later(data.later),
            confidence=model.get("confidence"),
            reason=model.get("reason"),
            drift=rows,
            drift_sentence=drift_sentence,
        ),
    )


def _change(now: float, before: float, kind: str) -> str:
    delta = now - before
    if kind == "share":
        pts = round(delta * 100, 1)
        return "unchanged" if pts == 0 else f"{'up' if pts > 0 else 'down'} {abs(pts):.1f} points"
    return "unchanged" if round(delta) == 0 else f"{'up' if delta > 0 else 'down'} {money(abs(delta))}"


def _revenue_change(data: ReportData, before: dict) -> str | None:
    """How revenue at risk moved since ``before`` (the previous summary); "" when that run had no money column,
    None when this one has none (the headline already says why: no line at all)."""
    now, then = data.revenue_at_risk, amount(before.get("revenue_at_risk"))
    if now is None:
        return None
    return "" if then is None else _change(now, then, "money")


def since(data: ReportData) -> str:
    """Against the tenant's previous run; nothing when the history is unknown (a run folder alone)."""
    if not data.history_known:
        return ""
    prev = data.previous
    ctx = {"previous": None}
    if prev:
        ps = prev["summary"]
        before_high = (ps.get("risk_counts") or {}).get("HIGH", 0) / max(1, int(ps.get("rows_scored") or 0))
        was_high = set(prev["results"].loc[prev["results"]["churn_risk"].eq("HIGH"), "customer_id"])
        newly = [
            c
            for c in data.results.loc[data.results["churn_risk"].eq("HIGH"), "customer_id"]
            if c not in was_high
        ]
        ctx = {
            "previous": prev,
            "high_now": data.high_share,
            "high_change": _change(data.high_share, before_high, "share"),
            "revenue_now": data.revenue_at_risk,
            "revenue_change": _revenue_change(data, ps),
            "newly": newly,
        }
    return section("since", "Since last time", render("since.html.j2", **ctx))


def earlier(data: ReportData) -> str:
    if not data.history_known:
        return ""
    return section("earlier", "Earlier reports", render("earlier.html.j2", rows=data.earlier))
