"""Locust load test of sportsfeed: providers post odds, analysts watch them arrive over WebSockets.

    uv run locust --config tests/load/locust.conf

ProviderUser posts batches to ingest (PUT /feeds and POST /v1/odds, mixed) at --rate updates
per second in total; AnalystUser holds a WebSocket to the push gateway and reports each odds
frame's end-to-end latency (receipt minus ingest's ``trace.ingestedAt``) as a "WS odds e2e"
request. At the stop, providers stop, analysts get --drain-seconds to catch up, and a summary
(sent, accepted, delivered, gaps, duplicates, HdrHistogram percentiles) is printed and written
beside the CSV reports. docs/load-testing.md has the details.

The accounting is per Locust process: run it as one process (no --processes / --master).
"""

from __future__ import annotations

import logging
import time

import gevent
import websocket
from locust import User, constant, events, task
from locust.argument_parser import LocustArgumentParser
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.config import StackConfig
from sportsfeed_load.feed import (
    FEEDS_PATH,
    ODDS_PATH,
    EndpointMix,
    feeds_body,
    odds_body,
)
from sportsfeed_load.frames import decode_frame, subscribe_ops
from sportsfeed_load.run import LoadRun
from sportsfeed_load.settings import LoadSettings
from sportsfeed_load.summary import (
    build_summary,
    problems,
    render,
    summary_path,
    write_summary,
)

log = logging.getLogger("sportsfeed.load")

LOCAL_STACK = StackConfig.from_env()
CONNECT_TIMEOUT_SECONDS = 10
CLOSE_TIMEOUT_SECONDS = 1
RECONNECT_PAUSE_SECONDS = 1.0  # an analyst's backoff after a failed connect, as a browser would
STOPPED_PAUSE_SECONDS = 0.5  # a provider's idle loop once the run has stopped sending

_run: LoadRun | None = None


def current_run() -> LoadRun:
    if _run is None:
        raise RuntimeError("the load test has not started (no test_start event yet)")
    return _run


@events.init_command_line_parser.add_listener
def add_options(parser: LocustArgumentParser) -> None:
    # Straight on the parser, not in a group: only Locust's own add_argument knows is_secret (masked in the UI).
    parser.add_argument("--rate", type=float, default=500, env_var="SPORTSFEED_LOAD_RATE",
                        help="odds updates per second, all provider users together (default 500)")
    parser.add_argument("--games", type=int, default=50, env_var="SPORTSFEED_LOAD_GAMES",
                        help="games the updates are spread over, fresh for each run (default 50)")
    parser.add_argument("--batch-size", type=int, default=20, env_var="SPORTSFEED_LOAD_BATCH_SIZE",
                        help="updates per request (default 20)")
    parser.add_argument("--feeds-share", type=float, default=0.5, env_var="SPORTSFEED_LOAD_FEEDS_SHARE",
                        help="share of batches sent to PUT /feeds; the rest go to POST /v1/odds (default 0.5)")
    parser.add_argument("--providers", type=int, default=4, env_var="SPORTSFEED_LOAD_PROVIDERS",
                        help="provider users; every other user (-u minus this) is an analyst (default 4)")
    parser.add_argument("--provider-key", default="", env_var="SPORTSFEED_PROVIDER_KEY", is_secret=True,
                        help="X-API-Key for ingest (default: the local stack's, as `./sportsfeed key` prints)")
    parser.add_argument("--gateway-url", default=LOCAL_STACK.gateway_url, env_var="SPORTSFEED_GATEWAY_URL",
                        help=f"the push gateway, whose /ws analysts open (default {LOCAL_STACK.gateway_url})")
    parser.add_argument("--analyst-games", type=int, default=0, env_var="SPORTSFEED_LOAD_ANALYST_GAMES",
                        help="games each analyst subscribes to; 0 for all of them (default 0)")
    parser.add_argument("--drain-seconds", type=float, default=120, env_var="SPORTSFEED_LOAD_DRAIN_SECONDS",
                        help="at the stop, how long analysts may take to receive every accepted update (default 120)")
    parser.add_argument("--summary-file", default="", env_var="SPORTSFEED_LOAD_SUMMARY_FILE",
                        help="where the JSON summary goes (default: beside the CSV reports, <csv prefix>_summary.json)")


def settings_from(environment: Environment) -> LoadSettings:
    options = environment.parsed_options
    return LoadSettings(
        rate=options.rate,
        games=options.games,
        batch_size=options.batch_size,
        feeds_share=options.feeds_share,
        providers=options.providers,
        provider_key=options.provider_key or LocalProviderKeys(LOCAL_STACK.state_dir).key_for(SIMULATED_PROVIDER),
        gateway_url=options.gateway_url,
        analyst_games=options.analyst_games,
        drain_seconds=options.drain_seconds,
    )


@events.init.add_listener
def check_options(environment: Environment, **_kwargs) -> None:
    # gevent's loop caches "now" and has not run since the imports: refresh it, or the --run-time
    # timer Locust sets next starts seconds in the past and ends the run that much early.
    gevent.get_hub().loop.update_now()
    if environment.parsed_options is None:
        return  # used as a library: the caller configures the users
    ProviderUser.fixed_count = environment.parsed_options.providers  # analysts take the remaining users


@events.test_start.add_listener
def start_run(environment: Environment, **_kwargs) -> None:
    global _run
    try:
        _run = LoadRun(settings_from(environment))
    except ValueError as error:
        log.error("sportsfeed load test: %s", error)
        environment.process_exit_code = 2
        raise
    log.info("sportsfeed load test, run %s: %d games, %g updates/s", _run.run_id, len(_run.games), _run.settings.rate)


