"""A loopback exchange speaking Binance spot's REST and WebSocket protocol over one simulated venue.

`ExchangeServer` (server.py) serves it; `SimulatedExchange` (exchange.py) holds the venue's
orders, balances and trades; `Faults` (faults.py) are the fault-injection knobs.
"""

from adapters.exchange_server.faults import Faults
from adapters.exchange_server.server import ExchangeServer, ServerConfig

__all__ = ["ExchangeServer", "Faults", "ServerConfig"]
