from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings


def test_defaults_user_file_env_and_cli_layer_in_order(tmp_path: Path) -> None:
    user = tmp_path / "settings.toml"
    user.write_text('[market]\nspeed = 20\nscenario = "calm"\n')
    s = load_settings(user, env={"BLOCKHOUSE__MARKET__SEED": "9"}, overrides=["market.speed=60"])
    assert s.get("market.speed") == 60.0 and s.source["market.speed"].startswith("--set")
    assert s.get("market.scenario") == "calm" and s.source["market.scenario"] == str(user)
    assert s.get("market.seed") == 9
    assert s.get("general.log_level") == "INFO"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("market.speeed=3", "unknown settings key 'market.speeed'"),
        ("market.speed=fast", "market.speed must be a float"),
        ("market.mode=paper", "market.mode must be one of sim, live"),
        ("general.trading_day_boundary_utc=25:00", "must be HH:MM in UTC"),
        ("market.speed=-1", "market.speed must be positive"),
        ("nonsense", "write it as section.key=value"),
    ],
)
def test_bad_values_name_the_key_and_what_to_change(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings(tmp_path / "none.toml", env={}, overrides=[override])


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_text("[market\nspeed=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, env={})


def test_journal_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "none.toml", env={}, overrides=[f"general.data_dir={tmp_path}"])
    assert s.journal_url == f"sqlite:///{tmp_path / 'journal.sqlite'}"
