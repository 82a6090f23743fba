"""The per-socket outbox: FIFO, then conflation of prices only, then the hard limit."""

from __future__ import annotations

import json

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


async def test_beyond_the_soft_limit_a_price_replaces_the_waiting_one_of_its_market_in_place() -> None:
    outbox = Outbox(soft_limit=2, hard_limit=20)
    outbox.put_price(price("game-1", "spread", 1), ("game-1", "acme", "spread"))
    outbox.put_price(price("game-1", "total", 2), ("game-1", "acme", "total"))
    outbox.put_price(price("game-1", "spread", 3), ("game-1", "acme", "spread"))
    outbox.put_price(price("game-1", "spread", 4), ("game-1", "acme", "spread"))
    frames = await drain(outbox)
    assert [(f["market"], f["seq"], f.get("conflated")) for f in frames] == [
        ("spread", 4, 3), ("total", 2, None)]
    assert all(f["type"] == "odds" for f in frames) and outbox.conflated == 2


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
    for seq in range(1, 6):  # past the soft limit, seqs 4 and 5 merge into the waiting seq 3
        outbox.put_price(price("game-1", "spread", seq), ("game-1", "acme", "spread"))
    outbox.put(b'{"type":"alert"}')
    first = [json.loads(frame) for frame in await outbox.next_frames(2)]
    assert [(frame["seq"], frame.get("conflated")) for frame in first] == [(1, None), (2, None)]
    rest = [json.loads(frame) for frame in await outbox.next_frames(10)]
    assert [(frame.get("seq"), frame.get("conflated"), frame["type"]) for frame in rest] == [
        (5, 3, "odds"), (None, None, "alert")]
    assert len(outbox) == 0


async def test_a_price_queued_under_the_soft_limit_after_the_queue_passed_it_is_still_the_one_merged_into() -> None:
    # The queue passes the soft limit, drains under it without emptying, then passes it again: a price
    # must merge into its market's newest waiting frame, never into an older one (that would send seq 3
    # before seq 2).
    outbox = Outbox(soft_limit=3, hard_limit=20)
    for market in ("spread", "total", "moneyline"):
        outbox.put_price(price("game-1", market, 1), ("game-1", "acme", market))
    outbox.put_price(price("game-1", "spread", 2), ("game-1", "acme", "spread"))  # past the limit: merges
    assert (json.loads(await outbox.next_frame())["seq"], len(outbox)) == (2, 2)
    outbox.put_price(price("game-1", "total", 2), ("game-1", "acme", "total"))  # under the limit: queues
    outbox.put_price(price("game-1", "total", 3), ("game-1", "acme", "total"))  # at it: merges into seq 2
    frames = await drain(outbox)
    assert [(f["market"], f["seq"], f.get("conflated")) for f in frames] == [
        ("total", 1, None), ("moneyline", 1, None), ("total", 3, 2)]


async def test_merging_still_works_after_the_queue_emptied() -> None:
    outbox = Outbox(soft_limit=1, hard_limit=20)
    for round_ in range(2):
        outbox.put_price(price("game-1", "spread", 2 * round_ + 1), ("game-1", "acme", "spread"))
        outbox.put_price(price("game-1", "spread", 2 * round_ + 2), ("game-1", "acme", "spread"))
        assert [(f["seq"], f.get("conflated")) for f in await drain(outbox)] == [(2 * round_ + 2, 2)]
