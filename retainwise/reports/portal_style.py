"""The portal's style sheet: one ``<style>`` block, shown once above the portal's widgets (and its refusal page).

Kept apart from the portal's logic (portal.py): data, not behaviour. Narrow screens (< 700 px) get
the mapping and runs tables as stacked rows, each cell labelled by its column.
"""

CSS = """
<style>
.rw-portal { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d2733;
  max-width: 1100px; }
.rw-portal h2 { font-size: 22px; margin: 6px 0 2px; }
.rw-portal h3 { font-size: 16px; margin: 18px 0 6px; }
.rw-note { color: #5b6775; font-size: 13px; }
.rw-upload { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
.rw-upload-status { flex-basis: 100%; font-size: 13px; color: #5b6775; }
.rw-upload-status[data-state="error"] { color: #b42318; font-weight: 600; }
.rw-map-row { display: flex; gap: 10px; align-items: center; padding: 2px 6px; border-radius: 4px;
  flex-wrap: wrap; }
.rw-map-head { font-weight: 600; font-size: 12px; color: #5b6775; }
.rw-map-head span { display: inline-block; width: 200px; }
.rw-low { background: #fff4e0; }
.rw-low .rw-map-conf { color: #9a5b00; font-weight: 600; }
.rw-map-examples { color: #5b6775; font-size: 12px; }
.rw-columns-status.rw-error, .rw-failed-reason { color: #b42318; }
table.rw-table { border-collapse: collapse; font-size: 13px; width: 100%; }
table.rw-table th { text-align: left; background: #f3f6fa; padding: 6px 8px; }
table.rw-table td { padding: 5px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
.rw-status-COMPLETED { color: #1b7a3d; font-weight: 600; }
.rw-status-FAILED { color: #b42318; font-weight: 600; }
.rw-status-PROCESSING, .rw-status-QUEUED { color: #9a5b00; }
.rw-run-kind { color: #5b6775; font-size: 12px; }
.rw-training { max-width: 420px; line-height: 1.4; }
.rw-refusal { max-width: 520px; margin: 60px auto; padding: 28px; border-radius: 8px; background: #fff7f6;
  border: 1px solid #f3c3bf; font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
.rw-runs a, .rw-tell { color: #1d5fbf; text-decoration: underline; cursor: pointer; }
.rw-own-model { font-size: 14px; line-height: 1.45; margin: 4px 0; padding: 8px 10px; background: #f3f6fa;
  border-radius: 6px; }
.rw-outcomes-note { color: #5b6775; font-size: 12px; line-height: 1.4; margin-top: 3px; max-width: 420px; }
.rw-outcomes-status { font-size: 13px; line-height: 1.4; color: #1b7a3d; margin: 6px 0; }
.rw-outcomes-status[data-state="idle"] { color: #5b6775; }
.rw-outcomes-status[data-state="error"] { color: #b42318; font-weight: 600; }
.rw-outcomes-status[data-state="busy"] { color: #5b6775; }
@media (max-width: 700px) {
  .rw-map-head, .rw-runs-table thead { display: none; }
  .rw-runs-table tr { display: block; border-bottom: 1px solid #e6e9ee; padding: 6px 0; }
  .rw-runs-table td { display: block; border: none; padding: 2px 8px; }
  .rw-runs-table td:empty { display: none; }
  .rw-runs-table td[data-label]::before { content: attr(data-label) ": "; color: #5b6775; }
}
</style>
"""
