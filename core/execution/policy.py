"""The adaptive policy's parameters as a versioned artifact (issue 9, the learned layer).

A fitted policy is a JSON document (written by `python main.py train`, shipped under
`resources/policy/<scenario>.json`): the `AdaptiveConfig` fields it fitted under `parameters`,
plus what it was fitted on (scenario, instrument, training seeds, every candidate's objective,
commit, date) so it can be audited. This module only validates and converts; where the file
lives and which one a run uses is the composition's business (app/policy.py).

Validation names the key and what to change: a policy that silently fell back to the defaults
would make a fitted run indistinguishable from an unfitted one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from core.execution.adaptive import AdaptiveConfig

POLICY_SCHEMA_VERSION = 1
FITTED_KEYS = (  # what `train` searches
    "confidence", "lean_frac", "informed_frac", "window_s", "toxicity_weight", "venue_tilt"
)
# every policy file carries these; `toxicity_weight` was fitted from 2026-11-26 on, and a file
# without it ran with the router fully weighing surveillance (its default, 1)
REQUIRED_KEYS = ("confidence", "lean_frac", "informed_frac", "window_s")
# keys added after files were written, with the value those files ran with (not today's default):
# before `venue_tilt` a lean or hold-back moved the whole schedule and routed like AC (tilt 1);
# before `max_hold_s` and `lean_take` a shift decayed from its start and a lean was worked by the
# schedule (0, 0)
LEGACY_VALUES = {"venue_tilt": 1.0, "max_hold_s": 0.0, "lean_take": 0.0}
DEFAULTS_SOURCE = "defaults"


class PolicyError(ValueError):
    """A policy file or parameter the user must fix; the message says which key and how."""


@dataclass(frozen=True, slots=True)
class AdaptivePolicy:
    """The parameters an adaptive parent runs with and where they came from."""

    config: AdaptiveConfig
    source: str = DEFAULTS_SOURCE  # "defaults", "fitted <path>", or "<…> + overrides k=v"

    @property
    def label(self) -> str:
        """What the run reports: `policy: fitted resources/policy/btc-mixed-4h.json` or `policy: defaults`."""
        return f"policy: {self.source}"

    def with_overrides(self, overrides: dict[str, Any]) -> AdaptivePolicy:
        """Explicit parameters (a compare arm, a ticket) over this policy; named in the source."""
        if not overrides:
            return self
        merged = {**asdict(self.config), **config_values(overrides, "adaptive parameters")}
        text = ", ".join(f"{k}={overrides[k]}" for k in sorted(overrides))
        return AdaptivePolicy(make_config(merged, "adaptive parameters"), f"{self.source} + overrides {text}")


def config_values(values: dict[str, Any], where: str) -> dict[str, float]:
    """Check names and types of `AdaptiveConfig` values (numbers, finite); return them as floats."""
    known = {f.name for f in fields(AdaptiveConfig)}
    out: dict[str, float] = {}
    for key, value in values.items():
        if key not in known:
            raise PolicyError(f"{where}: unknown key {key!r}; the adaptive parameters are {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PolicyError(f"{where}: {key} = {value!r} must be a number")
        try:
            number = float(value)
        except ValueError:
            raise PolicyError(f"{where}: {key} = {value!r} must be a number") from None
        if not math.isfinite(number):
            raise PolicyError(f"{where}: {key} = {value!r} must be a finite number")
        out[key] = number
    return out


def make_config(values: dict[str, float], where: str) -> AdaptiveConfig:
    """`AdaptiveConfig(**values)`, its range errors re-raised naming `where`."""
    try:
        return AdaptiveConfig(**values)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def policy_from_document(data: Any, source: str) -> AdaptiveConfig:
    """The `AdaptiveConfig` a policy document describes; `PolicyError` naming the bad key."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy file is a JSON object with 'schema_version' and 'parameters'")
    version = data.get("schema_version")
    if version != POLICY_SCHEMA_VERSION:
        raise PolicyError(
            f"{source}: schema_version is {version!r}; this version reads {POLICY_SCHEMA_VERSION} "
            "(refit with `python main.py train`)"
        )
    params = data.get("parameters")
    if not isinstance(params, dict):
        raise PolicyError(f"{source}: 'parameters' must be an object of adaptive parameters, e.g. {{'window_s': 300}}")
    missing = [k for k in REQUIRED_KEYS if k not in params]
    if missing:
        raise PolicyError(f"{source}: parameters lacks {', '.join(missing)} (every fitted key must be present)")
    values = {**LEGACY_VALUES, **config_values(params, f"{source}: parameters")}
    return make_config(values, f"{source}: parameters")


def load_policy(path: Path, shown_as: str | None = None) -> AdaptivePolicy:
    """Read and validate a policy file; the label names it as `shown_as` (default: the path)."""
    name = shown_as or str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file {name} does not exist: give an existing file or fit one with train") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{name}: not valid JSON ({exc}); refit it with `python main.py train`") from None
    return AdaptivePolicy(policy_from_document(data, name), f"fitted {name}")


def parameters_of(config: AdaptiveConfig) -> dict[str, float]:
    """Every `AdaptiveConfig` field, for the policy document's `parameters`."""
    return {k: float(v) for k, v in asdict(config).items()}
