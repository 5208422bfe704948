"""The platform: AWS clients and their error translation, storage (S3), the queue (SQS), tenants
(the tenant and key rules), queue messages (one ``JobMessage`` for ``submit`` and the runner), the
run store and its migrations, signed links, the per-tenant mapping store, the embedded endpoint and
the one-machine stack of ``retainwise up``.

It must never import ``runner``, ``retainwise.cli`` or ``retainwise.reports`` (an import-linter
contract): the runner and the pages are built on the platform, not the other way round.
"""
