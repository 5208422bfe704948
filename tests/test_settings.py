from pathlib import Path

import pytest

from retainwise.errors import ConfigError
from retainwise.settings import Settings, write_env_file


def test_defaults_are_safe():
    s = Settings.from_env({})
    assert s.aws_endpoint_url is None and s.secret is None
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.visibility_timeout_s > s.run_timeout_s


def test_settings_file_fills_gaps_but_environment_wins(tmp_path):
    write_env_file(tmp_path, {"RETAINWISE_BUCKET": "from-file", "RETAINWISE_QUEUE_URL": "http://q"})
    s = Settings.from_env({"RETAINWISE_HOME": str(tmp_path), "RETAINWISE_BUCKET": "from-env"})
    assert s.bucket == "from-env"
    assert s.queue_url == "http://q"
    assert s.home == Path(tmp_path)


def test_typed_values_are_checked():
    assert Settings.from_env({"RETAINWISE_RUN_TIMEOUT": "30"}).run_timeout_s == 30
    with pytest.raises(ConfigError, match="RETAINWISE_RUN_TIMEOUT"):
        Settings.from_env({"RETAINWISE_RUN_TIMEOUT": "soon"})


def test_to_env_round_trips():
    s = Settings.from_env({"RETAINWISE_BUCKET": "b", "RETAINWISE_RUN_TIMEOUT": "7"})
    again = Settings.from_env(s.to_env())
    assert again == s
