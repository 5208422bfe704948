"""Reports: the data behind a tenant's report (read from storage and the run store), the page's
sections, and the Voila server that serves it behind a signed link.

It may import ``retainwise.science`` and ``retainwise.platform``; it must never import
``retainwise.cli`` or ``runner``.
"""
