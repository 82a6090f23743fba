"""Odds arithmetic and the random walk behind simulated prices.

Prices are never walked directly: each market walks the log-odds of its
outcomes, turns them into probabilities, adds the bookmaker's margin, and only
then converts to American or decimal odds. A price therefore cannot wander
into a value its format forbids (American odds strictly between -100 and +100,
decimal odds at or below 1.0), however long the walk runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

OddsFormat = Literal["american", "decimal"]

# Well above the 1.0 the platform requires, so rounding can never reach it.
MIN_DECIMAL_ODDS = 1.02
# Implied probabilities are kept inside this band before conversion.
MIN_PROBABILITY = 0.01
MAX_PROBABILITY = 0.98


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def american_from_probability(probability: float) -> int:
    """American odds for an implied probability: favourites negative (<= -100), underdogs >= +100."""
    q = clamp(probability, MIN_PROBABILITY, MAX_PROBABILITY)
    if q >= 0.5:
        return -round(100 * q / (1 - q))
    return round(100 * (1 - q) / q)


def decimal_from_probability(probability: float) -> float:
    """Decimal odds for an implied probability, to two places, never below :data:`MIN_DECIMAL_ODDS`."""
    q = clamp(probability, MIN_PROBABILITY, MAX_PROBABILITY)
    return max(MIN_DECIMAL_ODDS, round(1 / q, 2))


def probability_from_american(odds: float) -> float:
    if odds < 0:
        return -odds / (-odds + 100)
    return 100 / (odds + 100)


def probability_from_decimal(odds: float) -> float:
    return 1 / odds


def price_for(probability: float, odds_format: OddsFormat) -> float:
    if odds_format == "american":
        return american_from_probability(probability)
    return decimal_from_probability(probability)


def softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    weights = [math.exp(logit - top) for logit in logits]
    total = sum(weights)
    return [weight / total for weight in weights]


@dataclass(frozen=True)
class LineSpec:
    """A market's line (spread points or a total), in half points so it stays on the 0.5 grid."""

    kind: Literal["spread", "total"]
    low: int  # half points
    high: int
    start_low: int
    start_high: int
    move_chance: float = 0.05


@dataclass(frozen=True)
class MarketSpec:
    """How one market of one sport is priced and how restless it is."""

    market: str
    odds_format: OddsFormat
    outcomes: int  # 2 (home, away) or 3 (home, draw, away)
    margin: float  # sum of implied probabilities, the bookmaker's overround
    logit_bound: float  # how lopsided the market may become
    volatility: float  # standard deviation of one step, in log-odds
    line: LineSpec | None = None


MARKETS: dict[str, tuple[MarketSpec, ...]] = {
    "soccer": (
        MarketSpec("1x2", "decimal", 3, margin=1.06, logit_bound=2.0, volatility=0.08),
        MarketSpec(
            "total", "decimal", 2, margin=1.06, logit_bound=1.0, volatility=0.06,
            line=LineSpec("total", low=1, high=13, start_low=3, start_high=7),
        ),
    ),
    "basketball": (
        # Spread prices hover around -110/-110; the line moves instead of the price.
        MarketSpec(
            "spread", "american", 2, margin=1.0476, logit_bound=0.35, volatility=0.03,
            line=LineSpec("spread", low=-40, high=40, start_low=-24, start_high=24),
        ),
        MarketSpec("moneyline", "american", 2, margin=1.045, logit_bound=2.5, volatility=0.08),
    ),
    "cricket": (MarketSpec("moneyline", "decimal", 2, margin=1.05, logit_bound=2.5, volatility=0.08),),
    "tennis": (MarketSpec("moneyline", "decimal", 2, margin=1.05, logit_bound=2.5, volatility=0.1),),
}


@dataclass(frozen=True)
class Price:
    """One market's current price; lines are ``None`` for markets without one."""

    home_odds: float
    away_odds: float
    draw_odds: float | None
    home: float | None
    away: float | None


class MarketWalk:
    """The random walk of one market of one game."""

    def __init__(self, spec: MarketSpec, rng: random.Random) -> None:
        self.spec = spec
        bound = spec.logit_bound
        # The last outcome (away) is the reference at log-odds 0; the others move against it.
        self.logits = [rng.uniform(-bound / 2, bound / 2) for _ in range(spec.outcomes - 1)] + [0.0]
        self.half_points = (
            rng.randint(spec.line.start_low, spec.line.start_high) if spec.line else None
        )

    def step(self, rng: random.Random) -> Price:
        bound = self.spec.logit_bound
        for index in range(len(self.logits) - 1):
            self.logits[index] = clamp(self.logits[index] + rng.gauss(0, self.spec.volatility), -bound, bound)
        line = self.spec.line
        if line is not None and self.half_points is not None and rng.random() < line.move_chance:
            self.half_points = int(clamp(self.half_points + rng.choice((-1, 1)), line.low, line.high))
        return self.price()

    def price(self) -> Price:
        implied = [p * self.spec.margin for p in softmax(self.logits)]
        prices = [price_for(q, self.spec.odds_format) for q in implied]
        home, away = self.lines()
        draw = prices[1] if self.spec.outcomes == 3 else None
        return Price(home_odds=prices[0], away_odds=prices[-1], draw_odds=draw, home=home, away=away)

    def lines(self) -> tuple[float | None, float | None]:
        """(home, away) lines: a spread gives opposite handicaps, a total the same number to both."""
        if self.spec.line is None or self.half_points is None:
            return None, None
        value = self.half_points / 2
        if self.spec.line.kind == "spread":
            return value, 0.0 - value  # never -0.0 on the wire
        return value, value
