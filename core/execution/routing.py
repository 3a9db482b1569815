"""The routing view: what the router may use for one parent right now.

For each of the parent's venues: its book and fees, whether it is switched on and up, the
capacity left there — the venue's available balance less what our not-yet-acknowledged orders on
the same side lock, and never more than the risk gate's participation room
(`RiskGate.participation_room`: the gate's own `max_participation` rule, asked, not re-derived)
— the toxicity to avoid, and the algo's preference. Capacity is in base units (a buyer's quote
balance is turned into base units at the venue's mid, taker fee included).

Toxicity is a trader's setting per venue (`toxicity`, for every algo) or, for an algo that routes
by surveillance (`Algo.toxicity`), the larger of that and its weight × the venue's score relative
to the cleanest venue the parent can trade on now. Preference is the algo's `venue_weight` (1 for
a plain schedule). Reads only: the router built here decides the allocation; nothing is sent here.
"""

from __future__ import annotations

from core.engine import Engine
from core.execution.algos import Algo
from core.execution.market_view import MarketView
from core.execution.router import Router, VenueRouting
from core.execution.venue_switches import VenueSwitches
from core.parent import ParentOrder
from core.types import Side


class RoutingView:
    """Builds the router a parent's slice is allocated by, from the venues' state now."""

    def __init__(self, engine: Engine, market: MarketView, switches: VenueSwitches) -> None:
        self.engine = engine
        self.market = market
        self.switches = switches
        self.toxicity: dict[str, float] = {}  # set by hand (tests, a trader's override): every algo

    def router(self, parent: ParentOrder, algo: Algo, started_s: float) -> Router:
        """The router for `parent`'s next slice, run by `algo` since clock time `started_s`."""
        router = Router()
        symbol = parent.instrument.symbol
        locked = self.locked_by_venue(parent)
        toxicity = self.toxicities(parent, algo)
        for name in self.market.venues_of(parent):
            venue = self.engine.venues[name]
            inst = venue.instrument(symbol)
            bal = venue.balances()
            asset = parent.instrument.base if parent.side is Side.SELL else parent.instrument.quote
            available = float(bal[asset].available) if asset in bal else 0.0
            mid = self.market.consolidated_mid((name,))
            if parent.side is Side.BUY:  # quote balance → base capacity, fees included
                available = available / (mid * (1 + inst.taker_fee_bps * 1e-4)) if mid > 0 else 0.0
            room = self.engine.risk.participation_room(name)
            capacity = max(min(available - locked.get(name, 0.0), room), 0.0)
            router.venues[name] = VenueRouting(
                inst,
                self.engine.books.get(name),
                inst.taker_fee_bps,
                inst.maker_fee_bps,
                capacity,
                toxicity=toxicity[name],
                preference=self.preference(algo, started_s, name),
                enabled=name not in self.switches.disabled and venue.is_up,
            )
        return router

    def toxicities(self, parent: ParentOrder, algo: Algo) -> dict[str, float]:
        """How much the router avoids each of the parent's venues (0 … 1).

        Surveillance's part is relative to the cleanest venue the parent can trade on now (enabled,
        up), (t − t_min)/(1 − t_min): it steers volume away from a venue worse than the others and
        never stops a parent because every venue scores alike (a market-wide move reads as adverse
        selection everywhere; excluding every venue left a parent unfilled for good)."""
        names = self.market.venues_of(parent)
        manual = {v: self.toxicity.get(v, 0.0) for v in names}
        seen = algo.toxicity(names)
        if seen is None:
            return manual
        scores = seen.scores
        usable = [scores[v] for v in names if v not in self.switches.disabled and self.engine.venues[v].is_up]
        floor = min(usable, default=0.0)
        if floor >= 1.0:  # every usable venue scores 1: none is worse than another
            return manual
        weight = seen.weight
        return {v: max(manual[v], weight * max((scores[v] - floor) / (1.0 - floor), 0.0)) for v in names}

    def preference(self, algo: Algo, started_s: float, venue: str) -> float:
        """The algo's routing weight for `venue` now (its lean or hold-back aimed there; 1 for a plain schedule)."""
        return algo.venue_weight(venue, self.engine.clock.now() - started_s)

    def locked_by_venue(self, parent: ParentOrder) -> dict[str, float]:
        """What our open orders on the same side already lock per venue (all parents, base units).

        Venue balances already net out acknowledged orders' locks; only orders the venue has not
        acknowledged yet (pending new) are added here so a burst can't overdraw a venue."""
        locked: dict[str, float] = {}
        for child in self.engine.oms.open_children():
            if child.side is parent.side and child.venue_order_id == "":
                locked[child.venue] = locked.get(child.venue, 0.0) + float(child.leaves)
        return locked
