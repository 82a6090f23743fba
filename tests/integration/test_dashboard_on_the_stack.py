"""The analysts' dashboard in Debian's Chromium against the whole platform: prices posted to ingest,
the stream processor's alerts, the gateway's status frames. No fake gateway: every state shown here is
produced by the real services (a game's resyncing by a real gap in ``odds.live``).

One private stack for the module, with feed-health thresholds short enough to watch (a live game is
stale after 3 s without an update, a provider down after 4 s) and a gateway that starts conflating a
socket's prices past 16 waiting frames, with a small kernel send buffer, so that a slowed page meets
conflation with a burst of a few hundred updates.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sportsfeed_common.events import ImpliedProbabilities, LiveUpdate, Trace, encode
from sportsfeed_common.times import now_millis
from sportsfeed_common.topics import ODDS_LIVE
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import wait_until

from ..kafka_watch import produce
from ..stacks import private_stack

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SETTINGS = {"STALE_AFTER_SECONDS": "3", "PROVIDER_DOWN_AFTER_SECONDS": "4", "SERIES_WRITE_INTERVAL_SECONDS": "1",
            "QUEUE_SOFT_LIMIT": "16", "SOCKET_SEND_BUFFER_BYTES": "4096"}
SCREENS = 30_000  # ms: how long a state may take to reach the page (a check interval, a batch, a frame)


@contextmanager
def settings_in_environment() -> Iterator[None]:
    """The services read their settings from the environment they start with: SETTINGS, for as long as
    the stack starts processes (at first, and again when a test restarts one)."""
    saved = dict(os.environ)
    os.environ.update(SETTINGS)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with settings_in_environment():
        stacked = private_stack("sportsfeed-dashboard-")
        running = stacked.__enter__()
    try:
        yield running
    finally:
        stacked.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    # After the stack: the stack starts with asyncio.run, which sync Playwright's own loop would refuse.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1440, "height": 900})
    opened.goto(f"{stack.config.gateway_url}/")
    expect(opened.locator("#connection-state")).to_have_text("live", timeout=SCREENS)
    yield opened
    opened.close()


class Provider:
    """The local stack's simulated provider's key, posting what a test asks."""

    def __init__(self, stack: Stack) -> None:
        self.ingest = stack.config.ingest_url
        self.key = LocalProviderKeys(stack.config.state_dir).key_for(SIMULATED_PROVIDER)
        self.clock = datetime.now(UTC)

    def post(self, path: str, body: dict[str, Any], method: str = "POST") -> None:
        request = urllib.request.Request(f"{self.ingest}{path}", data=json.dumps(body).encode(), method=method,
                                         headers={"Content-Type": "application/json", "X-API-Key": self.key})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202, response.read()

    def price(self, game_id: str, home_odds: int, status: str = "open", market: str = "spread") -> None:
        self.post("/v1/odds", {"updates": [self.update(game_id, home_odds, status, market)]})

    def update(self, game_id: str, home_odds: int, status: str = "open", market: str = "spread") -> dict[str, Any]:
        self.clock += timedelta(milliseconds=10)  # every update later than the one before: each is new
        return {"provider": SIMULATED_PROVIDER, "gameId": game_id, "market": market, "status": status,
                "ts": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "home": -3.5, "away": 3.5, "homeOdds": home_odds, "awayOdds": -110}

    def reference_price(self, game_id: str, home_odds: int) -> None:
        """A price as the reference system's scripts post it (PUT /feeds, no key): the local stack's second
        provider, ``reference``."""
        self.clock += timedelta(milliseconds=10)
        date = self.clock.strftime("%Y-%m-%d %H:%M:%S.") + f"{self.clock.microsecond // 1000:03d}"
        request = urllib.request.Request(f"{self.ingest}/feeds", method="PUT", headers={
            "Content-Type": "application/json"}, data=json.dumps({"odds": [{
                "gameId": game_id, "date": date, "type": "spread", "home": -3.5, "away": 3.5, "homeOdds": home_odds,
                "awayOdds": -110}]}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202, response.read()

    def game(self, game_id: str, status: str, sport: str = "basketball") -> None:
        self.post("/v1/games", {"games": [{
            "gameId": game_id, "sport": sport, "name": f"{game_id} match", "homeTeam": "Home",
            "awayTeam": "Away", "gameDate": (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace(
                "+00:00", "Z"), "status": status}]}, method="PUT")


def outside_playwrights_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` to its end in a thread of its own: sync Playwright keeps an event loop running here."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, coroutine).result()


def a_game() -> str:
    return f"game-ui-{uuid.uuid4().hex[:8]}"


def row(page: Page, game_id: str, market: str = "spread"):
    return page.locator(f'tr[data-game="{game_id}"][data-provider="{SIMULATED_PROVIDER}"][data-market="{market}"]')


def group(page: Page, game_id: str):
    return page.locator(f'tbody.game[data-game="{game_id}"]')


def test_a_suspended_market_is_marked_until_it_opens_again(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    provider.price(game_id, -110)
    expect(row(page, game_id)).to_have_attribute("data-status", "open", timeout=SCREENS)
    provider.price(game_id, -115, status="suspended")
    expect(row(page, game_id)).to_have_class(re.compile(r"\bsuspended\b"), timeout=SCREENS)
    expect(row(page, game_id)).to_have_attribute("data-status", "suspended")
    provider.price(game_id, -120)
    expect(row(page, game_id)).not_to_have_class(re.compile(r"\bsuspended\b"), timeout=SCREENS)
    expect(row(page, game_id).locator('td[data-field="homeOdds"]')).to_have_text("-120")


def test_the_latency_panel_fills_from_the_platforms_own_trace_stamps(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    for number in range(5):
        provider.price(game_id, -110 - number)
    for hop in ("end to end", "ingested \u2192 processed", "processed \u2192 pushed", "pushed \u2192 received"):
        row_of_hop = page.locator(f'#latency tr[data-hop="{hop}"]')
        expect(row_of_hop.locator("td.p50")).to_have_text(re.compile(r"^\d[\d,]* ms$"), timeout=SCREENS)
        expect(row_of_hop.locator("td.p99")).to_have_text(re.compile(r"^\d[\d,]* ms$"))


def counts_of(stack: Stack, game_id: str) -> int:
    """The game's updates of the last hour, as the read API counts them (the stream processor writes its
    series every second here); 0 while nothing of the game is stored."""
    window = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
    url = f"{stack.config.gateway_url}/api/v1/games/{game_id}/counts?{urllib.parse.urlencode(window)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return sum(count["count"] for count in json.loads(response.read())["counts"])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return 0
        raise


def american_probability(odds: int) -> float:
    return -odds / (100 - odds) if odds < 0 else 100 / (odds + 100)


def test_the_chart_shows_one_providers_candles_and_the_games_updates_per_minute(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    # Three minutes ago: four prices of the simulated provider and two of the reference one; a minute ago,
    # two more of the simulated one. Recent enough for the series, and two minutes of candles.
    provider.clock = datetime.now(UTC) - timedelta(minutes=3)
    for price in (-110, -130, -105, -120):
        provider.price(game_id, price)
    for price in (-200, -210):
        provider.reference_price(game_id, price)
    provider.clock = datetime.now(UTC) - timedelta(minutes=1)
    for price in (-113, -114):
        provider.price(game_id, price)

    wait_until(lambda: counts_of(stack, game_id) == 8, timeout=30, what="the game's counts in the read API")
    row(page, game_id).click()
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-provider", SIMULATED_PROVIDER, timeout=SCREENS)
    expect(chart).to_have_attribute("data-history", "loaded", timeout=SCREENS)
    expect(chart).to_have_attribute("data-points", "2")
    # The older minute's candle: the simulated provider's own open, extremes and close, in probability
    # (the longest price the lowest), with nothing of the reference provider's -200s in it.
    first = page.evaluate("() => window.sportsfeedDashboard.chart.candles[0].home")
    expected = {"open": -110, "high": -130, "low": -105, "close": -120}
    assert first == pytest.approx({side: american_probability(odds) for side, odds in expected.items()})
    expect(page.locator("#counts-plot")).to_have_attribute("data-total", "8", timeout=SCREENS)
    expect(page.locator("#counts-plot")).to_have_attribute("data-periods", "2")
    page.locator('#counts button[data-resolution="hour"]').click()
    expect(page.locator("#counts-plot")).to_have_attribute("data-resolution", "hour", timeout=SCREENS)
    expect(page.locator("#counts-plot")).to_have_attribute("data-total", "8")

    # The other provider, chosen on screen: its candle alone.
    page.locator('#chart-providers button[data-provider="reference"]').click()
    expect(chart).to_have_attribute("data-provider", "reference", timeout=SCREENS)
    expect(chart).to_have_attribute("data-history", "loaded", timeout=SCREENS)
    expect(chart).to_have_attribute("data-points", "1")
    candle = page.evaluate("() => window.sportsfeedDashboard.chart.candles[0].home")
    expected = {"open": -200, "high": -210, "low": -200, "close": -210}
    assert candle == pytest.approx({side: american_probability(odds) for side, odds in expected.items()})


def test_the_board_watches_only_the_sports_and_games_chosen(page: Page, browser: Browser, stack: Stack) -> None:
    provider, basketball_game, tennis_game = Provider(stack), a_game(), a_game()
    provider.game(basketball_game, "live", sport="basketball")
    provider.game(tennis_game, "live", sport="tennis")
    provider.price(basketball_game, -110)
    provider.price(tennis_game, -120)
    for game_id in (basketball_game, tennis_game):
        expect(row(page, game_id)).to_be_visible(timeout=SCREENS)

    page.locator('#watch-sports button[data-sport="tennis"]').click()
    expect(page.locator('#watch-sports button[data-sport="tennis"]')).to_have_attribute("aria-pressed", "true")
    expect(group(page, basketball_game)).to_have_count(0, timeout=SCREENS)
    expect(row(page, tennis_game)).to_be_visible()
    assert "sports=tennis" in page.url
    # A page watching everything is the oracle: once it shows the basketball price, the gateway has fanned
    # it out, and a later tennis price reaches the watching page behind it on the same socket, had it been sent.
    oracle = browser.new_page()
    try:
        oracle.goto(f"{stack.config.gateway_url}/")
        expect(oracle.locator("#connection-state")).to_have_text("live", timeout=SCREENS)
        unwatched = page.evaluate("() => window.sportsfeedDashboard.unwatched")
        provider.price(basketball_game, -111)
        expect(row(oracle, basketball_game).locator('td[data-field="homeOdds"]')).to_have_text("-111", timeout=SCREENS)
    finally:
        oracle.close()
    provider.price(tennis_game, -121)
    expect(row(page, tennis_game).locator('td[data-field="homeOdds"]')).to_have_text("-121", timeout=SCREENS)
    expect(group(page, basketball_game)).to_have_count(0)
    assert page.evaluate("() => window.sportsfeedDashboard.unwatched") == unwatched, "sent though not subscribed"

    # A game named on screen joins with its latest price (its snapshot), and the address keeps the choice.
    page.locator("#watch-game-input").fill(basketball_game)
    page.locator("#watch-game-input").press("Enter")
    expect(page.locator(f'#watch-games .watch-game[data-game="{basketball_game}"]')).to_be_visible()
    expect(row(page, basketball_game).locator('td[data-field="homeOdds"]')).to_have_text("-111", timeout=SCREENS)
    assert f"games={basketball_game}" in page.url
    page.reload()
    expect(row(page, basketball_game).locator('td[data-field="homeOdds"]')).to_have_text("-111", timeout=SCREENS)
    expect(row(page, tennis_game).locator('td[data-field="homeOdds"]')).to_have_text("-121", timeout=SCREENS)
    assert page.evaluate("() => window.sportsfeedDashboard.watch") == {
        "everything": False, "sports": ["tennis"], "games": [basketball_game]}

    # A name that is no game is refused on the spot; "all games" brings every game back.
    page.locator("#watch-game-input").fill("no such game")
    page.locator("#watch-game-input").press("Enter")
    expect(page.locator("#watch-game-input")).to_have_class(re.compile(r"\binvalid\b"))
    page.locator('#watch-games button[data-unwatch]').click()
    expect(group(page, basketball_game)).to_have_count(0, timeout=SCREENS)
    page.locator("#watch-all").click()
    expect(page.locator("#watch")).to_have_attribute("data-everything", "true")
    provider.price(basketball_game, -112)
    expect(row(page, basketball_game).locator('td[data-field="homeOdds"]')).to_have_text("-112", timeout=SCREENS)
    assert "sports=" not in page.url and "games=" not in page.url


def test_a_quiet_live_game_is_marked_stale_until_its_next_update(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    provider.game(game_id, "live")  # only live games go stale
    provider.price(game_id, -110)
    expect(group(page, game_id)).to_have_attribute("data-state", "stale", timeout=SCREENS)
    expect(group(page, game_id).locator(".badge-stale")).to_be_visible()
    provider.price(game_id, -125)
    expect(group(page, game_id)).to_have_attribute("data-state", "live", timeout=SCREENS)


def test_an_alert_appears_when_the_provider_stops(page: Page, stack: Stack) -> None:
    Provider(stack).price(a_game(), -110)  # then nothing: the provider has stopped
    down = page.locator(f'#alerts li[data-kind="provider_down"][data-provider="{SIMULATED_PROVIDER}"]')
    expect(down.first).to_be_visible(timeout=SCREENS)
    expect(page.locator(f'#providers li[data-provider="{SIMULATED_PROVIDER}"]')).to_have_class(
        re.compile(r"\bdown\b"), timeout=SCREENS)


def test_a_gap_in_the_stream_shows_the_game_resyncing_until_a_fresh_snapshot(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    provider.price(game_id, -110)
    expect(row(page, game_id).locator('td[data-field="homeOdds"]')).to_have_text("-110", timeout=SCREENS)
    resyncs = page.evaluate("() => window.sportsfeedDashboard.resyncs")
    # Seqs 2 to 4 of the game never reach odds.live, as when a processor's output was lost.
    stamp = now_millis()
    gapped = LiveUpdate(provider=SIMULATED_PROVIDER, game_id=game_id, market="spread", ts=provider.clock + timedelta(
        seconds=1), home=-3.5, away=3.5, home_odds=-150, away_odds=-110, seq=5, date=stamp // 1000,
        implied=ImpliedProbabilities(home=0.6, away=0.52), trace=Trace(ingested_at=stamp, processed_at=stamp))
    record = (game_id.encode(), encode(gapped))
    outside_playwrights_loop(produce(stack.config.kafka_bootstrap, ODDS_LIVE.name, [record]))
    # The gateway says resyncing, the page asks for a snapshot, which starts the game afresh at seq 5.
    expect(row(page, game_id).locator('td[data-field="homeOdds"]')).to_have_text("-150", timeout=SCREENS)
    expect(group(page, game_id)).to_have_attribute("data-state", "live", timeout=SCREENS)
    # It was resyncing in between, if only for less than a painted frame (the snapshot answers at once).
    assert page.evaluate("() => window.sportsfeedDashboard.resyncs") == resyncs + 1
    expect(group(page, game_id).locator(".game-seq")).to_have_text("seq 5")


def test_a_restarted_gateway_shows_every_game_resyncing_until_the_page_resumes_it(
        page: Page, stack: Stack, tmp_path: Path) -> None:
    """A restarting gateway takes no socket until its replay window is warm: meanwhile the page cannot know
    what it missed, and says so; the resume then brings what was posted while it was down."""
    provider, game_id = Provider(stack), a_game()
    provider.price(game_id, -110)
    expect(row(page, game_id).locator('td[data-field="homeOdds"]')).to_have_text("-110", timeout=SCREENS)
    gateway = next(server for server in stack.servers if server.name == "push-gateway")
    assert gateway.process.stop()
    expect(group(page, game_id)).to_have_attribute("data-state", "resyncing", timeout=SCREENS)
    expect(page.locator("#connection-state")).to_have_text("reconnecting")
    provider.price(game_id, -120)  # while the gateway is down
    folder = Path(os.environ.get("SPORTSFEED_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "board-resyncing.png"))
    with settings_in_environment(), ThreadPoolExecutor(1) as thread:
        thread.submit(stack.start).result()  # in a thread: the launcher runs asyncio, which Playwright's loop refuses
    expect(row(page, game_id).locator('td[data-field="homeOdds"]')).to_have_text("-120", timeout=SCREENS)
    expect(group(page, game_id)).to_have_attribute("data-state", "live")
    expect(page.locator("#connection-state")).to_have_text("live")


def test_a_slowed_page_gets_every_markets_newest_price_through_conflation(page: Page, stack: Stack) -> None:
    provider, game_id = Provider(stack), a_game()
    markets = ("spread", "total", "moneyline")
    for market in markets:
        provider.price(game_id, -101, market=market)
    for market in markets:
        expect(row(page, game_id, market)).to_be_visible(timeout=SCREENS)
    conflated_before = gateway_metric(stack, "sportsfeed_gateway_conflated_total")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 40})  # the page reads its socket slowly now
    last: dict[str, int] = {}
    for start in range(0, 600, 200):  # 600 updates, 200 per market, the prices walking down
        updates = []
        for number in range(start, start + 200):
            market = markets[number % 3]
            last[market] = -102 - number
            updates.append(provider.update(game_id, last[market], market=market))
        provider.post("/v1/odds", {"updates": updates})
    for market in markets:
        expect(row(page, game_id, market).locator('td[data-field="homeOdds"]')).to_have_text(
            str(last[market]), timeout=120_000)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    assert gateway_metric(stack, "sportsfeed_gateway_conflated_total") > conflated_before, "nothing was conflated"
    assert page.evaluate("() => window.sportsfeedDashboard.gaps") == 0  # every jump was announced


def gateway_metric(stack: Stack, name: str) -> float:
    with urllib.request.urlopen(f"{stack.config.gateway_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_screenshots_of_the_board_in_each_state(page: Page, stack: Stack, tmp_path: Path) -> None:
    """A picture of a live, a stale and a suspended game, and of a game's candle chart, for the eye: written
    under the test's folder, or to ``SPORTSFEED_SCREENSHOTS`` when set (docs/images holds the one the docs
    show). The resyncing picture comes from the gateway restart above."""
    provider = Provider(stack)
    live_game, suspended_game, stale_game = a_game(), a_game(), a_game()
    # The live game's last eight minutes, for its chart: four prices a minute, walking.
    provider.clock = datetime.now(UTC) - timedelta(minutes=8)
    walk = [-130, -136, -127, -133, -141, -138, -146, -140, -135, -129, -137, -132, -125, -131, -122, -128]
    for minute in range(8):
        provider.clock = datetime.now(UTC) - timedelta(minutes=8 - minute)
        provider.post("/v1/odds", {"updates": [provider.update(live_game, walk[(minute * 4 + step) % len(walk)] - minute)
                                               for step in range(4)]})
    provider.game(stale_game, "live")
    provider.price(stale_game, -110)
    provider.price(suspended_game, -105, status="suspended")
    expect(group(page, stale_game)).to_have_attribute("data-state", "stale", timeout=SCREENS)
    provider.price(live_game, -135)
    expect(row(page, suspended_game)).to_have_attribute("data-status", "suspended", timeout=SCREENS)
    wait_until(lambda: counts_of(stack, live_game) == 33, timeout=30, what="the live game's counts")
    row(page, live_game).click()
    expect(page.locator("#chart")).to_have_attribute("data-history", "loaded", timeout=SCREENS)
    expect(page.locator("#counts-plot")).to_have_attribute("data-total", "33", timeout=SCREENS)
    folder = Path(os.environ.get("SPORTSFEED_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "board-states.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
