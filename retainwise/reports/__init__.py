"""Reports: the data behind a tenant's report (read from storage and the run store), the page's
sections, and the Voila server that serves it behind a signed link.

It may import ``retainwise.science`` and ``retainwise.platform``; it must never import
``retainwise.cli`` or ``runner``.
"""

# The public modules: imported from outside the package. The others are its own business
# (tests/test_import_paths.py keeps this list true).
__all__ = [
    "charts",
    "gate",
    "portal",
    "server",
    "view",
]
