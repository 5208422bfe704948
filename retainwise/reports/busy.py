"""What a visitor gets past the report kernels' caps: the run's static report at once, with a note.

Decision: the static report is the ``report.html`` the run rendered (``execution/static_report.py``), the
same sections as the interactive page (headline to earlier reports, the customers most at risk as a
table, the top customer's detail) without the customer browser and what-if. The note says why and what to
do; it carries no user text. Status 200: the visitor gets the report, only not its interactive view.
"""

from __future__ import annotations

import re

from retainwise.reports.ledger import LINK_BUSY
from retainwise.reports.render import render

NOTES = {
    LINK_BUSY: (
        "This link already has as many interactive pages open as it may, so here is the report as it was "
        "made (everything but the customer browser and what-if). Close one of the other pages, then reload "
        "this one for the interactive view."
    ),
}
BUSY_NOTE = (
    "Many people are looking at reports at this moment, so here is the report as it was made (everything "
    "but the customer browser and what-if). Reload this page in a minute for the interactive view."
)
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def note_html(reason: str) -> str:
    return render("busy.html.j2", reason=reason, text=NOTES.get(reason, BUSY_NOTE))


def with_note(report_html: str | None, reason: str) -> str:
    """``report_html`` with the busy note at the top of its body; without a static report, the note alone
    on a page of its own."""
    note = note_html(reason)
    if report_html:
        found = _BODY.search(report_html)
        if found:
            return report_html[: found.end()] + note + report_html[found.end() :]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>RetainWise: report busy</title>'
        f'</head><body style="background:#f6f7f9;margin:0">{note}</body></html>'
    )


def page(settings, run_id: str, reason: str) -> str:
    """The static report of ``run_id`` with the note for ``reason``. Raises StorageError when the run's
    outputs cannot be read."""
    from retainwise.reports.run_cache import static_report

    return with_note(static_report(settings, run_id), reason)
