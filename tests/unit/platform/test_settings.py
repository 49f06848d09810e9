"""Settings come from BUREAU_* variables and bad values are named with what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bureau.platform.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BUREAU_"):
            monkeypatch.delenv(name)


def test_defaults_need_no_variables() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.http_port == 8000
    assert (settings.radius_auth_port, settings.radius_acct_port) == (1812, 1813)


def test_variables_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUREAU_HTTP_PORT", "8080")
    monkeypatch.setenv("BUREAU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BUREAU_DATABASE_URL", "postgres://u@db/bureau")
    settings = load_settings()
    assert settings.http_port == 8080
    assert settings.data_dir == tmp_path
    assert settings.database_url == "postgresql://u@db/bureau"


def test_every_bad_variable_is_named_with_its_value_and_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUREAU_HTTP_PORT", "70000")
    monkeypatch.setenv("BUREAU_LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "BUREAU_HTTP_PORT=70000" in message or "BUREAU_HTTP_PORT='70000'" in message
    assert "a port number from 1 to 65535" in message
    assert "BUREAU_LOG_LEVEL='chatty'" in message
    assert "one of debug, info, warning, error" in message


def test_a_wrong_database_url_is_refused_without_echoing_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUREAU_DATABASE_URL", "mysql://admin:hunter2@db/bureau")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BUREAU_DATABASE_URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_settings_file_supplies_variables_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / "bureau.env"
    env_file.write_text("BUREAU_HTTP_PORT=9000\nBUREAU_LOG_LEVEL=debug\n")
    monkeypatch.setenv("BUREAU_SETTINGS_FILE", str(env_file))
    monkeypatch.setenv("BUREAU_LOG_LEVEL", "error")
    settings = load_settings()
    assert settings.http_port == 9000
    assert settings.log_level == "error"


def test_a_missing_settings_file_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUREAU_SETTINGS_FILE", str(tmp_path / "nope.env"))
    with pytest.raises(SettingsError, match="no such file"):
        load_settings()
