"""A subscription-software (SaaS) customer export with known churn probabilities, for bench_saas.py.

RetainWise's committed model learned from a telco's customers. This simulator makes the other kind of
business the product serves: a B2B software company's account export, 15 columns named as a CRM or
billing system names them, with each account's true probability of leaving in the next quarter, so a
run's ranking can be compared with the best possible one (the *oracle*: ranking by the true
probabilities).

How an account is made (``simulate``):

- **Latent health** ``h`` ~ N(0, 1), a little higher on annual billing. Nothing shows it directly; the
  usage columns are noisy readings of it: seat utilisation (``Active Seats / Seats``), ``Logins (30d)``
  (per active seat), ``Feature Adoption Score`` (0-100), ``Days Since Last Login``, ``Integrations
  Connected``, ``Support Tickets (90d)`` (friction: more when health is low) and ``NPS`` (a 0-10 survey
  answer; 40% of accounts never answered: blank).
- **Account facts**: ``Plan`` (Starter / Pro / Enterprise), ``Billing Cycle`` (Monthly / Annual; bigger
  plans bill annually more often), ``Seats`` purchased (by plan), ``MRR ($)`` (seats x price per seat,
  written "$1,234.00"), ``Months Subscribed``, ``Region`` (NA / EMEA / APAC: no effect on churn) and
  ``Failed Payments`` (card declines, more on monthly billing; unrelated to health: involuntary churn).
- **Churn**: ``logit p = b + 0.8 monthly - 1.3 h + 0.6 failed payments - 0.02 months (to 48)
  + 0.3 Starter``; ``b`` puts the mean near 12%, the outcome is a Bernoulli draw of ``p``.

The signs are those every SaaS churn study reports (low usage, failed payments, monthly billing and new
accounts leave more); the weights are this simulator's own. Nothing here was fitted to, or copied from,
any customer's file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANS = ("Starter", "Pro", "Enterprise")
PRICE = {"Starter": 12.0, "Pro": 35.0, "Enterprise": 60.0}  # per seat and month, monthly billing
COLUMNS = (
    "Account ID",
    "Plan",
    "Billing Cycle",
    "Seats",
    "Active Seats",
    "MRR ($)",
    "Months Subscribed",
    "Logins (30d)",
    "Feature Adoption Score",
    "Support Tickets (90d)",
    "Days Since Last Login",
    "NPS",
    "Failed Payments",
    "Region",
    "Integrations Connected",
)
INTERCEPT = -3.0  # mean churn about 12%


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(export, p, churned)``: ``n`` accounts as the CRM exports them, their true churn probability
    in the next quarter and the outcome drawn from it (0/1)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=n, p=[0.5, 0.35, 0.15])
    big = np.select([plan == "Starter", plan == "Pro"], [0, 1], 2)
    annual = rng.random(n) < np.array([0.25, 0.45, 0.75])[big]
    low = np.array([1, 5, 25])[big]
    high = np.array([10, 60, 400])[big]
    seats = np.round(np.exp(rng.uniform(np.log(low), np.log(high + 1)))).astype(int).clip(1)
    months = np.minimum(rng.geometric(1 / (18 + 12 * annual)), 96)
    h = rng.normal(0, 1, n) + 0.3 * annual

    utilisation = _sigmoid(0.6 + 1.0 * h + rng.normal(0, 0.6, n))
    active = np.minimum(seats, np.round(seats * utilisation)).astype(int)
    logins = rng.poisson(np.maximum(active, 0) * np.exp(1.5 + 0.5 * h))
    adoption = np.clip(np.round(55 + 16 * h + rng.normal(0, 12, n)), 0, 100)
    days_idle = np.round(rng.exponential(4 * np.exp(-0.9 * h))).astype(int)
    tickets = rng.poisson(0.9 * np.exp(-0.5 * h) * (1 + big * 0.5))
    integrations = rng.poisson(np.exp(0.2 + 0.4 * h + 0.5 * big))
    nps = np.clip(np.round(7 + 1.6 * h + rng.normal(0, 1.5, n)), 0, 10)
    nps = np.where(rng.random(n) < 0.4, np.nan, nps)
    failed = rng.poisson(0.1 + 0.3 * (~annual))
    mrr = seats * np.array([PRICE[p] for p in plan]) * np.where(annual, 0.83, 1.0)

    logit = (
        INTERCEPT
        + 0.8 * (~annual)
        - 1.3 * h
        + 0.6 * failed
        - 0.02 * np.minimum(months, 48)
        + 0.3 * (plan == "Starter")
    )
    p = _sigmoid(logit)
    churned = (rng.random(n) < p).astype(int)

    export = pd.DataFrame(
        {
            "Account ID": [f"ACC-{i:06d}" for i in rng.permutation(n) + 100_000],
            "Plan": plan,
            "Billing Cycle": np.where(annual, "Annual", "Monthly"),
            "Seats": seats,
            "Active Seats": active,
            "MRR ($)": [f"${v:,.2f}" for v in mrr],
            "Months Subscribed": months,
            "Logins (30d)": logins,
            "Feature Adoption Score": adoption.astype(int),
            "Support Tickets (90d)": tickets,
            "Days Since Last Login": days_idle,
            "NPS": pd.array(nps, dtype="Int64"),
            "Failed Payments": failed,
            "Region": rng.choice(["NA", "EMEA", "APAC"], size=n, p=[0.5, 0.3, 0.2]),
            "Integrations Connected": integrations,
        }
    )
    assert tuple(export.columns) == COLUMNS
    return export, p, churned
