"""Simulator scenarios: typed dataclasses, TOML loading with validation, dotted-key overrides,
and the per-seed draw of the event timeline.

A scenario file (``resources/scenarios/<name>.toml``) has the tables ``[scenario]``,
``[fundamental]``, ``[market]``, optional ``[parent]``, an array ``[[venues]]`` (each with
sub-tables ``hft``, ``latent``, ``market_orders``, ``large_makers``), ``[[desks]]`` (OTC
desks, parameters only in this phase) and ``[[events]]``. Every key is documented on its
dataclass field below and in ``docs/simulator.md``. Quantities are in base units (BTC, ETH),
prices in quote units (USDT), times in seconds, rates per second unless a name says otherwise.

A value written as a two-element list ``[lo, hi]`` is a *range*: each seed draws uniformly
inside it (integers for integer fields), so event times, sizes and venues vary with the seed.

``load_scenario("btc-block-4h", {"venues.0.taker_fee_bps": "5"})`` loads a shipped scenario
(or a path) and applies overrides before validation; a venue may also be addressed by name
(``venues.alpha.taker_fee_bps``). Errors are :class:`ScenarioError` naming the key and what to
change.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "resources" / "scenarios"

Range = tuple[float, float]


class ScenarioError(ValueError):
    """A scenario file or override is invalid; the message names the key and the fix."""


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScenarioInfo:
    name: str = "unnamed"
    description: str = ""
    extends: str = ""  # another scenario (name or path) whose tables this file overrides key by key;
    # once loaded: the resolved path of that base (its tables are merged in already)
    symbol: str = "BTC/USDT"  # the instrument every venue lists (venue symbols may differ)
    duration_s: float = 14_400.0  # simulated length of a run
    warmup_s: float = 600.0  # background flow run before t = 0 so the book is in steady state
    initial_price: float = 60_000.0  # fundamental at t = 0, quote units


@dataclass(frozen=True, slots=True)
class FundamentalConfig:
    """Exogenous log-price random walk with Markov volatility regimes, a log-vol OU factor and jumps."""

    daily_vol_calm: float = 0.025  # sd of daily log return in the calm regime (fraction)
    daily_vol_volatile: float = 0.06  # ... in the volatile regime
    regimes: bool = True  # false: stay in start_regime (used to show impact comes from the book)
    start_regime: str = "calm"  # calm | volatile
    mean_calm_s: float = 21_600.0  # mean sojourn in the calm regime
    mean_volatile_s: float = 5_400.0  # mean sojourn in the volatile regime
    logvol_half_life_s: float = 1_800.0  # half-life of the log-volatility factor (clustering inside a regime)
    logvol_sd: float = 0.35  # stationary sd of that factor
    jumps_per_day: float = 6.0  # fundamental jumps (news), calm regime
    jump_sd: float = 0.002  # sd of a jump's log size
    jump_volatile_mult: float = 3.0  # jump rate multiplier in the volatile regime
    volatile_activity: float = 1.5  # every background flow rate is multiplied by this in the volatile regime
    permanent_half_life_s: float = 3_600.0  # the reference learns from the consolidated mid with this half-life
    step_s: float = 1.0  # fundamental time step


@dataclass(frozen=True, slots=True)
class MarketConfig:
    publish_interval_ms: float = 100.0  # L2 diffs are batched per interval (Binance depth stream: 100 ms)
    arb_interval_ms: float = 100.0  # how often cross-venue arbitrage looks for crossed venues
    agent_interval_ms: float = 50.0  # scenario agents (spoofers, stuffers, flushes) act on this grid
    resilience_half_life_s: float = 7200.0  # the market-wide price displacement left by trades decays so


@dataclass(frozen=True, slots=True)
class ParentConfig:
    """The block the desk is asked to work (for `simulate`/`compare`; the kernel ignores it)."""

    side: str = "sell"
    quantity: float = 1_000.0
    start_s: Range = (0.0, 0.0)
    horizon_s: float = 14_400.0


@dataclass(frozen=True, slots=True)
class HftConfig:
    """Fast quotes near the touch: most are canceled within seconds."""

    rate_per_s: float = 500.0  # quote placements per second (both sides)
    life_s: float = 1.5  # mean lifetime before cancel (exponential)
    size_median: float = 0.002  # base units (lognormal)
    size_sigma: float = 1.0
    dist_mean_ticks: float = 8.0  # mean distance behind the anchor's touch (density grows linearly with it)
    improve_prob: float = 0.0  # extra chance a quote goes exactly at the anchor's touch
    # the venue's fast market makers' inventory I (base units, from their fills): new quotes on the side that
    # would add to it shrink by exp(-|I| / inventory_scale); 0 switches inventory awareness off
    inventory_scale: float = 0.0


@dataclass(frozen=True, slots=True)
class LatentConfig:
    """Latent book: depth per tick grows linearly with the distance from the reference price.

    Cumulative depth therefore grows quadratically, so walking it costs ~ sqrt(Q); it refills
    with the resilience set by ``life_s`` (a consumed region refills with half-life ln2 * life_s).
    """

    depth_1pct: float = 650.0  # latent depth per side between start_bps and 1 % from the reference, base units
    start_bps: float = 0.5  # the profile starts this far from the reference
    end_pct: float = 3.0  # and ends here (the window holds no latent orders beyond)
    life_s: float = 600.0  # mean latent order lifetime (the consumed book refills on this scale)
    stale_life_s: float = 0.5  # mean life of latent orders stranded on the wrong side of the reference
    size_median: float = 0.2
    size_sigma: float = 1.0


@dataclass(frozen=True, slots=True)
class MarketOrderConfig:
    """Background market orders: Hawkes arrivals, lognormal sizes with a Pareto tail."""

    rate_per_s: float = 3.0  # mean market orders per second (baseline = rate * (1 - branching))
    branching: float = 0.5  # Hawkes branching ratio (0 = Poisson)
    decay_per_s: float = 1.0  # Hawkes kernel decay
    size_median: float = 0.01
    size_sigma: float = 1.5
    tail_prob: float = 0.03  # share of orders drawn from the Pareto tail
    tail_alpha: float = 1.5
    tail_min: float = 0.5  # Pareto scale, base units
    informed_tilt_per_bps: float = 0.002  # buy probability rises by this per bp the mid is below the reference
    informed_tilt_max: float = 0.1
    max_walk_bps: float = 30.0  # a background market order stops after walking this far


@dataclass(frozen=True, slots=True)
class LargeMakerConfig:
    """Honest market makers posting large orders near the touch (look-alikes of spoofers)."""

    rate_per_s: float = 0.2
    size_min: float = 5.0
    size_max: float = 40.0
    dist_max_ticks: float = 4.0
    short_prob: float = 0.5  # share pulled quickly (exponential life, mean short_mean_s)
    short_mean_s: float = 3.0
    long_min_s: float = 15.0  # the others live uniformly in [long_min_s, long_max_s]
    long_max_s: float = 120.0


@dataclass(frozen=True, slots=True)
class VenueConfig:
    name: str = "venue"
    symbol: str = "BTCUSDT"
    tick_size: float = 1.0  # quote units per tick
    lot_size: float = 0.0001  # base units per lot
    min_notional: float = 5.0  # quote units
    maker_fee_bps: float = 1.0
    taker_fee_bps: float = 5.0
    latency_ms: float = 20.0  # one-way order-entry / market-data latency
    latency_jitter_ms: float = 5.0
    rate_limit_msgs_per_s: float = 50.0
    basis_bps: float = 0.0  # this venue's reference sits this far from the consolidated one
    weight: float = 1.0  # weight in the consolidated mid that the permanent component learns from
    arb_cost_bps: float = 2.0  # arbitrageur's all-in cost per leg here (mids stay within ~2x of the legs' sum)
    arb_max_qty: float = 2.0  # largest arbitrage clip, base units
    min_spread_ticks: int = 4  # fast quotes never narrow the spread below this
    local_resilience_half_life_s: float = 5.0  # this venue's displacement beyond the market-wide one decays so
    hft: HftConfig = field(default_factory=HftConfig)
    latent: LatentConfig = field(default_factory=LatentConfig)
    market_orders: MarketOrderConfig = field(default_factory=MarketOrderConfig)
    large_makers: LargeMakerConfig = field(default_factory=LargeMakerConfig)


@dataclass(frozen=True, slots=True)
class AxeConfig:
    """A desk that wants the other side of our trade for a while (quotes through the touch)."""

    probability: float = 0.0  # chance the axe exists in a run
    qty: Range = (300.0, 300.0)  # base units it can absorb
    start_s: Range = (6_000.0, 8_400.0)
    expiry_s: float = 600.0  # its quote stays firm this long
    improvement_bps: Range = (5.0, 15.0)  # how far through the exchanges' touch it quotes


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """OTC desk (quote generation is a later phase; the parameters live here already)."""

    name: str = "desk"
    base_spread_bps: float = 8.0
    size_spread_bps_per_sqrt_100: float = 10.0  # spread grows with sqrt(size / 100 base units)
    vol_spread_mult: float = 1.0  # spread scales with (current vol / calm vol) ** this
    ttl_spread_bps_per_10s: float = 1.0  # longer quote life costs this much per 10 s
    skew_bps: float = 0.0  # >0: quotes better to sellers (the desk is short and wants to buy)
    expiry_s: Range = (5.0, 30.0)
    firm: bool = True  # false: last-look (may reject within last_look_ms)
    last_look_ms: float = 200.0
    last_look_reject_prob: float = 0.0
    prehedge_fraction: float = 0.0  # share of a requested size the desk pre-hedges on the exchanges
    # after a fill outside an axe the desk lays this share of it off on the exchanges (our direction),
    # evenly over layoff_s; the rest it internalizes against its other flow
    layoff_fraction: float = 0.5
    layoff_s: float = 1800.0
    max_qty: float = 500.0
    axe: AxeConfig = field(default_factory=AxeConfig)


EVENT_KINDS = ("flush", "informed", "spoof", "stuff", "outage", "latency_spike", "regime", "mark")


@dataclass(frozen=True, slots=True)
class EventConfig:
    """One kind of scenario event; times, sizes and venues are drawn per seed from the ranges."""

    kind: str = "flush"  # one of EVENT_KINDS
    label: str = ""  # free text for the evaluation log (defaults to kind)
    probability: float = 1.0  # chance the event happens in a run
    count: Range = (1.0, 1.0)  # how many occurrences (integer range)
    start_s: Range = (0.0, 0.0)
    duration_s: Range = (60.0, 60.0)  # campaign/outage length (flush: latest end after start)
    venue: str = "any"  # a venue name, "any" (drawn) or "deepest"
    side: str = "sell"  # sell | buy | any (flush/informed: aggressor side; spoof: side of the fake orders)
    dip: Range = (0.005, 0.01)  # flush / informed: price move as a fraction
    chunk_qty: Range = (1.0, 3.0)  # flush / informed: market order size per chunk, base units
    chunk_interval_s: float = 0.25
    recovery_s: float = 900.0  # flush: time within which it is expected back within 25 % of the dip
    spoof_size: Range = (20.0, 80.0)  # base units per fake order
    spoof_distance_ticks: Range = (2.0, 6.0)  # behind the same-side touch
    spoof_layers: Range = (2.0, 4.0)
    spoof_life_s: Range = (1.0, 4.0)  # each layer is pulled after at most this long
    spoof_interval_s: Range = (2.0, 6.0)  # between layers
    stuff_rate_per_s: Range = (500.0, 2000.0)  # messages per second during a burst
    stuff_size: float = 0.001
    stuff_max_distance_ticks: float = 20.0
    latency_mult: Range = (5.0, 20.0)  # latency spike multiplier (applied by SimVenue)
    regime: str = "volatile"  # regime event: the regime forced for duration_s


@dataclass(frozen=True, slots=True)
class Scenario:
    scenario: ScenarioInfo = field(default_factory=ScenarioInfo)
    fundamental: FundamentalConfig = field(default_factory=FundamentalConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    parent: ParentConfig | None = None
    venues: tuple[VenueConfig, ...] = ()
    desks: tuple[DeskConfig, ...] = ()
    events: tuple[EventConfig, ...] = ()

    @property
    def name(self) -> str:
        return self.scenario.name

    def venue_index(self, name: str) -> int:
        for k, v in enumerate(self.venues):
            if v.name == name:
                return k
        raise ScenarioError(f"no venue named {name!r}; venues are {[v.name for v in self.venues]}")


# --------------------------------------------------------------------------------------------
# Loading, overrides, validation
# --------------------------------------------------------------------------------------------


def load_scenario(name_or_path: str | Path, overrides: dict[str, str] | None = None) -> Scenario:
    """Load a shipped scenario by name (``calm``) or a TOML file by path, apply dotted overrides."""
    path = _resolve(name_or_path)
    if not path.exists():
        shipped = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
        raise ScenarioError(f"scenario {str(name_or_path)!r} not found: give a path or one of {shipped}")
    raw = _read_with_extends(path, seen=())
    for key, value in (overrides or {}).items():
        apply_override(raw, key, value)
    return scenario_from_dict(raw, source=path.name)


def _resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        return SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.is_absolute() and relative_to is not None and (relative_to / path).exists():
        return relative_to / path
    return path


def _read_with_extends(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """Read a TOML file; with ``scenario.extends`` merge it over its base (tables merge key by
    key, arrays such as [[venues]] or events = [] replace the base's array whole)."""
    if path in seen:
        raise ScenarioError(f"{path.name}: scenario.extends loops back to itself ({[p.name for p in seen]})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: not valid TOML: {exc}") from exc
    base_name = raw.get("scenario", {}).get("extends", "")
    if not base_name:
        return raw
    base_path = _resolve(base_name, path.parent)
    if not base_path.exists():
        raise ScenarioError(f"{path.name}: scenario.extends = {base_name!r} not found")
    merged = _read_with_extends(base_path, (*seen, path))
    _merge(merged, raw)
    merged["scenario"]["extends"] = str(base_path)  # what it was built on (already merged in)
    return merged


def _merge(base: dict[str, Any], over: dict[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def scenario_from_dict(raw: dict[str, Any], source: str = "scenario") -> Scenario:
    sc = typing.cast(Scenario, _build(Scenario, raw, source))
    validate(sc, source)
    return sc


def parse_override_value(text: str) -> Any:
    """A TOML literal (5, 0.3, true, [1, 2], "x") or, failing that, the bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict[str, Any], dotted: str, value: str) -> None:
    parts = dotted.split(".")
    node: Any = raw
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        where = ".".join(parts[: n + 1])
        if isinstance(node, list):
            idx = _list_index(node, part, where)
            if last:
                raise ScenarioError(f"override {dotted!r}: {where} is a whole table; name one of its keys")
            node = node[idx]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"override {dotted!r}: {'.'.join(parts[:n])} is a value, not a table")
        if last:
            node[part] = parse_override_value(value)
        else:
            if part not in node:
                node[part] = [] if part in ("venues", "desks", "events") else {}
            node = node[part]


def _list_index(node: list[Any], part: str, where: str) -> int:
    if part.isdigit():
        idx = int(part)
        if idx >= len(node):
            raise ScenarioError(f"override {where!r}: index {idx} out of range (there are {len(node)})")
        return idx
    for k, item in enumerate(node):
        if isinstance(item, dict) and item.get("name") == part:
            return k
    names = [item.get("name") for item in node if isinstance(item, dict)]
    raise ScenarioError(f"override {where!r}: no entry named {part!r}; use an index or one of {names}")


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a table, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {unknown}; valid keys are {names}")
    kwargs: dict[str, Any] = {}
    for name in names:
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{path}.{name}")
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None:
            return None
        return _convert(inner[0], value, path)
    if tp == Range:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (float(value), float(value))
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)):
            lo, hi = float(value[0]), float(value[1])
            if lo > hi:
                raise ScenarioError(f"{path}: range [{lo}, {hi}] has its bounds reversed; write [{hi}, {lo}]")
            return (lo, hi)
        raise ScenarioError(f"{path}: expected a number or a range [lo, hi], got {value!r}")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, list):
            raise ScenarioError(f"{path}: expected an array of tables ([[{path.split('.')[-1]}]]), got {value!r}")
        return tuple(_build(args[0], item, f"{path}.{k}") for k, item in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return _build(typing.cast(type, tp), value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{path}: expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ScenarioError(f"{path}: expected a finite number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise ScenarioError(f"{path}: expected a whole number, got {value!r}")
        return int(value)
    if tp is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{path}: expected a string, got {value!r}")
        return value
    raise ScenarioError(f"{path}: unsupported type {tp}")  # pragma: no cover - schema bug


def _positive(path: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ScenarioError(f"{path} = {value}: must be {'>= 0' if allow_zero else '> 0'}")


def _prob(path: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(f"{path} = {value}: must be a probability in [0, 1]")


def validate(sc: Scenario, source: str = "scenario") -> None:
    """Semantic checks beyond types; each error names the key and the allowed values."""
    p = source
    _positive(f"{p}.scenario.duration_s", sc.scenario.duration_s)
    _positive(f"{p}.scenario.warmup_s", sc.scenario.warmup_s, allow_zero=True)
    _positive(f"{p}.scenario.initial_price", sc.scenario.initial_price)
    f = sc.fundamental
    for k in ("daily_vol_calm", "daily_vol_volatile", "mean_calm_s", "mean_volatile_s", "logvol_half_life_s",
              "permanent_half_life_s", "step_s", "volatile_activity"):
        _positive(f"{p}.fundamental.{k}", getattr(f, k))
    for k in ("logvol_sd", "jumps_per_day", "jump_sd", "jump_volatile_mult"):
        _positive(f"{p}.fundamental.{k}", getattr(f, k), allow_zero=True)
    if f.start_regime not in ("calm", "volatile"):
        raise ScenarioError(f"{p}.fundamental.start_regime = {f.start_regime!r}: use 'calm' or 'volatile'")
    if f.volatile_activity < 1.0:
        raise ScenarioError(f"{p}.fundamental.volatile_activity = {f.volatile_activity}: must be >= 1")
    for k in ("publish_interval_ms", "arb_interval_ms", "agent_interval_ms", "resilience_half_life_s"):
        _positive(f"{p}.market.{k}", getattr(sc.market, k))
    if sc.parent is not None:
        if sc.parent.side not in ("buy", "sell"):
            raise ScenarioError(f"{p}.parent.side = {sc.parent.side!r}: use 'buy' or 'sell'")
        _positive(f"{p}.parent.quantity", sc.parent.quantity)
    if not sc.venues:
        raise ScenarioError(f"{p}: no [[venues]]; a scenario needs at least one venue")
    seen: set[str] = set()
    for k, v in enumerate(sc.venues):
        vp = f"{p}.venues.{k}"
        if v.name in seen:
            raise ScenarioError(f"{vp}.name = {v.name!r}: venue names must be unique")
        seen.add(v.name)
        for key in ("tick_size", "lot_size", "weight", "arb_max_qty", "local_resilience_half_life_s"):
            _positive(f"{vp}.{key}", getattr(v, key))
        for key in ("min_notional", "latency_ms", "latency_jitter_ms", "rate_limit_msgs_per_s", "arb_cost_bps"):
            _positive(f"{vp}.{key}", getattr(v, key), allow_zero=True)
        if v.min_spread_ticks < 1:
            raise ScenarioError(f"{vp}.min_spread_ticks = {v.min_spread_ticks}: must be >= 1")
        if v.tick_size / sc.scenario.initial_price > 5e-4:
            raise ScenarioError(f"{vp}.tick_size = {v.tick_size}: more than 5 bps of the price; use a finer tick")
        window_pct = 100.0 * 2048 * v.tick_size / sc.scenario.initial_price
        if window_pct <= v.latent.end_pct:
            raise ScenarioError(f"{vp}.tick_size = {v.tick_size}: the book window (+-{window_pct:.1f} % before "
                                f"re-centring) is narrower than latent.end_pct = {v.latent.end_pct}; use a coarser "
                                f"tick or a smaller end_pct")
        h = v.hft
        for key in ("rate_per_s", "life_s", "size_median", "dist_mean_ticks"):
            _positive(f"{vp}.hft.{key}", getattr(h, key))
        _positive(f"{vp}.hft.size_sigma", h.size_sigma, allow_zero=True)
        _prob(f"{vp}.hft.improve_prob", h.improve_prob)
        _positive(f"{vp}.hft.inventory_scale", h.inventory_scale, allow_zero=True)
        la = v.latent
        for key in ("depth_1pct", "end_pct", "life_s", "stale_life_s", "size_median"):
            _positive(f"{vp}.latent.{key}", getattr(la, key))
        _positive(f"{vp}.latent.start_bps", la.start_bps, allow_zero=True)
        if la.start_bps >= 100.0 or la.end_pct * 100.0 <= la.start_bps:
            raise ScenarioError(f"{vp}.latent: start_bps = {la.start_bps} must be below 100 and below end_pct "
                                f"({la.end_pct} % = {la.end_pct * 100} bps)")
        m = v.market_orders
        for key in ("rate_per_s", "decay_per_s", "size_median", "tail_alpha", "tail_min", "max_walk_bps"):
            _positive(f"{vp}.market_orders.{key}", getattr(m, key))
        if not 0.0 <= m.branching < 1.0:
            raise ScenarioError(f"{vp}.market_orders.branching = {m.branching}: must be in [0, 1) (stationary)")
        _prob(f"{vp}.market_orders.tail_prob", m.tail_prob)
        if not 0.0 <= m.informed_tilt_max < 0.5:
            raise ScenarioError(f"{vp}.market_orders.informed_tilt_max = {m.informed_tilt_max}: must be in [0, 0.5)")
        lm = v.large_makers
        _positive(f"{vp}.large_makers.rate_per_s", lm.rate_per_s, allow_zero=True)
        if not 0 < lm.size_min <= lm.size_max:
            raise ScenarioError(f"{vp}.large_makers: need 0 < size_min <= size_max, got {lm.size_min}, {lm.size_max}")
        if not 0 < lm.long_min_s <= lm.long_max_s:
            raise ScenarioError(f"{vp}.large_makers: need 0 < long_min_s <= long_max_s")
        _prob(f"{vp}.large_makers.short_prob", lm.short_prob)
    for k, d in enumerate(sc.desks):
        dp = f"{p}.desks.{k}"
        _positive(f"{dp}.base_spread_bps", d.base_spread_bps, allow_zero=True)
        _prob(f"{dp}.prehedge_fraction", d.prehedge_fraction)
        _prob(f"{dp}.layoff_fraction", d.layoff_fraction)
        _positive(f"{dp}.layoff_s", d.layoff_s)
        _prob(f"{dp}.last_look_reject_prob", d.last_look_reject_prob)
        _prob(f"{dp}.axe.probability", d.axe.probability)
        if d.expiry_s[0] <= 0:
            raise ScenarioError(f"{dp}.expiry_s = {list(d.expiry_s)}: expiries must be > 0")
    names = {v.name for v in sc.venues}
    for k, e in enumerate(sc.events):
        ep = f"{p}.events.{k}"
        if e.kind not in EVENT_KINDS:
            raise ScenarioError(f"{ep}.kind = {e.kind!r}: use one of {list(EVENT_KINDS)}")
        _prob(f"{ep}.probability", e.probability)
        if e.venue not in names and e.venue not in ("any", "deepest"):
            raise ScenarioError(f"{ep}.venue = {e.venue!r}: use 'any', 'deepest' or one of {sorted(names)}")
        if e.side not in ("buy", "sell", "any"):
            raise ScenarioError(f"{ep}.side = {e.side!r}: use 'buy', 'sell' or 'any'")
        if e.kind in ("flush", "informed") and not (e.dip[0] > 0.0 and e.dip[1] < 0.2):
            raise ScenarioError(f"{ep}.dip = {list(e.dip)}: a dip is a fraction in (0, 0.2), e.g. [0.005, 0.01]")
        if e.regime not in ("calm", "volatile"):
            raise ScenarioError(f"{ep}.regime = {e.regime!r}: use 'calm' or 'volatile'")
        if e.start_s[0] < 0 or e.start_s[1] > sc.scenario.duration_s:
            raise ScenarioError(f"{ep}.start_s = {list(e.start_s)}: must lie within [0, scenario.duration_s = "
                                f"{sc.scenario.duration_s}]")
        if e.count[0] < 0:
            raise ScenarioError(f"{ep}.count = {list(e.count)}: must be >= 0")


# --------------------------------------------------------------------------------------------
# The per-seed timeline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventInstance:
    """One drawn event: what happened, where and when (ground truth for the evaluation log)."""

    kind: str
    label: str
    venue: int  # -1 when not venue-specific
    start_s: float
    end_s: float
    side: str
    params: dict[str, float] = field(default_factory=dict)


def _draw(rng: np.random.Generator, r: Range, integer: bool = False) -> float:
    lo, hi = r
    if integer:
        return float(rng.integers(round(lo), round(hi) + 1))
    return float(lo if lo == hi else rng.uniform(lo, hi))


def draw_timeline(sc: Scenario, rng: np.random.Generator) -> list[EventInstance]:
    """Draw every event's occurrence, time, venue, side and size from the scenario's ranges."""
    deepest = int(np.argmax([v.latent.depth_1pct for v in sc.venues]))
    out: list[EventInstance] = []
    for e in sc.events:
        # fixed number of draws per event config, whatever the outcome (stable streams)
        happens = rng.random() < e.probability
        n = int(_draw(rng, e.count, integer=True))
        for _ in range(max(n, 1)):
            start = _draw(rng, e.start_s)
            duration = _draw(rng, e.duration_s)
            venue = deepest if e.venue == "deepest" else (
                int(rng.integers(len(sc.venues))) if e.venue == "any" else sc.venue_index(e.venue))
            side = e.side if e.side != "any" else ("buy" if rng.random() < 0.5 else "sell")
            params: dict[str, float] = {
                "dip": _draw(rng, e.dip),
                "chunk_qty": _draw(rng, e.chunk_qty),
                "spoof_size_min": e.spoof_size[0],
                "spoof_size_max": e.spoof_size[1],
                "spoof_distance_min": e.spoof_distance_ticks[0],
                "spoof_distance_max": e.spoof_distance_ticks[1],
                "spoof_layers": _draw(rng, e.spoof_layers, integer=True),
                "spoof_life_s": _draw(rng, e.spoof_life_s),
                "spoof_interval_s": _draw(rng, e.spoof_interval_s),
                "stuff_rate_per_s": _draw(rng, e.stuff_rate_per_s),
                "latency_mult": _draw(rng, e.latency_mult),
                "recovery_s": e.recovery_s,
                "chunk_interval_s": e.chunk_interval_s,
                "stuff_size": e.stuff_size,
                "stuff_max_distance_ticks": e.stuff_max_distance_ticks,
                "regime": 1.0 if e.regime == "volatile" else 0.0,
            }
            if happens and n > 0:
                end = min(start + duration, sc.scenario.duration_s)
                venue_out = venue if e.kind not in ("regime", "mark") or e.venue != "any" else -1
                out.append(EventInstance(e.kind, e.label or e.kind, venue_out, start, end, side, params))
    for d in sc.desks:
        happens = rng.random() < d.axe.probability
        qty = _draw(rng, d.axe.qty)
        start = _draw(rng, d.axe.start_s)
        improvement = _draw(rng, d.axe.improvement_bps)
        if happens:
            out.append(EventInstance("axe", f"axed desk {d.name}", -1, start, start + d.axe.expiry_s, "any",
                                     {"qty": qty, "improvement_bps": improvement, "desk": float(sc.desks.index(d))}))
    out.sort(key=lambda ev: (ev.start_s, ev.kind))
    return out


def draw_parent_start(sc: Scenario, rng: np.random.Generator) -> float:
    if sc.parent is None:
        return 0.0
    return _draw(rng, sc.parent.start_s)
