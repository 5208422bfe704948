"""``retainwise up``'s banner: what it prints about the stack, and what it must never print."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from retainwise.cli.up import _print_stack, shown_url
from retainwise.settings import Settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://rw:s3cr%40t@db.example:5432/runs",
            "postgresql+psycopg://rw:***@db.example:5432/runs",
        ),
        ("postgresql://rw@db.example/runs", "postgresql://rw@db.example/runs"),
        ("sqlite:////tmp/home/runs.sqlite3", "sqlite:////tmp/home/runs.sqlite3"),
        ("not a url :: s3cret", "(the RETAINWISE_DATABASE_URL given)"),
    ],
)
def test_database_urls_are_shown_without_their_password(url, shown):
    assert shown_url(url) == shown


def test_the_banner_masks_the_run_stores_password(tmp_path, capsys):
    settings = Settings(home=tmp_path, database_url="postgresql://rw:hunter2-pass@db.example/runs")
    platform = SimpleNamespace(settings=settings, lost=[])
    _print_stack(platform, SimpleNamespace(runners=1, no_voila=True))
    out = capsys.readouterr().out
    assert "hunter2-pass" not in out and "postgresql://rw:***@db.example/runs" in out
