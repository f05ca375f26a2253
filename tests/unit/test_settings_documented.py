"""Every setting is in the README's configuration table, under its environment variable."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_settings_field_is_in_the_readme_configuration_table() -> None:
    names = " ".join(
        line.split("|")[1] for line in README.read_text().splitlines() if line.startswith("| `")
    )
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    missing = [n for n in Settings.model_fields if f"`{prefix}{n.upper()}`" not in names]
    assert missing == []
