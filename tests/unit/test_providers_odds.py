"""Simulated prices: conversions and random walks stay valid for their format, lines stay on the grid."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest
from sportsfeed_common.events import OddsUpdate, convert
from sportsfeed_providers.catalogue import SPORTS
from sportsfeed_providers.odds import (
    MARKETS,
    MarketSpec,
    MarketWalk,
    american_from_probability,
    decimal_from_probability,
    probability_from_american,
    probability_from_decimal,
    softmax,
)
from sportsfeed_providers.simulate import update_payload

STEPS = 5000
NOW = datetime(2026, 11, 23, 10, 15, 30, 123000, tzinfo=UTC)
SPECS = [(sport, spec) for sport in SPORTS for spec in MARKETS[sport]]
SPEC_IDS = [f"{sport}-{spec.market}" for sport, spec in SPECS]


def test_every_sport_has_the_markets_asked_for() -> None:
    expected = {
        "soccer": {("1x2", "decimal"), ("total", "decimal")},
        "basketball": {("spread", "american"), ("moneyline", "american")},
        "cricket": {("moneyline", "decimal")},
        "tennis": {("moneyline", "decimal")},
    }
    assert {sport: {(spec.market, spec.odds_format) for spec in specs} for sport, specs in MARKETS.items()} == expected


def test_american_odds_are_never_between_minus_and_plus_100() -> None:
    for step in range(0, 100_001):
        odds = american_from_probability(step / 100_000)
        assert odds <= -100 or odds >= 100, step
        assert isinstance(odds, int)


def test_decimal_odds_never_reach_1_01() -> None:
    for step in range(0, 100_001):
        odds = decimal_from_probability(step / 100_000)
        assert odds > 1.01, step
        assert round(odds, 2) == odds


@pytest.mark.parametrize("probability", [0.1, 0.25, 0.4, 0.5, 0.524, 0.6, 0.75, 0.9])
def test_conversions_round_trip(probability: float) -> None:
    assert probability_from_american(american_from_probability(probability)) == pytest.approx(probability, abs=0.005)
    assert probability_from_decimal(decimal_from_probability(probability)) == pytest.approx(probability, abs=0.01)


def test_even_money_and_the_classic_spread_price() -> None:
    assert american_from_probability(0.5) == -100
    assert american_from_probability(110 / 210) == -110
    assert american_from_probability(0.4) == 150
    assert decimal_from_probability(0.5) == 2.0


def test_softmax_is_a_probability_distribution() -> None:
    probabilities = softmax([2.0, 0.3, 0.0])
    assert sum(probabilities) == pytest.approx(1.0)
    assert probabilities[0] > probabilities[1] > probabilities[2]


def validate(sport: str, spec: MarketSpec, walk: MarketWalk, rng: random.Random, ts: datetime) -> OddsUpdate:
    item = update_payload(f"game-sim-{sport}-1", spec, walk.step(rng), ts)
    return convert({**item, "provider": "sim"}, OddsUpdate)


def check_lines(spec: MarketSpec, update: OddsUpdate) -> None:
    if spec.line is None:
        assert update.home is None and update.away is None
        return
    assert update.home is not None and update.away is not None
    assert (update.home * 2).is_integer() and (update.away * 2).is_integer()
    assert spec.line.low <= update.home * 2 <= spec.line.high
    if spec.line.kind == "spread":
        assert update.away == -update.home
    else:
        assert update.away == update.home > 0


@pytest.mark.parametrize(("sport", "spec"), SPECS, ids=SPEC_IDS)
def test_a_long_walk_stays_valid(sport: str, spec: MarketSpec) -> None:
    rng = random.Random(f"{sport}-{spec.market}")
    walk = MarketWalk(spec, rng)
    for _ in range(STEPS):
        update = validate(sport, spec, walk, rng, NOW)
        assert update.odds_format == spec.odds_format
        assert (update.draw_odds is not None) == (spec.outcomes == 3)
        if spec.odds_format == "decimal":
            assert min(update.home_odds, update.away_odds, update.draw_odds or 2.0) > 1.01
        check_lines(spec, update)


@pytest.mark.parametrize(("sport", "spec"), SPECS, ids=SPEC_IDS)
def test_even_a_wild_walk_stays_valid(sport: str, spec: MarketSpec) -> None:
    # Huge steps pin the walk against its bounds, where rounding would bite if anywhere.
    wild = dataclasses.replace(spec, volatility=5.0, logit_bound=50.0)
    if wild.line is not None:
        wild = dataclasses.replace(wild, line=dataclasses.replace(wild.line, move_chance=0.9))
    rng = random.Random(99)
    walk = MarketWalk(wild, rng)
    for _ in range(STEPS):
        check_lines(wild, validate(sport, wild, walk, rng, NOW))


@pytest.mark.parametrize(("sport", "spec"), SPECS, ids=SPEC_IDS)
def test_the_walk_moves(sport: str, spec: MarketSpec) -> None:
    rng = random.Random(5)
    walk = MarketWalk(spec, rng)
    prices = {walk.step(rng) for _ in range(500)}
    assert len(prices) > 5


def test_a_spread_near_pick_em_never_shows_minus_zero() -> None:
    spec = MARKETS["basketball"][0]
    walk = MarketWalk(spec, random.Random(1))
    walk.half_points = 0
    assert [str(line) for line in walk.lines()] == ["0.0", "0.0"]

