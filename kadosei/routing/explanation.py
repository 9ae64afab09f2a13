"""A routing decision: the ranked provider names plus why they are in that order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kadosei.routing.stats import BREAKER_NAMES, CLOSED

# (name, success-when-answered, availability, evidence, fee, net, ev, sampled ev, breaker state)
Row = tuple[str, float, float, float, float | None, float, float, float, int]


class Ranking(list):
    """Provider names best first; ``.reason`` and ``.explanation`` tell why."""

    reason: str

    def __init__(
        self, names: Sequence[str], reason: str, build: Callable[[], dict[str, Any]]
    ) -> None:
        super().__init__(names)
        self.reason = reason
        self._build = build
        self._explanation: dict[str, Any] | None = None

    @property
    def explanation(self) -> dict[str, Any]:
        """A JSON-serialisable account of the decision (built on first access)."""
        if self._explanation is None:
            self._explanation = self._build()
        return self._explanation

    @classmethod
    def from_rows(
        cls,
        context: Mapping[str, Any],
        rows: list[Row],
        probe: str | None,
        assumed_fee: float,
        version: str,
        held: bool = False,
        pauses: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Ranking:
        """Order scored candidates: a due probe first, closed breakers by drawn EV, open last.

        ``held``: the fee-best provider was kept although the estimates favour another one that
        has not yet shown it is better by more than the doubt in the numbers.
        ``pauses``: per provider whose breaker is not closed, why and until when (stored with
        its candidate, so the portal can say when it will be tried again).
        """
        active = [r for r in rows if r[8] == CLOSED and r[0] != probe]
        tripped = [r for r in rows if r[8] != CLOSED and r[0] != probe]
        active.sort(key=lambda r: (-r[7], r[0]))
        tripped.sort(key=lambda r: (-r[6], r[0]))
        ordered = ([r for r in rows if r[0] == probe] if probe else []) + active + tripped
        if probe:
            reason = "probe"
        elif not active:
            reason = "all_breakers_open"
        elif held:
            reason = "hold"
        elif max(active, key=lambda r: (r[6], _neg(r[0])))[0] != active[0][0]:
            reason = "explore"
        else:
            reason = "exploit"
        names = [r[0] for r in ordered]
        return cls(
            names,
            reason,
            lambda: _explain(context, ordered, reason, probe, assumed_fee, version, pauses or {}),
        )


def _neg(name: str) -> tuple[int, ...]:
    """Sort key that prefers the alphabetically first name among equal EVs."""
    return tuple(-ord(ch) for ch in name)


def _explain(
    context: Mapping[str, Any],
    ordered: list[Row],
    reason: str,
    probe: str | None,
    assumed_fee: float,
    version: str,
    pauses: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The explanation dict stored with the attempt and shown in the portal."""
    candidates = []
    for position, (name, p, a, evidence, fee, _net, ev, drawn, state) in enumerate(ordered, 1):
        candidates.append(
            {
                "provider": name,
                "rank": position,
                "breaker": "half_open" if name == probe else BREAKER_NAMES[state],
                "estimate": round(p * a, 5),
                "success_when_answered": round(p, 5),
                "availability": round(a, 5),
                "evidence": round(evidence, 1),
                "fee": None if fee is None else round(fee, 2),
                "fee_known": fee is not None,
                "fee_used": round(assumed_fee if fee is None else fee, 2),
                "ev": round(ev, 2),
                "sampled_ev": round(drawn, 2),
                **pauses.get(name, {}),
            }
        )
    return {
        "policy": version,
        "reason": reason,
        "chosen": ordered[0][0] if ordered else None,
        "segment": _segment(context),
        "amount": context.get("amount"),
        "eligible": [c["provider"] for c in candidates if c["breaker"] != "open"],
        "candidates": candidates,
    }


def _segment(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context fields the router learns by."""
    keys = ("mode", "payment_method", "currency", "country")
    return {k: context.get(k) for k in keys if context.get(k) is not None}


def fallback_ranking(
    context: Mapping[str, Any],
    candidates: Sequence[Mapping[str, Any]],
    fee_of: Callable[[Mapping[str, Any], int], float | None],
) -> Ranking:
    """The safe default order when the store is down: cheapest known fee first, then name."""
    amount = context.get("amount") or 0
    scored = [(fee_of(c, amount), c["provider"]) for c in candidates]
    scored.sort(key=lambda s: (s[0] is None, s[0] or 0.0, s[1]))
    names = [name for _, name in scored]

    def build() -> dict[str, Any]:
        return {
            "policy": "default-order",
            "reason": "store_unavailable",
            "chosen": names[0] if names else None,
            "segment": _segment(context),
            "amount": context.get("amount"),
            "eligible": names,
            "candidates": [
                {"provider": n, "rank": i, "fee": None if f is None else round(f, 2)}
                for i, (f, n) in enumerate(scored, 1)
            ],
        }

    return Ranking(names, "store_unavailable", build)
