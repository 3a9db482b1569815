"""Which adaptive policy a run uses: the fitted one for its scenario when it exists, else the defaults.

`python main.py train` writes `resources/policy/<scenario>.json`; a run on that scenario (simulate,
compare, the terminal's embedded market) loads it unless told otherwise (`policy=defaults`, or a
path). Paths under the repository are shown relative to it, so the report reads
`policy: fitted resources/policy/btc-mixed-4h.json`.
"""

from __future__ import annotations

from pathlib import Path

from app.settings import RESOURCES
from core.execution.adaptive import AdaptiveConfig
from core.execution.policy import AdaptivePolicy, PolicyError, load_policy

POLICY_DIR = RESOURCES / "policy"
AUTO = "auto"  # the scenario's fitted policy when one exists, else the defaults
DEFAULTS = "defaults"


def policy_path(scenario: str) -> Path:
    """Where `train` writes (and runs look for) the fitted policy of a scenario."""
    return POLICY_DIR / f"{scenario}.json"


def resolve_policy(scenario: str, choice: str = AUTO) -> AdaptivePolicy:
    """`auto`: the scenario's fitted policy if present, else the defaults; `defaults`; or a file path."""
    if choice == DEFAULTS:
        return AdaptivePolicy(AdaptiveConfig())
    if choice == AUTO:
        path = policy_path(scenario)
        if not path.exists():
            return AdaptivePolicy(AdaptiveConfig())
        return load_policy(path, shown_as=shown(path))
    path = Path(choice)
    if not path.exists():
        raise PolicyError(f"policy {choice!r}: write auto, defaults or the path of a policy file (train --out)")
    return load_policy(path, shown_as=shown(path))


def shown(path: Path) -> str:
    """A path relative to the repository when it lies inside it (stable across checkouts)."""
    root = RESOURCES.parent.resolve()
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
