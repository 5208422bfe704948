"""MkDocs hook: pages generated from the code at build time, where a page holds a marker.

A page writes ``<!-- generated: NAME -->`` on a line of its own and the hook puts the generated text
there: ``settings`` (the settings model's fields), ``cli`` (the argparse parser), ``summary-schema`` and
``results-columns`` (from a real run of the pipeline on the bundled sample), ``notebook-parameters``
(each notebook's ``parameters`` cell), ``committed-model`` (its card) and ``benchmarks`` (the current
figures in ``docs/data/benchmarks.yml`` and each script's own docstring). A marker the hook does not
know fails the build, so a typo cannot leave an empty section. The generators live beside this file
(one module each); MkDocs loads a hook by path, so this folder is put on ``sys.path`` first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_page  # noqa: E402
import cli_page  # noqa: E402
import model_page  # noqa: E402
import notebooks_page  # noqa: E402
import settings_page  # noqa: E402
import summary_page  # noqa: E402

MARKER = re.compile(r"^<!-- generated: (?P<name>[a-z-]+) -->$", re.MULTILINE)

GENERATORS = {
    "settings": lambda root: settings_page.render(),
    "cli": lambda root: cli_page.render(),
    "summary-schema": summary_page.render_summary,
    "results-columns": summary_page.render_results,
    "benchmarks": bench_page.render,
    "committed-model": model_page.render,
    "notebook-parameters": notebooks_page.render,
}


def on_page_markdown(markdown: str, *, page, config, files) -> str:
    root = Path(config["config_file_path"]).resolve().parent

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: unknown generated section {name!r}")
        return GENERATORS[name](root)

    return MARKER.sub(replace, markdown)
