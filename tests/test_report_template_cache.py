"""Voila's per-page template work done once per server (retainwise.reports.template_cache) and the report
page's front-end extensions (retainwise.reports.page_assets), without a server."""

from __future__ import annotations

import jinja2

from retainwise.reports import page_assets, template_cache


def _environment(folder, cache) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), enable_async=True)
    env.bytecode_cache = cache
    return env


def test_a_template_is_compiled_once_for_every_page_and_again_when_it_changes(tmp_path, monkeypatch):
    (tmp_path / "page.j2").write_text("hello {{ who }}", encoding="utf-8")
    cache = template_cache.MemoryBytecodeCache()
    compiled = []
    compile_ = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return compile_(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    for _ in range(3):  # Voila builds a new environment for every page
        assert _environment(tmp_path, cache).get_template("page.j2").render(who="a") == "hello a"
    assert compiled == ["page.j2"]
    (tmp_path / "page.j2").write_text("bye {{ who }}", encoding="utf-8")  # an edited template
    assert _environment(tmp_path, cache).get_template("page.j2").render(who="a") == "bye a"
    assert compiled == ["page.j2", "page.j2"]
    sync = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), bytecode_cache=cache)
    assert sync.get_template("page.j2").render(who="b") == "bye b"  # async bytecode is not reused for it
    assert len(compiled) == 3


def test_voila_exporters_share_the_cache_and_static_paths_are_looked_up_once():
    from voila.exporter import VoilaExporter
    from voila.static_file_handler import TemplateStaticFileHandler

    template_cache.install()
    template_cache.install()  # twice is once
    assert VoilaExporter().environment.bytecode_cache is template_cache.bytecode_cache()
    found = TemplateStaticFileHandler.get_absolute_path
    found.cache.cache_clear()
    first = found("", "lab/static/index.css")
    assert found("", "lab/static/index.css") == first and found.cache.cache_info().hits == 1


def test_the_report_page_loads_only_the_widget_manager_the_portal_everything():
    config = {
        "federated_extensions": [
            {"name": "@jupyter-widgets/jupyterlab-manager"},
            {"name": "anywidget"},
            {"name": "jupyterlab_pygments"},
        ],
        "baseUrl": "/",
    }
    report = page_assets.page_config_hook(config, notebook_path="report.ipynb")
    assert [e["name"] for e in report["federated_extensions"]] == ["@jupyter-widgets/jupyterlab-manager"]
    assert report["baseUrl"] == "/"
    assert page_assets.page_config_hook(config, notebook_path="portal.ipynb") is config
