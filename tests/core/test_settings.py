"""Every setting is documented in the README, and bad values are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import SETTINGS, SettingsError, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_documents_setting(setting) -> None:
    text = README.read_text()
    assert f"`{setting.name}`" in text, f"README does not document {setting.name}"
    assert f"`{setting.default}`" in text, f"README does not give {setting.name}'s default"


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.backend == "embedded"
    assert settings.data_dir == Path("./data")
    assert settings.druid_url == "http://localhost:8888"
    assert settings.druid_datasource == "sales_analytics"
    assert settings.timezone == "Africa/Nairobi"
    assert settings.auth_file == Path("./data/users.yaml")
    assert settings.warm_up
    assert not load_settings({"SALES_WARM_UP": "OFF"}).warm_up


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SALES_BACKEND": "oracle"}, "SALES_BACKEND='oracle'"),
        ({"SALES_TIMEZONE": "Mars/Olympus"}, "SALES_TIMEZONE='Mars/Olympus'"),
        ({"DRUID_URL": "localhost:8888"}, "DRUID_URL='localhost:8888'"),
        ({"SALES_WARM_UP": "sometimes"}, "SALES_WARM_UP='sometimes'"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env)
