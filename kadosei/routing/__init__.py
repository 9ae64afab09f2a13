"""Payment routing: rank eligible providers by learned expected value (see docs/routing.md)."""

from kadosei.routing.explanation import Ranking
from kadosei.routing.policy import Router, candidate_fee
from kadosei.routing.stats import Params
from kadosei.routing.store import MemoryStore, Store, StoreUnavailable

__all__ = [
    "MemoryStore",
    "Params",
    "Ranking",
    "Router",
    "Store",
    "StoreUnavailable",
    "candidate_fee",
]
