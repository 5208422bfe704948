"""Write the realistic export fixtures in tests/data/ (run once; the outputs are committed).

Each export holds real customers of retainwise/data/telco_churn_train.csv in
the dialect of some CRM, billing system or spreadsheet. Next to it, its *clean
twin* under twins/ holds the same customers and the same information in the
training file's own format, so tests can check that both score the same.
``expected_mappings.json`` records, by hand, what each export's columns mean
(source header -> canonical name), plus how the file must be read. Columns the
training file has no counterpart for but the schema does (a CRM's ``Region``)
are listed in a fixture's ``mapped``. Entries of fixtures this script does not
make (``saas_accounts``: a SaaS export and its canonical twin, written by hand)
are kept as they are.

Usage: python tests/data/make_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TRAINING = ROOT / "retainwise" / "data" / "telco_churn_train.csv"
EXPORTS, TWINS = HERE / "exports", HERE / "twins"
PER_FILE = 50

YN = {"Yes": "Yes", "No": "No"}
CONTRACT_M2M = {"Month-to-month": "M2M", "One year": "1 yr", "Two year": "2 yr"}
CONTRACT_SAAS = {"Month-to-month": "monthly", "One year": "annual", "Two year": "biennial"}
CONTRACT_TERM = {"Month-to-month": "1 month", "One year": "12 months", "Two year": "24 months"}
PAY_SHORT = {
    "Bank transfer (automatic)": "ACH",
    "Credit card (automatic)": "Card",
    "Mailed check": "Check",
    "Electronic check": "E-Check",
}
NAMES = [
    "José Muñoz",
    "Françoise Lefèvre",
    "Jürgen Weiß",
    "Zoë Ångström",
    "Søren Kierkegård",
    "Ana São João",
    "Chloé Dubois",
    "Łukasz Nowak",
    "Mónica Ibáñez",
    "Björn Åkesson",
    "Renée Côté",
    "Nuño Peña",
]
NAMES_CP1252 = [n for n in NAMES if n.encode("cp1252", errors="ignore").decode("cp1252") == n]
CITIES = ["Zürich", "Besançon", "São Paulo", "Malmö", "Kraków, PL", "Québec", "Córdoba", "Genève"]


def money(value: str, fmt) -> str:
    return "" if not value.strip() else fmt(float(value))


def us(v: float) -> str:
    return f"${v:,.2f}"


def eu(v: float) -> str:
    whole, cents = f"{v:,.2f}".split(".")
    return f"{whole.replace(',', '.')},{cents} €"


def flag01_to_yn(value: str) -> str:
    return {"1": "Yes", "0": "No"}[value]


def build(clean: pd.DataFrame, spec: list[tuple[str, str, object]]) -> pd.DataFrame:
    """Export columns from ``spec``: (export header, training column or None, value function or constant)."""
    out = {}
    for header, col, fn in spec:
        if col is None:
            out[header] = fn(clean) if callable(fn) else fn
        else:
            out[header] = (
                clean[col].map(fn)
                if callable(fn)
                else (clean[col].map(fn) if isinstance(fn, dict) else clean[col])
            )
    return pd.DataFrame(out)


SERVICES = [
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
]
CANON = {
    "customerID": "customer_id",
    "gender": "gender",
    "SeniorCitizen": "senior_citizen",
    "Partner": "partner",
    "Dependents": "dependents",
    "tenure": "tenure_months",
    "PhoneService": "phone_service",
    "MultipleLines": "multiple_lines",
    "InternetService": "internet_service",
    "OnlineSecurity": "online_security",
    "OnlineBackup": "online_backup",
    "DeviceProtection": "device_protection",
    "TechSupport": "tech_support",
    "StreamingTV": "streaming_tv",
    "StreamingMovies": "streaming_movies",
    "Contract": "contract",
    "PaperlessBilling": "paperless_billing",
    "PaymentMethod": "payment_method",
    "MonthlyCharges": "monthly_charges",
    "TotalCharges": "total_charges",
    "Churn": "churned",
}


def spaced(col: str) -> str:
    import re

    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", col).replace("customer ID", "Customer ID")


def fixtures(data: pd.DataFrame, rng: np.random.Generator) -> dict[str, dict]:
    order = rng.permutation(len(data))
    blanks = data.index[data["TotalCharges"].str.strip() == ""].tolist()
    chunks = iter(np.array_split(order[: 20 * PER_FILE], 20))

    def take(with_blank_total: bool = False) -> pd.DataFrame:
        idx = list(next(chunks))
        if with_blank_total:
            idx = idx[:-2] + blanks[:2]
        return data.loc[idx].reset_index(drop=True).copy()

    out: dict[str, dict] = {}

    # 1. CRM (HubSpot/Salesforce report style): human headers, currency strings, Yes/No seniors
    clean = take(with_blank_total=True)
    spec = [
        ("Account ID", "customerID", None),
        ("Account Owner", None, lambda c: ["Dana Reyes", "Lee Park"] * 25),
        ("Gender", "gender", None),
        ("Senior Citizen", "SeniorCitizen", flag01_to_yn),
        ("Has Partner", "Partner", None),
        ("Has Dependents", "Dependents", None),
        ("Customer Tenure (months)", "tenure", None),
    ]
    spec += [(spaced(c), c, None) for c in SERVICES]
    spec += [
        ("Contract Term", "Contract", None),
        ("Paperless Billing", "PaperlessBilling", None),
        ("Payment Method", "PaymentMethod", None),
        ("Monthly Charges ($)", "MonthlyCharges", lambda v: money(v, us)),
        ("Total Charges ($)", "TotalCharges", lambda v: money(v, us)),
        ("Region", None, lambda c: ["EMEA", "NA", "APAC", "LATAM", "NA"] * 10),
    ]
    out["crm_currency"] = dict(
        file="crm_currency.csv",
        mapped={"Region": "region"},
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
    )

    # 2. European spreadsheet: semicolons, decimal commas with thousands points and €, BOM, CRLF
    clean = take()
    spec = [
        ("Customer No.", "customerID", None),
        ("Gender", "gender", None),
        ("Senior Citizen", "SeniorCitizen", None),
        ("Partner", "Partner", None),
        ("Dependents", "Dependents", None),
        ("Tenure (Months)", "tenure", None),
    ]
    spec += [(spaced(c), c, None) for c in SERVICES]
    spec += [
        ("Contract", "Contract", None),
        ("Paperless Billing", "PaperlessBilling", None),
        ("Payment Method", "PaymentMethod", None),
        ("Monthly Fee (€)", "MonthlyCharges", lambda v: money(v, eu)),
        ("Total Spend (€)", "TotalCharges", lambda v: money(v, eu)),
    ]
    out["european_semicolon"] = dict(
        file="european_semicolon.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8-sig", sep=";", lineterminator="\r\n"),
        encoding="utf-8-sig",
        delimiter=";",
    )

    # 3. Minimal SaaS billing export: id, months active, MRR, total revenue, billing cycle
    clean = take(with_blank_total=True)
    spec = [
        ("account_id", "customerID", None),
        ("months_active", "tenure", None),
        ("mrr", "MonthlyCharges", None),
        ("total_revenue", "TotalCharges", None),
        ("billing_cycle", "Contract", CONTRACT_SAAS),
    ]
    out["saas_minimal"] = dict(
        file="saas_minimal.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        twin_columns=["customerID", "tenure", "MonthlyCharges", "TotalCharges", "Contract"],
    )

    # 4. Excel workbook: real numbers and booleans in cells, a report title above the header
    clean = take(with_blank_total=True)
    spec = [
        ("Customer ID", "customerID", None),
        ("Gender", "gender", None),
        ("Senior Citizen", "SeniorCitizen", None),
        ("Partner", "Partner", None),
        ("Dependents", "Dependents", None),
        ("Tenure", "tenure", None),
    ]
    spec += [(spaced(c), c, None) for c in SERVICES]
    spec += [
        ("Contract", "Contract", None),
        ("Paperless Billing", "PaperlessBilling", None),
        ("Payment Method", "PaymentMethod", None),
        ("Monthly Charges", "MonthlyCharges", None),
        ("Total Charges", "TotalCharges", None),
    ]
    out["excel_workbook"] = dict(
        file="excel_workbook.xlsx",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write="xlsx",
        encoding="xlsx",
        delimiter=None,
        format="xlsx",
    )

    # 5. Excel "Unicode text": UTF-16 LE with BOM, tab separated, CRLF
    clean = take()
    spec = [(spaced(c) if c != "tenure" else "Tenure", c, None) for c in CANON if c != "Churn"]
    out["unicode_text_utf16"] = dict(
        file="unicode_text_utf16.txt",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-16", sep="\t", lineterminator="\r\n"),
        encoding="utf-16",
        delimiter="\t",
    )

    # 6. Windows-1252 (cp1252) with accented names, cities, and a header with an accent
    clean = take()
    spec = [
        ("Customer Name", None, lambda c: [NAMES_CP1252[i % len(NAMES_CP1252)] for i in range(len(c))]),
        ("Customer ID", "customerID", None),
        ("Ville / Città", None, lambda c: [CITIES[i % len(CITIES)] for i in range(len(c))]),
    ]
    spec += [
        (spaced(c) if c != "tenure" else "Tenure", c, None) for c in CANON if c not in ("Churn", "customerID")
    ]
    out["windows_cp1252"] = dict(
        file="windows_cp1252.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="cp1252", sep=","),
        encoding="cp1252",
        delimiter=",",
    )

    # 7. Dirty: junk tokens, padding, case, duplicates, rows without id, formula payloads, quoted newlines,
    #    trailing empty rows
    clean = take(with_blank_total=True)
    clean.loc[0, "customerID"] = '=HYPERLINK("http://evil.example","click")'
    clean.loc[1, "customerID"] = "+1-555-0100"
    clean.loc[2, "customerID"] = "@SUM(A1:A9)"
    clean.loc[3, "customerID"] = "-2+3"
    frame = build(clean, [(c, c, None) for c in clean.columns if c != "Churn"])
    frame["Notes"] = ""
    frame.loc[5, "Notes"] = "Called twice,\nwants a discount"
    frame.loc[6, "Notes"] = "=cmd|' /C calc'!A0"
    frame.loc[7, "Notes"] = 'said "cancel"; manager aware'
    junk = ["N/A", "-", "unknown", "", "#N/A", "null", "  "]
    blanked = [
        (8, "tenure"),
        (9, "Contract"),
        (10, "PaymentMethod"),
        (11, "MonthlyCharges"),
        (12, "TotalCharges"),
        (13, "InternetService"),
        (14, "Partner"),
        (15, "gender"),
        (16, "OnlineSecurity"),
    ]
    for k, (i, col) in enumerate(blanked):
        frame.loc[i, col] = junk[k % len(junk)]
        clean.loc[i, col] = ""
    frame.loc[17, "Partner"] = "sometimes"  # not understood -> missing, reported
    clean.loc[17, "Partner"] = ""
    frame.loc[18, "Contract"] = f"  {frame.loc[18, 'Contract'].upper()} "
    frame.loc[19, "PaperlessBilling"] = frame.loc[19, "PaperlessBilling"].upper()
    frame.loc[20, "Dependents"] = frame.loc[20, "Dependents"].lower()
    frame.loc[21, "MonthlyCharges"] = f"  {frame.loc[21, 'MonthlyCharges']} "
    no_id = frame.iloc[22:24].copy()
    no_id["customerID"] = ["", "N/A"]
    frame = pd.concat(
        [frame, frame.iloc[[25, 26, 27]], no_id], ignore_index=True
    )  # 3 duplicates, 2 without id
    out["dirty"] = dict(
        file="dirty.csv",
        clean=clean,
        frame=frame,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        trailing="\n,,,,,,,,,,,,,,,,,,,,,\n\n,,,\n\n",
        spec=[(c, c, None) for c in clean.columns if c != "Churn"] + [("Notes", None, None)],
        rows_in=55,
        rows_rejected=5,
        issues=["duplicate_id", "missing_id", "not_understood"],
    )

    # 8. Pipe-delimited, everything quoted, names with commas and pipes inside quotes
    clean = take()
    spec = [
        ("CUSTOMER_ID", "customerID", None),
        ("COMPANY", None, lambda c: [f"Smith, Jones & Co|{i}" for i in range(len(c))]),
        ("GENDER", "gender", None),
        ("SENIOR_CITIZEN", "SeniorCitizen", None),
        ("PARTNER", "Partner", None),
        ("DEPENDENTS", "Dependents", None),
        ("TENURE", "tenure", None),
    ]
    spec += [(spaced(c).upper().replace(" ", "_"), c, None) for c in SERVICES]
    spec += [
        ("CONTRACT_TYPE", "Contract", None),
        ("PAPERLESS_BILLING", "PaperlessBilling", None),
        ("PAYMENT_METHOD", "PaymentMethod", None),
        ("MONTHLY_CHARGES", "MonthlyCharges", None),
        ("TOTAL_CHARGES", "TotalCharges", None),
    ]
    out["pipe_quoted"] = dict(
        file="pipe_quoted.txt",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep="|", quoting=1),
        encoding="utf-8",
        delimiter="|",
    )

    # 9. Billing system: account numbers, tenure in days, plan terms in months, ACH/Card/Check, Y/N
    clean = take(with_blank_total=True)
    spec = [
        ("acct_no", "customerID", None),
        ("customer_age (days)", "tenure", lambda v: str(round(int(v) * 30.4375))),
        ("plan_term", "Contract", CONTRACT_TERM),
        ("mrr_usd", "MonthlyCharges", None),
        ("lifetime_spend", "TotalCharges", None),
        ("autopay_method", "PaymentMethod", PAY_SHORT),
        ("e_invoice", "PaperlessBilling", {"Yes": "Y", "No": "N"}),
        ("invoice_count", None, lambda c: [str(i % 13) for i in range(len(c))]),
    ]
    out["billing_days"] = dict(
        file="billing_days.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        units={"customer_age (days)": "days"},
        twin_columns=[
            "customerID",
            "tenure",
            "Contract",
            "MonthlyCharges",
            "TotalCharges",
            "PaymentMethod",
            "PaperlessBilling",
        ],
    )

    # 10. Tab separated, tenure in years, TRUE/FALSE flags, Y/N seniors, short contract terms
    clean = take()
    tf = {"Yes": "TRUE", "No": "FALSE"}
    spec = [
        ("Client ID", "customerID", None),
        ("Sex", "gender", {"Female": "F", "Male": "M"}),
        ("Senior", "SeniorCitizen", {"1": "Y", "0": "N"}),
        ("Married", "Partner", tf),
        ("Has Children", "Dependents", tf),
        ("Years as customer", "tenure", lambda v: f"{int(v) / 12:.4f}"),
        ("Phone", "PhoneService", tf),
        ("Internet", "InternetService", None),
        ("Commitment", "Contract", CONTRACT_M2M),
        ("Paperless", "PaperlessBilling", tf),
        ("Monthly Bill", "MonthlyCharges", None),
        ("Total Billed", "TotalCharges", None),
    ]
    out["tab_years"] = dict(
        file="tab_years.tsv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep="\t"),
        encoding="utf-8",
        delimiter="\t",
        units={"Years as customer": "years"},
        twin_columns=[
            "customerID",
            "gender",
            "SeniorCitizen",
            "Partner",
            "Dependents",
            "tenure",
            "PhoneService",
            "InternetService",
            "Contract",
            "PaperlessBilling",
            "MonthlyCharges",
            "TotalCharges",
        ],
    )

    # 11. Hand-typed headers with typos (fuzzy matching)
    clean = take()
    typos = {
        "customerID": "Custmer ID",
        "gender": "Gendr",
        "SeniorCitizen": "Senior Citizn",
        "Partner": "Partnr",
        "Dependents": "Dependants",
        "tenure": "Tenur",
        "PhoneService": "Phone Servce",
        "MultipleLines": "Multiple Line",
        "InternetService": "Internet Servise",
        "OnlineSecurity": "Online Securty",
        "OnlineBackup": "Online Backups",
        "DeviceProtection": "Device Protecton",
        "TechSupport": "Tech Suport",
        "StreamingTV": "Streamng TV",
        "StreamingMovies": "Streaming Moveis",
        "Contract": "Contarct",
        "PaperlessBilling": "Paperless Biling",
        "PaymentMethod": "Payment Methd",
        "MonthlyCharges": "Montly Charges",
        "TotalCharges": "Totl Charges",
    }
    spec = [(typos[c], c, None) for c in typos]
    out["typos_fuzzy"] = dict(
        file="typos_fuzzy.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
    )

    # 12. Headers that say little: the values decide (Package, Pay by, Line); a Plan of Pro/Basic is the plan
    clean = take()
    spec = [
        ("ID", "customerID", None),
        ("Plan", None, lambda c: ["Pro", "Basic", "Enterprise", "Basic"] * 12 + ["Pro"] * 2),
        ("Package", "Contract", None),
        ("Pay by", "PaymentMethod", None),
        ("Line", "InternetService", None),
        ("Months", "tenure", None),
        ("Monthly Charges", "MonthlyCharges", None),
        ("Total Charges", "TotalCharges", None),
    ]
    out["value_evidence"] = dict(
        file="value_evidence.csv",
        mapped={"Plan": "plan"},
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        twin_columns=[
            "customerID",
            "Contract",
            "PaymentMethod",
            "InternetService",
            "tenure",
            "MonthlyCharges",
            "TotalCharges",
        ],
    )

    # 13. CRM report with title lines above the header, and the outcome column
    clean = take()
    spec = [(spaced(c), c, None) for c in CANON]
    out["report_with_title"] = dict(
        file="report_with_title.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        preamble="Customer churn report\nGenerated 2024-05-01 by CRM,,\n\n",
        twin_columns=list(CANON),
    )

    # 14. Salesforce API names: camelCase and __c custom fields
    clean = take()
    spec = [
        ("AccountId", "customerID", None),
        ("Gender__c", "gender", None),
        ("IsSenior__c", "SeniorCitizen", {"1": "true", "0": "false"}),
        ("HasPartner__c", "Partner", None),
        ("HasDependents__c", "Dependents", None),
        ("TenureMonths__c", "tenure", None),
        ("ContractType__c", "Contract", None),
        ("PaperlessBilling__c", "PaperlessBilling", None),
        ("PaymentMethod__c", "PaymentMethod", None),
        ("MonthlyRecurringRevenue__c", "MonthlyCharges", None),
        ("LifetimeValue__c", "TotalCharges", None),
        ("Churned__c", "Churn", None),
        ("OwnerId", None, lambda c: ["0055e000001AbcD"] * len(c)),
    ]
    out["salesforce_api"] = dict(
        file="salesforce_api.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="utf-8", sep=","),
        encoding="utf-8",
        delimiter=",",
        twin_columns=[
            "customerID",
            "gender",
            "SeniorCitizen",
            "Partner",
            "Dependents",
            "tenure",
            "Contract",
            "PaperlessBilling",
            "PaymentMethod",
            "MonthlyCharges",
            "TotalCharges",
            "Churn",
        ],
    )

    # 15. UK accounting export in Latin-1: pounds, thousands separators, currency code, semicolons
    clean = take(with_blank_total=True)
    spec = [
        ("Customer Ref", "customerID", None),
        ("Tenure (months)", "tenure", None),
        ("Contract Length", "Contract", None),
        ("Monthly Payment", "MonthlyCharges", lambda v: money(v, lambda x: f"£{x:,.2f}")),
        ("Revenue to date", "TotalCharges", lambda v: money(v, lambda x: f"{x:,.2f} GBP")),
        ("Payment Type", "PaymentMethod", None),
        ("Internet Type", "InternetService", None),
    ]
    out["latin1_pounds"] = dict(
        file="latin1_pounds.csv",
        clean=clean,
        frame=build(clean, spec),
        spec=spec,
        write=dict(encoding="latin-1", sep=";"),
        encoding="cp1252",
        delimiter=";",
        twin_columns=[
            "customerID",
            "tenure",
            "Contract",
            "MonthlyCharges",
            "TotalCharges",
            "PaymentMethod",
            "InternetService",
        ],
    )
    return out


def write(name: str, fx: dict) -> dict:
    path = EXPORTS / fx["file"]
    frame = fx["frame"]
    if fx["write"] == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Customers"
        sheet.append(["Customer export - Q2"])
        sheet.append([])
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            cells = []
            for header, value in zip(frame.columns, row, strict=True):
                if header in ("Tenure", "Senior Citizen"):
                    cells.append(int(value))
                elif header in ("Monthly Charges", "Total Charges"):
                    cells.append(float(value) if value.strip() else None)
                elif value in ("Yes", "No") and header in ("Partner", "Dependents", "Paperless Billing"):
                    cells.append(value == "Yes")
                else:
                    cells.append(value)
            sheet.append(cells)
        book.save(path)
    else:
        opts = dict(fx["write"])
        encoding = opts.pop("encoding")
        text = frame.to_csv(index=False, lineterminator=opts.pop("lineterminator", "\n"), **opts)
        text = fx.get("preamble", "") + text + fx.get("trailing", "")
        path.write_bytes(text.encode(encoding))
    twin_cols = fx.get("twin_columns", [c for c in fx["clean"].columns if c != "Churn"])
    twin = fx["clean"][twin_cols]
    twin.to_csv(TWINS / f"{name}.csv", index=False)
    mapping = {h: CANON[c] if c is not None else fx.get("mapped", {}).get(h) for h, c, _ in fx["spec"]}
    mapping = {h: target for h, target in mapping.items() if target is not None}
    return {
        "file": f"exports/{fx['file']}",
        "twin": f"twins/{name}.csv",
        "format": fx.get("format", "csv"),
        "encoding": fx["encoding"],
        "delimiter": fx["delimiter"],
        "mapping": mapping,
        "unmapped": [h for h in frame.columns if h not in mapping],
        "units": fx.get("units", {}),
        "rows_in": fx.get("rows_in", len(frame)),
        "rows_rejected": fx.get("rows_rejected", 0),
        "issues": fx.get("issues", []),
    }


def main() -> None:
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False)
    EXPORTS.mkdir(exist_ok=True)
    TWINS.mkdir(exist_ok=True)
    expected = {name: write(name, fx) for name, fx in fixtures(data, np.random.default_rng(20240501)).items()}
    path = HERE / "expected_mappings.json"
    by_hand = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    expected.update({name: entry for name, entry in by_hand.items() if name not in expected})
    (HERE / "expected_mappings.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(expected)} exports to {EXPORTS}")


if __name__ == "__main__":
    main()
