"""Voila's per-page template work, done once per report server process instead of once per page.

Voila builds a new exporter, and with it a new Jinja environment, for every page it renders: each page
lexes, parses and compiles the template chain again, and every ``include_css``/``include_js`` of the
template walks the template folders (``collect_static_paths``) and hashes the file it names. Measured with
py-spy during 20 visitors at once (issue 27): about two thirds of the server's main thread, which also
answers every other visitor, went there. Two caches take it off:

- :class:`MemoryBytecodeCache`, set on every Voila exporter's environment: Jinja checks each template's
  source against the checksum it was compiled from, so an edited template is compiled again;
- :func:`_absolute_path`, memoising where a template's static file lives (the folders are installed
  package files; bounded, since the static route is reachable with any path).

Both hold nothing from a request: template sources and file paths only.
"""

from __future__ import annotations

import functools
import threading

import jinja2

_INSTALLED = False


class MemoryBytecodeCache(jinja2.BytecodeCache):
    """Jinja bytecode in memory, shared by all environments of one kind (async or not, same extensions)."""

    def __init__(self):
        self.store: dict[tuple, bytes] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _key(bucket) -> tuple:
        env = bucket.environment
        return bucket.key, env.is_async, tuple(sorted(env.extensions))

    def load_bytecode(self, bucket) -> None:
        with self.lock:
            data = self.store.get(self._key(bucket))
        if data is not None:
            bucket.bytecode_from_string(data)  # Jinja drops it again when the source's checksum differs

    def dump_bytecode(self, bucket) -> None:
        data = bucket.bytecode_to_string()
        with self.lock:
            self.store[self._key(bucket)] = data


@functools.cache
def bytecode_cache() -> MemoryBytecodeCache:
    return MemoryBytecodeCache()


def install() -> None:
    """Give Voila's exporter the shared bytecode cache and its static file handler a memory of paths."""
    global _INSTALLED
    if _INSTALLED:
        return
    from voila.exporter import VoilaExporter
    from voila.static_file_handler import TemplateStaticFileHandler

    create = VoilaExporter._create_environment

    def _create_environment(self):
        environment = create(self)
        environment.bytecode_cache = bytecode_cache()
        return environment

    VoilaExporter._create_environment = _create_environment
    TemplateStaticFileHandler.get_absolute_path = classmethod(_absolute_path_of(TemplateStaticFileHandler))
    _INSTALLED = True


def _absolute_path_of(handler_class):
    find = handler_class.get_absolute_path.__func__

    @functools.lru_cache(maxsize=1024)
    def _absolute_path(root: str, path: str) -> str:
        return find(handler_class, root, path)

    def get_absolute_path(cls, root, path):
        return _absolute_path(root, path)

    get_absolute_path.cache = _absolute_path
    return get_absolute_path
