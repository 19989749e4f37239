"""Configuration: environment, optional TOML file, and clear messages for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrdshield.config import ConfigError, load_settings


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"HRDSHIELD_DATA_DIR": str(tmp_path)})
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'hrdshield.sqlite3'}"
    assert settings.cookie_secure is True
    assert settings.keys_dir == tmp_path / "keys"


def test_workers_default_to_one_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert load_settings(environ={}).serving_processes == 6
    assert load_settings(environ={"HRDSHIELD_WORKERS": "3"}).serving_processes == 3
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert load_settings(environ={}).serving_processes == 1


def test_postgresql_url_is_accepted() -> None:
    url = "postgresql+psycopg://hrd@db.internal/hrdshield"
    assert load_settings(environ={"HRDSHIELD_DATABASE_URL": url}).sqlalchemy_url == url


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HRDSHIELD_DATABASE_URL", "mysql://x/y", "unsupported database 'mysql'"),
        ("HRDSHIELD_COOKIE_SECURE", "perhaps", "HRDSHIELD_COOKIE_SECURE"),
        ("HRDSHIELD_SESSION_HOURS", "0", "HRDSHIELD_SESSION_HOURS"),
        ("HRDSHIELD_SESSION_HOURS", "twelve", "HRDSHIELD_SESSION_HOURS"),
        ("HRDSHIELD_DEFAULT_LANGUAGE", "xx", "must be one of en, es, fr, ar, ru, pt"),
        ("HRDSHIELD_DEFAULT_LANGUAGE", "pt-BR", "must be one of en, es, fr, ar, ru, pt"),
        ("HRDSHIELD_LOG_LEVEL", "LOUD", "HRDSHIELD_LOG_LEVEL"),
        ("HRDSHIELD_WORKERS", "-1", "HRDSHIELD_WORKERS"),
        ("HRDSHIELD_WORKERS", "many", "HRDSHIELD_WORKERS"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={variable: value})
    assert message in str(raised.value)
    assert variable in str(raised.value)


@pytest.mark.parametrize("language", ["en", "es", "fr", "ar", "ru", "pt"])
def test_every_interface_language_can_be_the_default(language: str) -> None:
    settings = load_settings(environ={"HRDSHIELD_DEFAULT_LANGUAGE": language})
    assert settings.default_language == language


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"HRDSHIELD_SESSION_HOURS": "0", "HRDSHIELD_LOG_LEVEL": "LOUD"})
    assert "HRDSHIELD_SESSION_HOURS" in str(raised.value)
    assert "HRDSHIELD_LOG_LEVEL" in str(raised.value)


def test_config_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "hrdshield.toml"
    path.write_text('[hrdshield]\nsession_hours = 4\nlog_level = "DEBUG"\n')
    settings = load_settings(
        environ={
            "HRDSHIELD_CONFIG_FILE": str(path),
            "HRDSHIELD_LOG_LEVEL": "WARNING",
        }
    )
    assert settings.session_hours == 4
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("content", "message"),
    [("not = [valid", "not valid TOML"), ("[hrdshield]\nunknown_thing = 1\n", "UNKNOWN_THING")],
)
def test_bad_config_files_are_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={"HRDSHIELD_CONFIG_FILE": str(path)})


def test_missing_config_file_is_explained() -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(environ={"HRDSHIELD_CONFIG_FILE": "/nonexistent/hrdshield.toml"})


def test_secrets_never_print() -> None:
    settings = load_settings(
        environ={
            "HRDSHIELD_SECRET_KEY": "super-secret-value",
            "HRDSHIELD_MASTER_KEY": "bWFzdGVy",
        }
    )
    assert "super-secret-value" not in repr(settings)
    assert "bWFzdGVy" not in str(settings)


def test_settings_are_read_only() -> None:
    settings = load_settings(environ={})
    with pytest.raises(ValueError, match="frozen"):
        settings.session_hours = 3  # type: ignore[misc]