@events.test_stopping.add_listener
def drain(environment: Environment, **_kwargs) -> None:
    if _run is None or _run.drain_result is not None:
        return
    log.info("stopping providers; analysts have %g s to receive every accepted update", _run.settings.drain_seconds)
    _run.drain(gevent.sleep)


@events.test_stop.add_listener
def report(environment: Environment, **_kwargs) -> None:
    if _run is None:
        return
    runner = environment.runner
    summary = build_summary(_run, generator_saturated=bool(runner and runner.cpu_warning_emitted))
    print(render(summary), flush=True)
    options = environment.parsed_options
    path = summary_path(getattr(options, "csv_prefix", None), getattr(options, "summary_file", None))
    if path is not None:
        write_summary(summary, path)
        log.info("summary written to %s", path)
    if problems(summary):
        environment.process_exit_code = 1


class ProviderUser(FastHttpUser):
    """A provider posting batches to ingest, paced with the others to --rate in total."""

    fixed_count = 1  # replaced by --providers once options are parsed (Locust checks -u against it before)
    host = LOCAL_STACK.ingest_url  # --host
    wait_time = constant(0)  # the run's Pacer decides when to send

    def on_start(self) -> None:
        run = current_run()
        self.quotes = run.new_quote_source()
        self.mix = EndpointMix(run.settings.feeds_share)
        self.headers = {"Content-Type": "application/json", "X-API-Key": run.settings.provider_key}

    @task
    def post_batch(self) -> None:
        run = current_run()
        if run.sending:
            gevent.sleep(run.pacer.delay())
        if not run.sending:
            gevent.sleep(STOPPED_PAUSE_SECONDS)
            return
        quotes = self.quotes.take(run.settings.batch_size)
        if self.mix.next_is_feeds():
            method, path, body = "PUT", FEEDS_PATH, feeds_body(quotes)
        else:
            method, path, body = "POST", ODDS_PATH, odds_body(quotes)
        run.sends.on_sent(quotes)
        with run.request_in_flight(), self.client.request(
            method, path, data=body, headers=self.headers, name=f"{method} {path}", catch_response=True,
        ) as response:
            if response.status_code == 202 and response.json().get("accepted") == len(quotes):
                run.sends.on_accepted(quotes)
            else:
                run.sends.on_refused(response.status_code, quotes)
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")


class AnalystUser(User):
    """An analyst's browser: one WebSocket, subscribed to the run's games from seq 0 (so a late
    connect still gets every update, replayed), resuming with ``since`` after a disconnect."""

    weight = 1
    wait_time = constant(0)  # the one task reads until the socket breaks

    def on_start(self) -> None:
        run = current_run()
        self.index, self.view = run.new_view()
        self.url = run.settings.socket_url(f"load-analyst-{self.index}")
        self.socket: websocket.WebSocket | None = None
        self.subscribed_at_ms = 0.0

    def on_stop(self) -> None:
        if self.socket is not None:
            self.socket.close(timeout=CLOSE_TIMEOUT_SECONDS)

    @task
    def watch(self) -> None:
        if not self._connect():
            gevent.sleep(RECONNECT_PAUSE_SECONDS)
            return
        assert self.socket is not None
        try:
            while data := self.socket.recv():
                self._on_message(data)
            raise websocket.WebSocketConnectionClosedException("the gateway closed the socket")
        except (websocket.WebSocketException, OSError) as error:
            current_run().disconnects += 1
            self._fire("disconnect", 0, error)
            self.socket.close(timeout=CLOSE_TIMEOUT_SECONDS)
            self.socket = None

    def _connect(self) -> bool:
        run = current_run()
        started = time.perf_counter()
        try:
            self.socket = websocket.create_connection(self.url, timeout=CONNECT_TIMEOUT_SECONDS,
                                                      skip_utf8_validation=True)
            self.socket.settimeout(None)  # quiet spells are normal; the stop ends the read
            self.subscribed_at_ms = time.time() * 1000
            for op in subscribe_ops(self.view.since()):
                self.socket.send(op)
        except (websocket.WebSocketException, OSError) as error:
            self._fire("connect", (time.perf_counter() - started) * 1000, error)
            return False
        run.connects += 1
        self._fire("connect", (time.perf_counter() - started) * 1000, None)
        return True

    def _on_message(self, data: str | bytes) -> None:
        received_ms = time.time() * 1000  # before decoding: parsing is the client's time, not the platform's
        frame = decode_frame(data)
        if frame.type == "odds" and frame.game_id is not None and frame.seq is not None:
            self.view.on_odds(frame.game_id, frame.seq, frame.conflated, frame.skipped)
            run = current_run()
            ingested = frame.trace.ingested_at if frame.trace is not None else None
            if ingested is None or ingested < self.subscribed_at_ms:
                run.replayed_frames += 1  # sent before we asked: its age is not the platform's latency
                return
            run.live_frames += 1
            latency = run.latency.record(frame.trace, received_ms)
            if latency is not None:
                self._fire("odds e2e", latency, None, len(data))
        elif frame.type == "snapshot" and frame.game_id is not None and frame.seq is not None:
            self.view.on_snapshot(frame.game_id, frame.seq, bool(frame.recovered))
        else:
            self.view.other[frame.type] += 1

    def _fire(self, name: str, milliseconds: float, error: BaseException | None, length: int = 0) -> None:
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=milliseconds, response_length=length,
            exception=error, context={},
        )
