"""Settings: defaults from resources/settings.default.toml, then the user's TOML, then the
environment (BLOCKHOUSE__SECTION__KEY=value), then CLI `--set section.key=value`.

Every value is checked against the default's type (and the allowed choices); an error names the
key, where the bad value came from, and what to change.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from core.risk.breakers import BreakerConfig
from core.risk.rules import RiskLimits

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULTS_FILE = RESOURCES / "settings.default.toml"
APP_NAME = "Blockhouse"
ENV_PREFIX = "BLOCKHOUSE__"

# Lists and tables: the type of every element (list) or value (table).
ITEM_TYPES: dict[str, type] = {
    "venues.exchanges": str,
    "venues.symbols": str,
    "venues.keys": str,
}

BREAKER_ACTIONS = ("pause", "exclude_venue", "reducing", "halt")

CHOICES: dict[str, tuple[str, ...]] = {
    "general.log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "market.mode": ("sim", "live"),
    "ui.theme": ("dark", "light"),
    **{f"breakers.{f.name}": BREAKER_ACTIONS for f in fields(BreakerConfig) if f.name.endswith("_action")},
}


class SettingsError(ValueError):
    """A settings value that cannot be used; the message says which key and what to change."""


@dataclass
class Settings:
    values: dict[str, dict[str, Any]]
    source: dict[str, str] = field(default_factory=dict)  # "section.key" -> where it was set
    path: Path | None = None

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return self.values[section][key]

    @property
    def data_dir(self) -> Path:
        configured = str(self.get("general.data_dir"))
        return Path(configured).expanduser() if configured else Path(platformdirs.user_data_dir(APP_NAME))

    @property
    def journal_url(self) -> str:
        url = str(self.get("journal.url"))
        return url or f"sqlite:///{self.data_dir / 'journal.sqlite'}"

    @property
    def journal_origin(self) -> str:
        """Where `journal_url` comes from, in the settings' words: which key, set by whom."""
        if str(self.get("journal.url")):
            return f"journal.url from {self.source['journal.url']}"
        origin = self.source["general.data_dir"]
        folder = "the user data folder" if origin == "default" else f"general.data_dir from {origin}"
        return f"journal.url is empty, so journal.sqlite in {folder}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def risk_limits(settings: Settings) -> RiskLimits:
    """The `[risk]` section as the risk gate's limits (every field has a default there)."""
    kinds = {f.name: type(getattr(RiskLimits(), f.name)) for f in fields(RiskLimits)}
    return RiskLimits(**{name: kind(settings.get(f"risk.{name}")) for name, kind in kinds.items()})


def breaker_config(settings: Settings) -> BreakerConfig:
    """The `[breakers]` section as the circuit breakers' thresholds and actions."""
    kinds = {f.name: type(getattr(BreakerConfig(), f.name)) for f in fields(BreakerConfig)}
    return BreakerConfig(**{name: kind(settings.get(f"breakers.{name}")) for name, kind in kinds.items()})


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "settings.toml"


def load_settings(
    path: Path | None = None,
    env: dict[str, str] | None = None,
    overrides: list[str] | None = None,
    *,
    named: bool = False,
) -> Settings:
    """The layered settings. `path` is the user's file (default: `default_config_path()`); a file
    that is not there adds nothing, unless the user `named` it (`--settings FILE`): then a missing
    file is an error, so a typo cannot silently bring up the defaults (and their journal)."""
    with DEFAULTS_FILE.open("rb") as fh:
        defaults = tomllib.load(fh)
    values = {section: dict(keys) for section, keys in defaults.items()}
    settings = Settings(values, {f"{s}.{k}": "default" for s, keys in values.items() for k in keys})

    path = path or default_config_path()
    if named and not path.exists():
        raise SettingsError(
            f"--settings {path}: no such file; check the name (without --settings: {default_config_path()})"
        )
    if named and path.is_dir():
        raise SettingsError(f"--settings {path}: is a folder; give the settings TOML file")
    if path.exists():
        settings.path = path
        try:
            with path.open("rb") as fh:
                user = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc}); fix the syntax or delete the file") from None
        except OSError as exc:
            reason = exc.strerror or exc
            raise SettingsError(f"{path}: cannot be read ({reason}); check the path and its permissions") from None
        for section, keys in user.items():
            if not isinstance(keys, dict):
                raise SettingsError(f"{path}: '{section}' must be a [section] table")
            for key, value in keys.items():
                _set(settings, defaults, f"{section}.{key}", value, str(path))

    for name, raw in (env if env is not None else os.environ).items():
        if name.startswith(ENV_PREFIX):
            dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
            _set(settings, defaults, dotted, _parse_text(raw), f"environment {name}", from_text=True)

    for item in overrides or []:
        dotted, sep, raw = item.partition("=")
        if not sep:
            raise SettingsError(f"--set {item!r}: write it as section.key=value")
        _set(settings, defaults, dotted.strip(), _parse_text(raw.strip()), f"--set {item}", from_text=True)
    return settings


def _parse_text(raw: str) -> Any:
    """Interpret an env/CLI string as TOML when it parses (numbers, booleans), else as a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set(
    settings: Settings, defaults: dict[str, Any], dotted: str, value: Any, origin: str, from_text: bool = False
) -> None:
    section, _, key = dotted.partition(".")
    if section not in defaults or key not in defaults[section]:
        known = ", ".join(f"{s}.{k}" for s, keys in defaults.items() for k in keys)
        raise SettingsError(f"{origin}: unknown settings key {dotted!r}; known keys: {known}")
    expected = defaults[section][key]
    if from_text and isinstance(expected, list) and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]  # --set venues.symbols=BTC/USDT,ETH/USDT
    if isinstance(expected, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not type(expected):
        raise SettingsError(
            f"{origin}: {dotted} must be a {type(expected).__name__} (like {expected!r}), got {value!r}"
        )
    item_type = ITEM_TYPES.get(dotted)
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    if item_type is not None and not all(type(item) is item_type for item in items):
        what = "element" if isinstance(value, list) else "value"
        raise SettingsError(f"{origin}: every {what} of {dotted} must be a {item_type.__name__}, got {value!r}")
    choices = CHOICES.get(dotted)
    if choices and value not in choices:
        raise SettingsError(f"{origin}: {dotted} must be one of {', '.join(choices)}, got {value!r}")
    if dotted == "general.trading_day_boundary_utc" and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise SettingsError(f"{origin}: {dotted} must be HH:MM in UTC (e.g. '00:00'), got {value!r}")
    if dotted in ("market.speed", "ui.max_fps") and value <= 0:
        raise SettingsError(f"{origin}: {dotted} must be positive, got {value!r}")
    if section == "breakers" and not key.endswith("_action") and value <= 0:
        raise SettingsError(f"{origin}: {dotted} must be positive, got {value!r}")
    settings.values[section][key] = value
    settings.source[dotted] = origin
