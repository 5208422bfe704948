"""The customer detail in Voila and JupyterLab: the detail HTML plus what-if controls that re-score."""

from __future__ import annotations

from retainwise.reports import detail, whatif
from retainwise.reports.data import ReportData
from retainwise.reports.labels import label
from retainwise.reports.render import render


class DetailWidget:
    """Shows one customer at a time; :meth:`show` switches (None clears it and says nobody matched)."""

    def __init__(self, data: ReportData) -> None:
        import ipywidgets as w
        from ipywidgets.widgets.widget_description import DescriptionStyle
        from ipywidgets.widgets.widget_string import HTMLStyle

        self.data = data
        # one layout and one style of each kind, shared: every model is one more the page must create and render
        self._layout, html_style = w.Layout(), HTMLStyle()
        self._style = DescriptionStyle(description_width="150px")
        self.html = w.HTML(layout=self._layout, style=html_style)
        self.html.add_class("rw-drill-out")
        self.controls = w.VBox(layout=self._layout)
        self.result = w.HTML(layout=self._layout, style=html_style)
        self.result.add_class("rw-whatif-result")
        self.widget = w.VBox([self.html, self.controls, self.result], layout=self._layout)
        self._header = self._nothing = None  # the what-if heading and its "nothing to change", made once

    def show(self, customer_id: str | None, search: str = "") -> None:
        self.result.value = ""
        self.controls.children = []
        if customer_id is None:
            self.html.value = detail.no_match_html(search)
            return
        match = self.data.results[self.data.results["customer_id"] == customer_id]
        if match.empty:
            self.html.value = detail.no_match_html(customer_id)
            return
        row = next(match.head(1).itertuples(index=False))
        self.html.value = detail.detail_html(row)
        self._what_if(row)

    def _what_if(self, row) -> None:
        import ipywidgets as w

        features = self.data.features()
        if features is None or row.customer_id not in features.index:
            return
        if (self.data.summary.get("model") or {}).get("kind") == "tenant":  # re-scoring needs its own model
            self.controls.children = [self._none(whatif.OWN_MODEL)]
            return
        canonical = features.loc[[row.customer_id]]
        fields = whatif.fields(canonical)
        if not fields:  # nothing this file says about the customer can be changed: say so, offer nothing
            self.controls.children = [self._none()]
            return
        if self._header is None:
            self._header = w.HTML(
                '<b class="rw-page">What if…</b> <span class="rw-page rw-note">change one thing '
                "and see the new chance of leaving</span>",
                layout=self._layout,
                style=self.html.style,
            )
        controls = [self._header]
        for field in fields:
            current = canonical[field].iloc[0]
            options = whatif.choices(field)
            values = [v for _, v in options]
            pick = w.Dropdown(
                options=options,
                value=current if current in values else None,
                description=label(field),
                style=self._style,
                layout=self._layout,
            )
            pick.add_class(f"rw-whatif-{field.replace('_', '-')}")
            pick.observe(lambda ch, f=field: self._rescore(row, canonical, f, ch["new"]), names="value")
            controls.append(pick)
        self.controls.children = controls

    def _none(self, text: str = whatif.NONE):
        """What the what-if says when it has nothing to offer (by default: no field a business can change)."""
        import ipywidgets as w

        if self._nothing is None:
            self._nothing = w.HTML(layout=self._layout, style=self.html.style)
            self._nothing.add_class("rw-whatif-none")
        self._nothing.value = render("note.html.j2", text=text)
        return self._nothing

    def _rescore(self, row, canonical, field: str, value) -> None:
        after = whatif.rescore(
            canonical,
            field,
            value,
            group=str(getattr(row, "experiment_group", "ml")),
            before=float(row.churn_probability),
        )
        self.result.value = render(
            "whatif.html.j2",
            text=whatif.sentence(field, value, float(row.churn_probability), after),
            after=after,
        )
