"""The documentation site (``mkdocs.yml``, ``docs/``) and the README as its front door.

The site is built with ``--strict`` exactly as ``.ci/test.sh`` builds it after the suite, except that its
screenshots are placeholders made here (``RETAINWISE_SCREENSHOTS``): the real ones exist only once the
browser tests of the same session have run, and the build's own check of those is tested separately. So
a broken link, a missing page, an unknown generated section or a docstring mkdocstrings cannot render
fails here too, not only at the end of CI.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retainwise.settings import Settings

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "docs" / "hooks"))
import screenshots  # noqa: E402  (docs/hooks/screenshots.py: the names the pages show)

#: A 1x1 PNG: what the site needs of a screenshot is that it exists.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def _placeholders(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in screenshots.named(ROOT / "docs"):
        (folder / name).write_bytes(PNG)
    return folder


def _mkdocs(site: Path, pictures: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RETAINWISE_SCREENSHOTS": str(pictures), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The whole site, built once with --strict against placeholder screenshots."""
    tmp = tmp_path_factory.mktemp("docs")
    built = _mkdocs(tmp / "site", _placeholders(tmp / "pictures"))
    assert built.returncode == 0, built.stderr[-4000:]
    return tmp / "site"


def _page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_site_has_the_three_guides_the_reference_and_the_benchmarks(site):
    for path in ("business/report", "business/portal", "data-science/notebooks", "data-science/outputs"):
        assert (site / path / "index.html").is_file(), path
    for path in ("operators/up", "operators/runner", "operators/deploy", "operators/runbooks/dead-letters"):
        assert (site / path / "index.html").is_file(), path
    for path in ("reference/science", "reference/platform", "reference/runner", "benchmarks"):
        assert (site / path / "index.html").is_file(), path
    for name in screenshots.named(ROOT / "docs"):
        assert (site / "screenshots" / name).read_bytes() == PNG, name
    # the deploy page is infra/README.md itself, runbook headings included
    assert "Redrive the dead-letter queue" in _page(site, "operators/deploy")


@pytest.mark.slow
def test_generated_pages_follow_the_code(site):
    settings = _page(site, "operators/settings")
    for field in Settings.model_fields.values():
        assert f"<code>{field.validation_alias}</code>" in settings, field.validation_alias
    cli = _page(site, "operators/cli")
    from retainwise.cli.parser import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in commands.choices:
        assert f"retainwise {name}" in cli, name
    outputs = _page(site, "data-science/outputs")
    for field in ("risk_counts.HIGH", "model.confidence", "quality.issues[].code", "churn_probability"):
        assert f"<code>{field}</code>" in outputs, field
    notebooks = _page(site, "data-science/notebooks")
    assert "<code>mapping_overrides</code>" in notebooks and "<code>rules_share</code>" in notebooks
    benchmarks = _page(site, "benchmarks")
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        assert script.name in benchmarks, script.name


@pytest.mark.slow
def test_sphinx_roles_in_docstrings_render_as_code_and_links(site):
    science = _page(site, "reference/science")
    assert not re.search(r":(func|class|meth|mod|attr|data):`", science)
    assert 'class="autorefs autorefs-internal"' in science


def test_a_missing_screenshot_fails_the_build(tmp_path):
    _placeholders(tmp_path / "pictures")
    missing = sorted(screenshots.named(ROOT / "docs"))[0]
    (tmp_path / "pictures" / missing).unlink()
    built = _mkdocs(tmp_path / "site", tmp_path / "pictures")
    assert built.returncode != 0
    assert f"{missing} is missing" in built.stderr


def test_a_screenshot_older_than_the_test_session_fails_the_build(tmp_path):
    pictures = _placeholders(tmp_path / "pictures")
    stale = sorted(screenshots.named(ROOT / "docs"))[0]
    old = time.time() - 3600
    os.utime(pictures / stale, (old, old))
    (pictures / screenshots.STAMP).touch()  # what .ci/test.sh writes before pytest
    built = _mkdocs(tmp_path / "site", pictures)
    assert built.returncode != 0
    assert f"{stale} is older than this test session" in built.stderr


def _small_site(tmp_path: Path, page: str) -> subprocess.CompletedProcess:
    """Our mkdocs.yml (hooks, validation, strict) over a one-page docs folder holding ``page``."""
    docs = tmp_path / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text(page, encoding="utf-8")
    (docs / "other.md").write_text("# Other\n\n## A heading\n", encoding="utf-8")
    # In a child process, as CI runs it: mkdocs' strict mode raises Abort, which exits non-zero.
    script = (
        "import logging\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from mkdocs.config import load_config\n"
        "from mkdocs.commands.build import build\n"
        f"build(load_config(config_file='mkdocs.yml', docs_dir={str(docs)!r}, "
        f"site_dir={str(tmp_path / 'site')!r}, nav=['index.md', 'other.md'], strict=True))\n"
    )
    env = {**os.environ, "RETAINWISE_SCREENSHOTS": str(tmp_path), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_broken_link_or_anchor_fails_the_strict_build(tmp_path):
    assert _small_site(tmp_path / "good", "# Home\n\n[ok](other.md#a-heading)\n").returncode == 0
    broken = _small_site(tmp_path / "page", "# Home\n\n[gone](missing.md)\n")
    assert broken.returncode != 0 and "missing.md" in broken.stderr
    anchor = _small_site(tmp_path / "anchor", "# Home\n\n[gone](other.md#no-such-heading)\n")
    assert anchor.returncode != 0 and "no-such-heading" in anchor.stderr


def test_the_readme_is_a_front_door_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    assert blocks[:2] == [
        "pip install -c infra/docker/requirements.lock -e . && retainwise score "
        "retainwise/data/sample_customers.csv --out out/sample",
        "bash .ci/run",
    ]
    assert "exec bash .ci/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for path in re.findall(r"`((?:docs|retainwise|infra|notebooks|runner|bench)/[\w./-]*)`", readme):
        assert (ROOT / path).exists(), f"README names {path}, which does not exist"


def test_ci_builds_the_site_strictly_after_the_whole_suite():
    script = (ROOT / ".ci" / "test.sh").read_text(encoding="utf-8")
    stamp, pytest_, build = (
        script.index(f"touch test-artifacts/{screenshots.STAMP}"),
        script.index('python -m pytest "$@"'),
        script.index("mkdocs build --strict"),
    )
    assert stamp < pytest_ < build
    # --quiet would drop the warnings before --strict counts them: the build would always pass.
    assert not re.search(r"mkdocs build[^\n]*(--quiet|-q\b)", script)
