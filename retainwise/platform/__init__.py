"""The platform: AWS clients and their error translation, storage (S3), the queue (SQS), tenants
(the tenant and key rules), queue messages (one ``JobMessage`` for ``submit`` and the runner), the
run store and its migrations, signed links, the per-tenant mapping store, the embedded endpoint and
the one-machine stack of ``retainwise up``.

It must never import ``runner``, ``retainwise.cli`` or ``retainwise.reports`` (an import-linter
contract): the runner and the pages are built on the platform, not the other way round.
"""

# The public modules: imported from outside the package. The others are its own business
# (tests/test_import_paths.py keeps this list true).
__all__ = [
    "aws",
    "embedded",
    "entrypoints",
    "events",
    "jobs",
    "labelled",
    "limits",
    "links",
    "mapping_store",
    "messages",
    "metrics",
    "notify",
    "queue",
    "quotas",
    "rate",
    "registry",
    "run_record",
    "runs",
    "stack",
    "storage",
    "tenants",
    "tenants_config",
]
