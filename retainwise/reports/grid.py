"""The customer browser (Voila, JupyterLab): every customer, a page of rows at a time, sent from the kernel.

Sort by chance of leaving or revenue at risk, filter by tier and segment, search by id; each row is a
button, and clicking it opens that customer's detail. Only :data:`PAGE_ROWS` rows are ever in the
browser (server-side paging), so 10,000 customers cost what 25 do.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from retainwise.reports import segments
from retainwise.reports.data import has_revenue
from retainwise.reports.render import money, pct

PAGE_ROWS = 25
TIERS = ("All", "HIGH", "MEDIUM", "LOW")


def filtered(
    results: pd.DataFrame,
    segs: pd.DataFrame,
    *,
    sort: str = "probability",
    tier: str = "All",
    segment: tuple[str, str] | None = None,
    search: str = "",
) -> pd.DataFrame:
    """The customers matching the controls, in the chosen order."""
    frame = results
    if tier and tier != "All":
        frame = frame[frame["churn_risk"] == tier]
    if segment is not None and segment[0] in segs.columns:
        ids = segs.index[segs[segment[0]] == segment[1]]
        frame = frame[frame["customer_id"].isin(ids)]
    if search.strip():
        frame = frame[frame["customer_id"].astype(str).str.contains(search.strip(), case=False, regex=False)]
    key = (
        "revenue_at_risk" if sort == "revenue" and "revenue_at_risk" in frame.columns else "churn_probability"
    )
    return frame.sort_values(key, ascending=False, kind="stable")


def row_text(r, revenue: bool = True) -> str:
    """One row of the browser as the button says it (``revenue``: with its revenue at risk a month, for a run
    with a money column)."""
    action = getattr(r, "recommended_action", "") or "—"
    per_month = f"{money(getattr(r, 'revenue_at_risk', None))}/mo  ·  " if revenue else ""
    return (
        f"{r.customer_id}  ·  {pct(r.churn_probability)}  ·  {r.churn_risk.title()}  ·  {per_month}{action}"
    )


class Browser:
    """The customer browser widget; ``on_select(customer_id or None, search)`` follows clicks and searches.

    It offers only what the run has: the revenue sort and figures with a money column, the segment filter
    with a field segments are made from."""

    def __init__(
        self, results: pd.DataFrame, segs: pd.DataFrame, on_select: Callable[[str | None, str], None]
    ):
        import ipywidgets as w
        from ipywidgets.widgets.widget_description import DescriptionStyle

        self.results, self.segs, self.on_select, self.page = results, segs, on_select, 0
        self.revenue = has_revenue(results)
        # one layout and one style of each kind, shared: every model is one more the page must create and render
        self._plain, self._row_layout = w.Layout(), w.Layout(width="100%")
        plain = self._plain
        self._row_style, described = w.ButtonStyle(), DescriptionStyle()
        sorts = [("Chance of leaving", "probability"), ("Revenue at risk", "revenue")][
            : 2 if self.revenue else 1
        ]
        self.sort = w.Dropdown(
            options=sorts, value="probability", description="Sort by", layout=plain, style=described
        )
        self.tier = w.ToggleButtons(
            options=[(t.title(), t) for t in TIERS], value="All", description="Risk", layout=plain
        )
        # index, not value: "All segments" is the option whose value is None, and value=None selects no option
        self.segment = w.Dropdown(
            options=segments.options(segs), index=0, description="Segment", layout=plain, style=described
        )
        self.search = w.Text(
            placeholder="customer id", description="Search", continuous_update=False, layout=plain
        )
        self.prev, self.next = (
            w.Button(description=d, layout=plain, style=self._row_style) for d in ("‹ Previous", "Next ›")
        )
        self.status = w.HTML(layout=plain)
        self.rows = w.VBox(layout=self._row_layout)
        self.rows.add_class("rw-rows")
        for control in (self.sort, self.tier, self.segment, self.search):
            control.observe(self._filters_changed, names="value")
        self.prev.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(+1))
        self._wrap = w.Layout(flex_flow="row wrap")
        self.frame = results
        self.refresh()

    @property
    def widget(self):
        import ipywidgets as w

        shown = [self.sort] if len(self.sort.options) > 1 else []  # one way to sort needs no choice
        shown += [self.segment] if len(self.segs.columns) else []
        filters = w.HBox([*shown, self.search], layout=self._wrap)
        pager = w.HBox([self.prev, self.next, self.status], layout=self._wrap)
        box = w.VBox([filters, self.tier, self.rows, pager], layout=self._plain)
        box.add_class("rw-browser")
        return box

    def _filters_changed(self, change=None) -> None:
        self.page = 0
        self.refresh()
        if len(self.frame):
            self.on_select(str(self.frame["customer_id"].iloc[0]), self.search.value)
        else:
            self.on_select(None, self.search.value)

    def _turn(self, step: int) -> None:
        last = max(0, (len(self.frame) - 1) // PAGE_ROWS)
        self.page = min(max(0, self.page + step), last)
        self.refresh()

    def refresh(self) -> None:
        import ipywidgets as w

        self.frame = filtered(
            self.results,
            self.segs,
            sort=self.sort.value,
            tier=self.tier.value,
            segment=self.segment.value,
            search=self.search.value,
        )
        start = self.page * PAGE_ROWS
        shown = self.frame.iloc[start : start + PAGE_ROWS]
        buttons = []
        for r in shown.itertuples(index=False):
            b = w.Button(
                description=row_text(r, self.revenue),
                tooltip=str(r.customer_id),
                layout=self._row_layout,
                style=self._row_style,
            )
            b.add_class("rw-row")
            b.add_class(f"rw-row-{r.churn_risk}")
            b.on_click(lambda _, cid=str(r.customer_id): self.on_select(cid, self.search.value))
            buttons.append(b)
        self.rows.children = buttons
        total = len(self.frame)
        self.status.value = (
            f'<span class="rw-note rw-count">Customers {start + 1:,}–{start + len(shown):,} '
            f"of {total:,}</span>"
            if total
            else '<span class="rw-note rw-count">No customers match.</span>'
        )
        self.prev.disabled = self.page == 0
        self.next.disabled = start + PAGE_ROWS >= total
