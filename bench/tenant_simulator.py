"""Subscription accounts with known churn probabilities, half of what matters outside our schema: for bench_tenant.py.

A tenant model is worth having when a business's churn depends on things the committed (telco) model
never saw. This simulator makes such a business: a B2B software company's CRM export, 16 columns headed
as a CRM names them, of which the column mapping recognises some (``Account ID``, ``Plan``, ``Billing
Cycle``, ``Seats``, ``Active Seats``, ``MRR ($)``, ``Months Subscribed``, ``Support Tickets (90d)``,
``Days Since Last Login``, ``NPS``) and leaves the rest as the tenant's own columns:

- ``Region Code`` (``NA-E``, ``NA-W``, ``EMEA-N``, ``EMEA-S``, ``APAC``, ``LATAM``): LATAM and APAC leave
  a little more;
- ``Onboarding Completed`` (Yes / No): accounts that finished onboarding stay;
- ``Weekly Active Days`` (0-7): the strongest single signal, below 2 days especially;
- ``Last Invoice Status`` (Paid / Pending / Overdue / Failed): overdue and failed invoices leave;
- ``Account Manager`` (one of 12 names): no effect;
- ``Signup Date`` (ISO dates: a date, left out by the model);
- ``Notes`` (a sentence of free text: left out).

With ``leaky=True`` the history also carries ``Cancellation Date``, filled only for accounts that left:
the kind of column an export made after the fact holds, which a model must not learn from.

**Churn** (next quarter): ``logit p = b + 0.9 monthly - 0.03 min(months, 36) - 0.45 weekly active days
+ 0.9 (weekly active days < 2) - 0.8 onboarding + 0.9 overdue + 1.3 failed + 0.3 pending
+ 0.35 (tickets - 1, from 0) + 0.2 (5 - NPS) when answered + 0.4 APAC/LATAM + 0.02 (days since login)``,
``b`` putting the mean near 15%. Every term is a column of the export, so the true probability is a
function of what a model can see: the *oracle* (ranking by ``p``) is the best any model could do, and
the gap to it is what a learner leaves on the table. The weights are this simulator's own; nothing was
fitted to or copied from any customer's file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANS = ("Starter", "Pro", "Enterprise")
PRICE = {"Starter": 12.0, "Pro": 35.0, "Enterprise": 60.0}
REGIONS = ("NA-E", "NA-W", "EMEA-N", "EMEA-S", "APAC", "LATAM")
MANAGERS = (
    "Ana Silva",
    "Ben Okafor",
    "Chen Wei",
    "Dana Kowalski",
    "Eli Cohen",
    "Fatima Zahra",
    "Gus Berg",
    "Hana Sato",
    "Ivan Petrov",
    "Jo Smith",
    "Kofi Mensah",
    "Lena Novak",
)
INVOICE = ("Paid", "Pending", "Overdue", "Failed")
INTERCEPT = -0.9
_NOTES = (
    "Asked about SSO pricing at the last QBR",
    "Champion moved teams, new contact pending intro",
    "Happy with the reporting module so far",
    "Requested a discount for the renewal next year",
    "Evaluating a competitor for the analytics piece",
    "Expanding to two more departments soon",
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(monthly, months, active_days, onboarded, invoice, tickets, nps, region, idle):
    nps_term = np.where(np.isnan(nps), 0.0, 0.2 * (5 - np.nan_to_num(nps)))
    return (
        INTERCEPT
        + 0.9 * monthly
        - 0.03 * np.minimum(months, 36)
        - 0.45 * active_days
        + 0.9 * (active_days < 2)
        - 0.8 * onboarded
        + 0.9 * (invoice == "Overdue")
        + 1.3 * (invoice == "Failed")
        + 0.3 * (invoice == "Pending")
        + 0.35 * np.maximum(tickets - 1, 0)
        + nps_term
        + 0.4 * np.isin(region, ("APAC", "LATAM"))
        + 0.02 * np.minimum(idle, 60)
    )


def simulate(
    n: int = 5000, seed: int = 0, leaky: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(export, p, churned)``: ``n`` accounts as the CRM exports them (all cells text, as read from a
    CSV), each one's true churn probability and the outcome drawn from it (0/1). ``leaky``: add
    ``Cancellation Date``, filled only for the accounts that left."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=n, p=[0.5, 0.35, 0.15])
    big = np.select([plan == "Starter", plan == "Pro"], [0, 1], 2)
    annual = rng.random(n) < np.array([0.3, 0.5, 0.75])[big]
    seats = (
        np.round(np.exp(rng.uniform(np.log(np.array([1, 5, 25])[big]), np.log(np.array([10, 60, 400])[big]))))
        .astype(int)
        .clip(1)
    )
    months = np.minimum(rng.geometric(1 / (16 + 12 * annual)), 96)
    engaged = rng.normal(0, 1, n)
    active_days = np.clip(np.round(3.5 + 1.6 * engaged + rng.normal(0, 1.2, n)), 0, 7).astype(int)
    used = np.minimum(seats, np.round(seats * _sigmoid(0.5 + 0.8 * engaged + rng.normal(0, 0.8, n)))).astype(
        int
    )
    onboarded = rng.random(n) < _sigmoid(0.8 + 0.6 * engaged)
    invoice = rng.choice(INVOICE, size=n, p=[0.78, 0.08, 0.09, 0.05])
    tickets = rng.poisson(0.8 + 0.4 * big, n)
    nps = np.clip(np.round(7 + 1.2 * engaged + rng.normal(0, 1.6, n)), 0, 10)
    nps = np.where(rng.random(n) < 0.4, np.nan, nps)
    region = rng.choice(REGIONS, size=n, p=[0.25, 0.2, 0.15, 0.15, 0.15, 0.1])
    idle = np.round(rng.exponential(5 * np.exp(-0.6 * engaged))).astype(int)
    mrr = seats * np.array([PRICE[p] for p in plan]) * np.where(annual, 0.83, 1.0)

    p = _sigmoid(_logit(~annual, months, active_days, onboarded, invoice, tickets, nps, region, idle))
    churned = (rng.random(n) < p).astype(int)
    signup = pd.Timestamp("2025-06-30") - pd.to_timedelta(months * 30 + rng.integers(0, 30, n), unit="D")
    export = pd.DataFrame(
        {
            "Account ID": [f"ACC-{i:06d}" for i in rng.permutation(n) + 100_000 + 1_000_000 * seed],
            "Plan": plan,
            "Billing Cycle": np.where(annual, "Annual", "Monthly"),
            "Seats": seats.astype(str),
            "Active Seats": used.astype(str),
            "MRR ($)": [f"${v:,.2f}" for v in mrr],
            "Months Subscribed": months.astype(str),
            "Region Code": region,
            "Onboarding Completed": np.where(onboarded, "Yes", "No"),
            "Weekly Active Days": active_days.astype(str),
            "Last Invoice Status": invoice,
            "Support Tickets (90d)": tickets.astype(str),
            "Days Since Last Login": idle.astype(str),
            "NPS": [("" if np.isnan(v) else str(int(v))) for v in nps],
            "Account Manager": rng.choice(MANAGERS, size=n),
            "Signup Date": signup.strftime("%Y-%m-%d"),
            "Notes": [f"{rng.choice(_NOTES)} (call {i % 97 + 1})" for i in range(n)],
        }
    )
    if leaky:
        cancelled = pd.Timestamp("2025-07-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
        export["Cancellation Date"] = np.where(churned == 1, cancelled.strftime("%Y-%m-%d"), "")
    return export, p, churned
