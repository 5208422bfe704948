import os
import stat
from pathlib import Path

import pytest

from retainwise.errors import ConfigError
from retainwise.settings import Settings, default_home, write_env_file


def test_defaults_are_safe():
    s = Settings.from_env({})
    assert s.aws_endpoint_url is None and s.secret is None
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.visibility_timeout_s > s.run_timeout_s


def test_home_defaults_to_the_users_data_directory_not_the_working_directory():
    home = Settings.from_env({}).home
    assert home == default_home() and home.is_absolute()
    assert Path.cwd() not in (home, home.parent)


def test_settings_file_fills_gaps_but_environment_wins(tmp_path):
    write_env_file(tmp_path, {"RETAINWISE_BUCKET": "from-file", "RETAINWISE_QUEUE_URL": "http://q"})
    s = Settings.from_env({"RETAINWISE_HOME": str(tmp_path), "RETAINWISE_BUCKET": "from-env"})
    assert s.bucket == "from-env"
    assert s.queue_url == "http://q"
    assert s.home == Path(tmp_path)


def test_settings_file_holding_the_secret_is_private(tmp_path):
    path = write_env_file(tmp_path, {"RETAINWISE_SECRET": "s3cret"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.chmod(0o644)  # an older, world-readable file is narrowed when rewritten
    write_env_file(tmp_path, {"RETAINWISE_SECRET": "other"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_settings_file_timeouts_configure_a_worker(tmp_path):
    write_env_file(tmp_path, {"RETAINWISE_RUN_TIMEOUT": "50", "RETAINWISE_VISIBILITY_TIMEOUT": "70"})
    s = Settings.from_env({"RETAINWISE_HOME": str(tmp_path)})
    assert (s.run_timeout_s, s.visibility_timeout_s) == (50, 70)


def test_typed_values_are_checked():
    assert Settings.from_env({"RETAINWISE_RUN_TIMEOUT": "30"}).run_timeout_s == 30
    with pytest.raises(ConfigError, match="RETAINWISE_RUN_TIMEOUT"):
        Settings.from_env({"RETAINWISE_RUN_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="RETAINWISE_CONCURRENCY"):
        Settings.from_env({"RETAINWISE_CONCURRENCY": "0"})


@pytest.mark.parametrize(
    "values",
    [
        {"RETAINWISE_RUN_TIMEOUT": "300"},
        {"RETAINWISE_RUN_TIMEOUT": "60", "RETAINWISE_VISIBILITY_TIMEOUT": "30"},
    ],
)
def test_visibility_timeout_must_exceed_run_timeout(values):
    with pytest.raises(ConfigError, match="must exceed RETAINWISE_RUN_TIMEOUT"):
        Settings.from_env(values)
    with pytest.raises(ConfigError, match="must exceed"):
        Settings(run_timeout_s=10, visibility_timeout_s=10)
    with pytest.raises(ConfigError, match="must exceed"):
        Settings(run_timeout_s=10, visibility_timeout_s=20).replace(run_timeout_s=25)


def test_direct_construction_ignores_the_process_environment(monkeypatch):
    monkeypatch.setenv("RETAINWISE_BUCKET", "from-env")
    assert Settings().bucket is None
    assert Settings.from_env().bucket == "from-env"


def test_to_env_round_trips():
    s = Settings.from_env(
        {"RETAINWISE_BUCKET": "b", "RETAINWISE_RUN_TIMEOUT": "7", "RETAINWISE_POOL_SIZE": "0"}
    )
    again = Settings.from_env(s.to_env())
    assert again == s and again.pool_size == 0


def test_report_server_listens_where_the_settings_say(monkeypatch):
    # It once read RETAINWISE_REPORTS_PORT while Settings, the README and the images said _REPORT_PORT.
    from retainwise.reports import server

    monkeypatch.setenv("RETAINWISE_REPORT_PORT", "9123")
    monkeypatch.setenv("RETAINWISE_REPORT_IP", "0.0.0.0")
    args = server.build_parser(Settings.from_env()).parse_args([])
    assert (args.port, args.ip) == (9123, "0.0.0.0")
    assert server.build_parser(Settings.from_env()).parse_args(["--port", "9000"]).port == 9000
