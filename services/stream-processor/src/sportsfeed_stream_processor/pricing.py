"""What a price means: implied probabilities, the change against the previous price, movement.

Movement is measured in implied probability (percentage points of the home
side, or of the side that moved most), so one threshold works for American
and decimal odds alike: -110 -> -120 and 1.91 -> 1.83 are the same move.
"""

from __future__ import annotations

from collections.abc import Mapping

from sportsfeed_common.events import ImpliedProbabilities, OddsUpdate, PriceChange


def implied_probability(price: float, odds_format: str) -> float:
    """The probability a price implies, before the bookmaker's margin is removed."""
    if odds_format == "decimal":
        return 1.0 / price
    if price < 0:  # American favourite: -150 means stake 150 to win 100
        return -price / (-price + 100.0)
    return 100.0 / (price + 100.0)


def implied(update: OddsUpdate) -> ImpliedProbabilities:
    fmt = update.odds_format
    return ImpliedProbabilities(
        home=implied_probability(update.home_odds, fmt),
        away=implied_probability(update.away_odds, fmt),
        draw=implied_probability(update.draw_odds, fmt) if update.draw_odds is not None else None,
    )


def _difference(new: float | None, old: float | None) -> float | None:
    return new - old if new is not None and old is not None else None


def price_change(new: OddsUpdate, previous: OddsUpdate) -> PriceChange:
    return PriceChange(
        home_odds=new.home_odds - previous.home_odds,
        away_odds=new.away_odds - previous.away_odds,
        draw_odds=_difference(new.draw_odds, previous.draw_odds),
        home=_difference(new.home, previous.home),
        away=_difference(new.away, previous.away),
    )


def largest_shift(new: ImpliedProbabilities, previous: ImpliedProbabilities) -> float:
    """The largest change in implied probability of any side, in probability (0..1)."""
    shifts = [abs(new.home - previous.home), abs(new.away - previous.away)]
    if new.draw is not None and previous.draw is not None:
        shifts.append(abs(new.draw - previous.draw))
    return max(shifts)


class MovementThresholds:
    """Movement thresholds per sport and market, in implied probability points (0.02 = two points).

    Configured as ``"*=0.05,soccer=0.065,soccer/total=0.045"``: ``sport/market`` for one market of a
    sport, ``*/market`` for a market of any sport, ``sport`` for the rest of a sport's markets, and
    ``*`` for everything else (required).
    """

    def __init__(self, thresholds: Mapping[str, float]) -> None:
        if "*" not in thresholds:
            raise ValueError("MOVEMENT_THRESHOLDS: needs a '*' entry for sports without their own")
        self._thresholds = dict(thresholds)

    @classmethod
    def parse(cls, text: str) -> MovementThresholds:
        thresholds: dict[str, float] = {}
        for entry in filter(None, (part.strip() for part in text.split(","))):
            scope, separator, value = entry.partition("=")
            try:
                threshold = float(value)
            except ValueError:
                threshold = float("nan")
            sport, _, market = (part.strip() for part in scope.partition("/"))
            if not separator or not sport or ("/" in scope and not market) or not 0 < threshold < 1:
                raise ValueError(
                    f"MOVEMENT_THRESHOLDS: {entry!r} is not sport=points or sport/market=points with points "
                    "between 0 and 1 (e.g. soccer=0.03, soccer/total=0.045)"
                )
            thresholds[f"{sport}/{market}" if market else sport] = threshold
        return cls(thresholds)

    def for_market(self, sport: str | None, market: str) -> float:
        """The most specific threshold for ``market`` of ``sport`` (None: the game's sport is not known)."""
        thresholds = self._thresholds
        sport = sport or "*"
        for scope in (f"{sport}/{market}", f"*/{market}", sport):
            if scope in thresholds:
                return thresholds[scope]
        return thresholds["*"]
