from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import EU_LANGUAGES, ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("HEMICYCLE_"):
            monkeypatch.delenv(key)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.data_dir == Path(".hemicycle")
    assert tuple(settings.target_languages) == EU_LANGUAGES
    assert len(settings.target_languages) == 24
    assert settings.max_body_chars == 50_000
    assert settings.topic("submitted") == "hemicycle.contributions.submitted"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEMICYCLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEMICYCLE_TARGET_LANGUAGES", " de, FR ,en,de")
    monkeypatch.setenv("HEMICYCLE_BATCH_MAX_EVENTS", "64")
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.target_languages == ["de", "fr", "en"]
    assert settings.batch_max_events == 64


def test_toml_file_with_env_taking_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "hemicycle.toml"
    toml.write_text('target_languages = ["pl", "cs"]\nmax_body_chars = 1000\n')
    monkeypatch.setenv("HEMICYCLE_MAX_BODY_CHARS", "2000")
    settings = load_settings(toml)
    assert settings.target_languages == ["pl", "cs"]
    assert settings.max_body_chars == 2000


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("HEMICYCLE_TARGET_LANGUAGES", "de,xx", "HEMICYCLE_TARGET_LANGUAGES"),
        ("HEMICYCLE_TARGET_LANGUAGES", " , ", "at least one language"),
        ("HEMICYCLE_BATCH_MAX_EVENTS", "0", "HEMICYCLE_BATCH_MAX_EVENTS"),
        ("HEMICYCLE_MAX_BODY_CHARS", "lots", "HEMICYCLE_MAX_BODY_CHARS"),
        ("HEMICYCLE_BUS", "carrier-pigeon", "HEMICYCLE_BUS"),
    ],
)
def test_invalid_values_name_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_unknown_toml_key_and_missing_file(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text("no_such_setting = 1\n")
    with pytest.raises(ConfigError, match=r"HEMICYCLE_NO_SUCH_SETTING.*unknown setting"):
        load_settings(toml)
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml")


def test_config_show_masks_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEMICYCLE_REDIS_URL", "redis://admin:s3cret@redis.internal:6379/0")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "HEMICYCLE_REDIS_URL = redis://admin:****@redis.internal:6379/0" in out
    assert "HEMICYCLE_TARGET_LANGUAGES = bg,cs,da" in out


def test_invalid_config_stops_the_cli_with_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEMICYCLE_PARTITIONS", "-1")
    assert main(["config", "show"]) == 2
    assert "HEMICYCLE_PARTITIONS" in capsys.readouterr().err


def test_the_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEMICYCLE_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"
    monkeypatch.setenv("HEMICYCLE_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="HEMICYCLE_LOG_LEVEL"):
        load_settings()
