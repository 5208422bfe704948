"""One chunk's rows of results.csv: scores, factor lists, sentence, action, model version.

Customers the model served are explained by its SHAP values; customers the rules served (an A/B
split, or a file outside the model's domain) by the rules' own impacts, so each row's words match
the score it got. The SHAP values of both, on one set of columns, are what the file's drivers add up.
"""

from __future__ import annotations

import pandas as pd

from retainwise.science import explain, factors, rules


def chunk_results(
    rows: pd.DataFrame,
    scores: pd.DataFrame,
    expl: explain.Explanations,
    tables: factors.FactorTables,
    scales: dict,
    version: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(results, values)``: every results.csv column of ``rows``, and what drove each score (rows x
    the model's columns then the rules' own, log-odds) from its model's grouped SHAP values ``expl``.

    ``tables``: the run's factor tables; ``scales``: the file's rules scales (rules.ScaleFinder);
    ``version``: the model's, written on every row.
    """
    p, tiers = scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy()
    text = factors.factor_columns(rows, expl, p, tiers, with_actions=True, tables=tables)
    by_rules = (scores["experiment_group"] == "rules").to_numpy()
    # what drove each customer's score, for the file's drivers: the model's columns, then the rules' own
    columns = list(dict.fromkeys([*expl.values.columns, *rules.COLUMNS]))
    values = expl.values.reindex(columns=columns, fill_value=0.0).astype("float64")
    if by_rules.any():  # customers the rules served are explained by the rules
        some = rows.loc[by_rules]
        ruled = explain.rules_explanations(some, scales)
        text.loc[by_rules] = factors.factor_columns(
            some, ruled, p[by_rules], tiers[by_rules], with_actions=True, tables=tables
        ).to_numpy()
        values.loc[by_rules] = ruled.values.reindex(columns=columns, fill_value=0.0).to_numpy()
    results = pd.concat([scores, text], axis=1)
    results["model_version"] = version
    if "monthly_charges" in rows.columns:
        results["monthly_charges"] = rows["monthly_charges"]
    return results, values
