"""The per-socket outbox: FIFO, then conflation of prices only, then the hard limit."""

from __future__ import annotations

import json
import random

import pytest
from sportsfeed_push_gateway.frames import odds_frame
from sportsfeed_push_gateway.outbox import Outbox


def price(game: str, market: str, seq: int, provider: str = "acme") -> bytes:
    return odds_frame(json.dumps({"gameId": game, "provider": provider, "market": market, "seq": seq}).encode())


async def drain(outbox: Outbox) -> list[dict]:
    return [json.loads(await outbox.next_frame()) for _ in range(len(outbox))]


async def test_below_the_soft_limit_every_frame_queues_in_order() -> None:
    outbox = Outbox(soft_limit=10, hard_limit=20)
    for seq in range(1, 6):
        assert outbox.put_price(price("game-1", "spread", seq), ("game-1", "acme", "spread"))
    assert [frame["seq"] for frame in await drain(outbox)] == [1, 2, 3, 4, 5]
    assert outbox.conflated == 0


async def test_beyond_the_soft_limit_a_price_replaces_the_waiting_one_of_its_market_at_the_back() -> None:
    outbox = Outbox(soft_limit=2, hard_limit=20)
    for seq, market in enumerate(("spread", "total", "spread", "total", "spread"), start=1):
        outbox.put_price(price("game-1", market, seq), ("game-1", "acme", market))
    frames = await drain(outbox)
    # Spread 3 went into spread 5, behind total 4, which says one update of its game went past it.
    assert [(f["market"], f["seq"], f.get("conflated"), f.get("skipped")) for f in frames] == [
        ("spread", 1, None, None), ("total", 2, None, None), ("total", 4, None, 1), ("spread", 5, 2, None)]
    assert all(f["type"] == "odds" for f in frames) and outbox.conflated == 1


async def test_other_providers_and_games_are_never_merged_together() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    outbox.put_price(price("game-1", "spread", 1), ("game-1", "acme", "spread"))
    outbox.put_price(price("game-1", "spread", 2, provider="beta"), ("game-1", "beta", "spread"))
    outbox.put_price(price("game-2", "spread", 1), ("game-2", "acme", "spread"))
    assert len(outbox) == 3 and outbox.conflated == 0


async def test_alerts_and_status_frames_are_never_conflated() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    for n in range(5):
        outbox.put(json.dumps({"type": "status", "gameId": "game-1", "stale": n % 2 == 0}).encode())
    assert [frame["stale"] for frame in await drain(outbox)] == [True, False, True, False, True]


async def test_a_price_taken_out_of_the_queue_is_not_merged_into_afterwards() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    outbox.put_price(price("game-1", "spread", 1), ("game-1", "acme", "spread"))
    assert json.loads(await outbox.next_frame())["seq"] == 1
    outbox.put(b'{"type":"alert"}')
    outbox.put_price(price("game-1", "spread", 2), ("game-1", "acme", "spread"))
    assert [frame.get("seq") for frame in await drain(outbox)] == [None, 2]


async def test_past_the_hard_limit_the_outbox_says_so() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=3)
    assert all(outbox.put(b'{"type":"alert"}') for _ in range(3))
    assert not outbox.put(b'{"type":"alert"}')


async def test_frames_waiting_are_taken_together_in_order_at_most_so_many_with_conflation_marked() -> None:
    outbox = Outbox(soft_limit=3, hard_limit=20)
    for seq in range(1, 6):  # past the soft limit, seq 5 takes the place of seq 4, at the back
        outbox.put_price(price("game-1", "spread", seq), ("game-1", "acme", "spread"))
    outbox.put(b'{"type":"alert"}')
    first = [json.loads(frame) for frame in await outbox.next_frames(2)]
    assert [(frame["seq"], frame.get("conflated")) for frame in first] == [(1, None), (2, None)]
    rest = [json.loads(frame) for frame in await outbox.next_frames(10)]
    assert [(frame.get("seq"), frame.get("conflated"), frame["type"]) for frame in rest] == [
        (3, None, "odds"), (5, 2, "odds"), (None, None, "alert")]
    assert len(outbox) == 0


