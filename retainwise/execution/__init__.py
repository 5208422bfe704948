"""Running notebooks: kernels (start on IPC, connect, PID, the warm pool), the Papermill engine,
the one ``run_notebook`` used by scoring, training and the runner with its one Papermill error
mapper, and the static (nbconvert) report renderer.

It may import ``retainwise.science`` (a warm kernel imports it); it must never import
``retainwise.platform``, ``retainwise.reports``, ``retainwise.cli`` or ``runner``: it runs a notebook
on files it is handed and knows nothing of queues, buckets or tenants' links.
"""

# The public modules: imported from outside the package. The others are its own business
# (tests/test_import_paths.py keeps this list true).
__all__ = [
    "confinement",
    "engine",
    "execute",
    "kernels",
    "notebook",
    "static_report",
    "tenant_training",
]