async def test_a_price_that_changed_its_markets_status_is_never_merged_away_nor_passed() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    key = ("game-1", "acme", "spread")
    outbox.put_price(price("game-1", "spread", 1), key)
    outbox.put_price(price("game-1", "spread", 2), key)
    outbox.put_price(price("game-1", "spread", 3), key, mergeable=False)  # suspended, say
    outbox.put_price(price("game-1", "spread", 4), key)  # may not merge into 2: it would pass 3
    outbox.put_price(price("game-1", "spread", 5), key)  # merges into 4
    assert [(f["seq"], f.get("conflated")) for f in await drain(outbox)] == [
        (1, None), (2, None), (3, None), (5, 2)]


async def test_a_hole_left_by_a_merged_frame_is_passed_on_to_the_next_frame_of_its_game() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    outbox.put_price(price("game-2", "spread", 1), ("game-2", "acme", "spread"))
    for seq, market in enumerate(("spread", "total", "spread", "total"), start=1):
        outbox.put_price(price("game-1", market, seq), ("game-1", "acme", market))
    # Spread 1 went into spread 3 (total 2 was told), then total 2 into total 4: its own update and
    # what it was told go to spread 3, now the next frame of the game.
    assert [(f["gameId"], f["seq"], f.get("conflated"), f.get("skipped")) for f in await drain(outbox)] == [
        ("game-2", 1, None, None), ("game-1", 3, 2, 2), ("game-1", 4, 2, None)]


async def test_merging_still_works_after_the_queue_emptied() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    for round_ in range(2):
        for seq in range(3 * round_ + 1, 3 * round_ + 4):
            outbox.put_price(price("game-1", "spread", seq), ("game-1", "acme", "spread"))
        assert [(f["seq"], f.get("conflated")) for f in await drain(outbox)] == [
            (3 * round_ + 1, None), (3 * round_ + 3, 2)]


@pytest.mark.parametrize("seed", range(20))
async def test_whatever_the_timing_a_client_sees_each_games_seqs_in_order_and_every_markets_last_price(
        seed: int) -> None:
    """Random puts and takes on a small queue: every game's seqs increase, every hole is announced
    (``skipped``) or stood for (``conflated``), and each market's last frame is its last price."""
    chance = random.Random(seed)
    outbox = Outbox(soft_limit=4, hard_limit=10_000)
    markets = [(f"game-{g}", "acme", m) for g in range(3) for m in ("spread", "total")]
    seq = dict.fromkeys((game for game, _, _ in markets), 0)
    last_sent: dict[tuple[str, str, str], int] = {}
    received: list[dict] = []
    for _ in range(300):
        if chance.random() < 0.7:
            game, provider, market = key = chance.choice(markets)
            seq[game] += 1
            last_sent[key] = seq[game]
            outbox.put_price(price(game, market, seq[game], provider), key, mergeable=chance.random() > 0.05)
        elif len(outbox):
            received.extend(json.loads(frame) for frame in await outbox.next_frames(chance.randint(1, 3)))
    received.extend(await drain(outbox))
    last_seq: dict[str, int] = {}
    last_price: dict[tuple[str, str, str], int] = {}
    for frame in received:
        game = frame["gameId"]
        before = last_seq.get(game, 0)
        assert frame["seq"] > before, f"seed {seed}: {game} went from {before} to {frame['seq']}"
        allowed = frame.get("conflated", 1) - 1 + frame.get("skipped", 0)
        assert frame["seq"] - before - 1 <= allowed, f"seed {seed}: a hole in {game} nobody announced"
        last_seq[game] = frame["seq"]
        last_price[(game, frame["provider"], frame["market"])] = frame["seq"]
    assert last_price == last_sent
