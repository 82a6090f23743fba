"""Analysts for the gateway benchmark: thousands of WebSockets, spread over worker processes.

The parent (:class:`AnalystProcesses`) sends each worker commands over a pipe. A worker runs
its share of analysts on one event loop and answers each command when it is done, with
progress messages in between. An analyst counts the ``odds`` frames it gets, checks each
game's seqs for gaps and duplicates, and when its socket closes it reconnects and resumes
with ``since``, as the dashboard does.

``frames``: "one" (the default) gets one JSON frame per WebSocket message; "batch" connects with
``&frames=batch``, and the gateway then writes everything waiting in the socket's outbox as one
message, the frames joined with "\n" (a compact JSON frame never holds a raw newline).

``protocol``: "sportsfeed" (the gateway's, and the fan-out baseline's) or "centrifugo": Centrifugo's
JSON protocol, where an analyst sends ``connect`` and ``subscribe`` commands, answers the server's
ping (``{}``) with a pong (``{}``) and reads each publication's data, which is the gateway's very
``odds`` frame. Centrifugo joins queued messages with "\n" into one WebSocket message, as
``frames=batch`` does. Only what is counted is decoded (msgspec structs naming those fields), so
that the analysts cost the machine as little as they can beside the server they measure.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import msgspec
from hdrh.histogram import HdrHistogram
from sportsfeed_common.events import hop_durations

CONNECT_CONCURRENCY = 200  # handshakes in flight per worker while a benchmark sets up
RETRY_SECONDS = (0.05, 0.25)  # a reconnecting client's jittered pause after a refused attempt
PROGRESS_SECONDS = 1.0
PROGRESS_PRINT_SECONDS = 5.0
# End-to-end latencies (ingest's ingestedAt to receipt, ms) up to a minute, 3 significant digits.
LATENCY_MAX_MS = 60_000
END_TO_END = "end_to_end"
SLOW_END_TO_END = "slow_end_to_end"  # the latency histogram of slow consumers' frames
# The hops of a frame carrying every stamp, named as hop_durations names them.
FULL_TRACE_HOPS = tuple(hop_durations(0, 1, 2, 3))
STALL_SECONDS = 30.0  # no frame and no analyst done for this long: the wait has failed
FRAMES_ONE, FRAMES_BATCH = "one", "batch"  # one frame per WebSocket message, or the outbox's frames joined by "\n"
FRAME_MODES = (FRAMES_ONE, FRAMES_BATCH)
PROTOCOL_SPORTSFEED, PROTOCOL_CENTRIFUGO = "sportsfeed", "centrifugo"
PROTOCOLS = (PROTOCOL_SPORTSFEED, PROTOCOL_CENTRIFUGO)
CENTRIFUGO_CHANNEL = "odds"
CENTRIFUGO_CONNECT_ID, CENTRIFUGO_SUBSCRIBE_ID = 1, 2
# Both commands in one message, "\n"-joined as the protocol allows: connect, then subscribe.
CENTRIFUGO_HELLO = (f'{{"id":{CENTRIFUGO_CONNECT_ID},"connect":{{}}}}\n'
                    f'{{"id":{CENTRIFUGO_SUBSCRIBE_ID},"subscribe":{{"channel":"{CENTRIFUGO_CHANNEL}"}}}}')
CENTRIFUGO_PONG = "{}"


class Stalled(RuntimeError):
    """Analysts stopped getting what they wait for; the message says how far they got."""


class TraceStamps(msgspec.Struct, rename="camel"):
    """Epoch-millisecond stamps of each hop (``sportsfeed_common.events.Trace``)."""

    ingested_at: int | None = None
    processed_at: int | None = None
    pushed_at: int | None = None

    def hops(self, received_ms: int) -> dict[str, float]:
        """Milliseconds in each hop whose two stamps are known, ingest to receipt, in pipeline order."""
        return hop_durations(self.ingested_at, self.processed_at, self.pushed_at, received_ms)


class Frame(msgspec.Struct):
    """The fields of a gateway frame an analyst here looks at."""

    type: str
    trace: TraceStamps | None = None
    gameId: str | None = None  # noqa: N815 (the wire's name)
    seq: int | None = None
    recovered: bool | None = None
    conflated: int | None = None
    skipped: int | None = None  # updates of the game before this frame, merged into a later one


_decode_frame = msgspec.json.Decoder(Frame).decode


class CentrifugoPublication(msgspec.Struct):
    data: Frame


class CentrifugoPush(msgspec.Struct):
    pub: CentrifugoPublication | None = None


class CentrifugoReply(msgspec.Struct):
    """A message of Centrifugo's JSON protocol, as far as an analyst here reads it: a command's reply
    (``id``), a push (a publication), or a ping (``{}``: no id, no push)."""

    id: int = 0
    push: CentrifugoPush | None = None
    error: dict[str, Any] | None = None


_decode_centrifugo = msgspec.json.Decoder(CentrifugoReply).decode


class Tally(msgspec.Struct):
    """What a worker's analysts received, summed."""

    frames: int = 0  # odds frames
    gaps: int = 0  # seqs never received (conflated ones excepted)
    duplicates: int = 0
    conflated: int = 0  # updates merged into frames by a slow client's queue
    not_recovered: int = 0  # resumes that got a fresh snapshot instead of the missed updates
    connections: int = 0  # hellos: first connections and reconnections
    failed_connects: int = 0


class BenchAnalyst:
    def __init__(self, worker: Worker, client_id: str, games: list[str] | None, read_delay: float = 0.0,
                 frames: str = FRAMES_ONE, protocol: str = PROTOCOL_SPORTSFEED) -> None:
        if frames not in FRAME_MODES:
            raise ValueError(f"frames must be one of {FRAME_MODES}, got {frames!r}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if protocol == PROTOCOL_CENTRIFUGO and (games is not None or read_delay):
            raise ValueError("a Centrifugo analyst gets every update at once: no games, no read delay")
        self.worker = worker
        self.protocol = protocol
        self.client_id = client_id
        self.games = games  # None: no subscribe, every update (the reference's behaviour)
        self.read_delay = read_delay  # a slow consumer: seconds it spends on each frame before reading on
        self.frames = frames
        self.last_seq: dict[str, int] = {}
        self.tally = Tally()
        self.target: dict[str, int] = {}
        self.pending: set[str] = set()
        self.min_connections = 0
        self.done = True

    async def run(self, url: str, gate: asyncio.Semaphore) -> None:
        while not self.worker.closing:
            try:
                if self.tally.connections == 0:
                    async with gate:
                        socket = await self._connect(url)
                else:
                    socket = await self._connect(url)
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.tally.failed_connects += 1
                await asyncio.sleep(random.uniform(*RETRY_SECONDS))  # a client's backoff, not a wait
                continue
            self.worker.sockets.add(socket)
            if self.protocol == PROTOCOL_CENTRIFUGO:
                await self._read_centrifugo(socket)
                continue
            try:
                if self.games is not None:
                    since = {game: self.last_seq[game] for game in self.games if game in self.last_seq}
                    await socket.send_str(json.dumps({"op": "subscribe", "games": self.games, "since": since}))
                batched = self.frames == FRAMES_BATCH
                async for message in socket:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        if batched:
                            count = self.on_message(message.data)
                            if self.read_delay:
                                await asyncio.sleep(self.read_delay * count)  # per frame, as below
                            continue
                        self.on_frame(message.data)
                        if self.read_delay:
                            await asyncio.sleep(self.read_delay)  # the slow consumer's pace, not a wait
            except (aiohttp.ClientError, OSError):
                pass  # the connection broke: reconnect
            finally:
                self.worker.sockets.discard(socket)

    async def _read_centrifugo(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await socket.send_str(CENTRIFUGO_HELLO)
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT and self.on_centrifugo_message(message.data):
                    await socket.send_str(CENTRIFUGO_PONG)
        except (aiohttp.ClientError, OSError):
            pass  # the connection broke: reconnect
        finally:
            self.worker.sockets.discard(socket)

    def on_centrifugo_message(self, data: str) -> bool:
        """One WebSocket message of Centrifugo's, its replies and pushes joined by "\n"; whether it
        held a ping (to be answered with a pong)."""
        pinged = False
        for piece in data.split("\n"):
            if not piece:
                continue
            reply = _decode_centrifugo(piece)
            if reply.push is not None:
                if reply.push.pub is not None:
                    self.on_decoded(reply.push.pub.data)
            elif reply.error is not None:
                raise RuntimeError(f"Centrifugo refused command {reply.id}: {reply.error}")
            elif reply.id == CENTRIFUGO_SUBSCRIBE_ID:  # subscribed: it gets every publication from now
                self.on_decoded(Frame(type="hello"))
            elif reply.id == 0:
                pinged = True
        return pinged

    async def _connect(self, url: str) -> aiohttp.ClientWebSocketResponse:
        if self.protocol == PROTOCOL_CENTRIFUGO:
            return await self.worker.session.ws_connect(f"{url}/connection/websocket", autoping=True,
                                                        max_msg_size=0)
        # A subscribing analyst gets nothing before its subscribe (mode=subscribed), so its resume is exact.
        mode = "everything" if self.games is None else "subscribed"
        batch = "&frames=batch" if self.frames == FRAMES_BATCH else ""  # "one" is the gateway's default: unsaid
        return await self.worker.session.ws_connect(f"{url}/ws?client={self.client_id}&mode={mode}{batch}",
                                                    autoping=True, max_msg_size=0)

    def on_message(self, data: str) -> int:
        """A batched message (``frames=batch``): its frames, joined by "\n", each handled as
        :meth:`on_frame`; how many there were."""
        count = 0
        for piece in data.split("\n"):
            if piece:  # tolerate a trailing newline
                self.on_frame(piece)
                count += 1
        return count

    def on_frame(self, data: str) -> None:
        self.on_decoded(_decode_frame(data))

    def on_decoded(self, frame: Frame) -> None:
        if frame.type == "odds" and frame.gameId is not None and frame.seq is not None:
            self.tally.frames += 1
            if frame.trace is not None and frame.trace.ingested_at is not None:
                self.worker.record_latency(frame.trace, time.time_ns() // 1_000_000, slow=bool(self.read_delay))
            last = self.last_seq.get(frame.gameId, 0)
            if frame.seq <= last:
                self.tally.duplicates += 1
                return
            merged = (frame.conflated or 1) - 1
            self.tally.conflated += merged
            self.tally.gaps += max(0, frame.seq - last - 1 - merged - (frame.skipped or 0))
            self.last_seq[frame.gameId] = frame.seq
            if frame.gameId in self.pending and frame.seq >= self.target[frame.gameId]:
                self.pending.discard(frame.gameId)
                self._check()
        elif frame.type == "hello":
            self.tally.connections += 1
            self._check()
        elif frame.type == "snapshot" and frame.gameId is not None and frame.seq is not None:
            if not frame.recovered:
                if frame.gameId in self.last_seq:
                    self.tally.not_recovered += 1
                self.last_seq[frame.gameId] = frame.seq

    def expect(self, target: dict[str, int], min_connections: int) -> None:
        if self.games is not None:  # a watcher of some games waits only for those
            target = {game: seq for game, seq in target.items() if game in self.games}
        self.target = target
        self.pending = {game for game, seq in target.items() if self.last_seq.get(game, 0) < seq}
        self.min_connections = min_connections
        self.done = False
        self._check()

    def _check(self) -> None:
        if not self.done and not self.pending and self.tally.connections >= self.min_connections:
            self.done = True
            self.worker.analyst_done()


class Worker:
    """One process's analysts and the command loop that drives them."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.analysts: list[BenchAnalyst] = []
        self.sockets: set[aiohttp.ClientWebSocketResponse] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.closing = False
        self.done_count = 0
        self.last_done_at = 0.0
        self.all_done = asyncio.Event()
        # Per histogram (end_to_end, each hop), frames per whole millisecond since the last take.
        self.latency_counts: defaultdict[str, Counter[int]] = defaultdict(Counter)

    async def serve(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        commands: dict[str, Callable[..., Any]] = {
            "connect": self.connect, "expect": self.expect, "tally": self.tally, "close": self.close,
            "latency": self.take_latency}
        while True:
            command = await asyncio.to_thread(self.pipe.recv)
            name = command.pop("op")
            self.pipe.send({"reply": await commands[name](**command)})
            if name == "close":
                return

    async def connect(self, url: str, client_ids: list[str], games_each: list[list[str] | None],
                      read_delays: list[float], frames: str = FRAMES_ONE,
                      protocol: str = PROTOCOL_SPORTSFEED) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        fresh = [BenchAnalyst(self, client_id, games, delay, frames, protocol)
                 for client_id, games, delay in zip(client_ids, games_each, read_delays, strict=True)]
        self.analysts.extend(fresh)
        self.tasks.extend(asyncio.create_task(analyst.run(url, gate)) for analyst in fresh)
        return await self._wait(fresh, {}, min_connections=1)

    async def expect(self, target: dict[str, int], min_connections: int) -> dict[str, Any]:
        return await self._wait(self.analysts, target, min_connections)

    async def _wait(self, analysts: list[BenchAnalyst], target: dict[str, int], min_connections: int) -> dict:
        """Until every one of ``analysts`` has ``target``'s seqs over at least ``min_connections``
        connections; when the last got there (epoch seconds)."""
        self.done_count, self.last_done_at = 0, 0.0
        frames_before = self._frames()
        self.all_done.clear()
        self._watching = len(analysts)
        for analyst in analysts:
            analyst.expect(target, min_connections)
        last_change, last_state = time.monotonic(), (0, 0)
        while not self.all_done.is_set():
            try:
                await asyncio.wait_for(self.all_done.wait(), PROGRESS_SECONDS)
            except TimeoutError:
                state = (self.done_count, self._frames() - frames_before)
                if state != last_state:
                    last_change, last_state = time.monotonic(), state
                elif time.monotonic() - last_change > STALL_SECONDS:
                    tally = await self.tally()
                    return {"stalled": f"{state[0]:,} of {len(analysts):,} analysts got there and nothing has "
                                       f"arrived for {STALL_SECONDS:.0f} s; connections {tally['connections']:,} "
                                       f"(more than one per analyst: sockets were closed), failed connects "
                                       f"{tally['failed_connects']:,}"}
                self.pipe.send({"progress": state[0], "frames": state[1]})
        return {"done_at": self.last_done_at, "count": len(analysts)}

    def record_latency(self, trace: TraceStamps, received_ms: int, slow: bool = False) -> None:
        """End to end (``ingestedAt`` to receipt) and each hop; one machine, one clock. A slow
        consumer's frames are kept apart (``slow_end_to_end``): they are late by its own doing.

        Runs for every frame, on the cores the platform uses: whole milliseconds are counted, and
        only :meth:`take_latency` makes histograms of them."""
        ingested = trace.ingested_at
        assert ingested is not None
        counts = self.latency_counts
        if slow:
            counts[SLOW_END_TO_END][_whole_ms(received_ms - ingested)] += 1
            return
        counts[END_TO_END][_whole_ms(received_ms - ingested)] += 1
        processed, pushed = trace.processed_at, trace.pushed_at
        if processed is not None and pushed is not None:  # every stamp, as the gateway sends them
            for hop, milliseconds in zip(FULL_TRACE_HOPS, (processed - ingested, pushed - processed,
                                                            received_ms - pushed), strict=True):
                counts[hop][_whole_ms(milliseconds)] += 1
            return
        for hop, milliseconds in trace.hops(received_ms).items():
            counts[hop][_whole_ms(milliseconds)] += 1

    async def take_latency(self) -> dict[str, bytes]:
        """The latencies recorded since the last call (``end_to_end`` and each hop, in pipeline order),
        as encoded HdrHistograms; recording starts afresh."""
        taken, self.latency_counts = self.latency_counts, defaultdict(Counter)
        taken.setdefault(END_TO_END, Counter())
        histograms = {}
        for name, counts in taken.items():
            histogram = histograms[name] = new_latency_histogram()
            for milliseconds, frames in counts.items():
                histogram.record_value(milliseconds, frames)
        return {name: histogram.encode() for name, histogram in histograms.items()}

    def _frames(self) -> int:
        return sum(analyst.tally.frames for analyst in self.analysts)

    def analyst_done(self) -> None:
        self.done_count += 1
        self.last_done_at = time.time()
        if self.done_count >= self._watching:
            self.all_done.set()

    async def tally(self) -> dict[str, int]:
        total = Tally()
        for analyst in self.analysts:
            for field in Tally.__struct_fields__:
                setattr(total, field, getattr(total, field) + getattr(analyst.tally, field))
        return msgspec.structs.asdict(total)

    async def close(self) -> dict[str, int]:
        self.closing = True
        await asyncio.gather(*(socket.close() for socket in list(self.sockets)), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.session.close()
        return {"closed": len(self.analysts)}


def new_latency_histogram() -> HdrHistogram:
    return HdrHistogram(1, LATENCY_MAX_MS, 3)


def _whole_ms(milliseconds: float) -> int:
    # Stamps are whole milliseconds: a hop can read 0 (or -1 across a millisecond boundary).
    return min(max(round(milliseconds), 1), LATENCY_MAX_MS)


def _worker_main(pipe: Connection) -> None:
    asyncio.run(Worker(pipe).serve())


class AnalystProcesses:
    """Worker processes of analysts, driven together; each command returns every worker's answer."""

    def __init__(self, processes: int, label: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._label = label
        self._pipes: list[Connection] = []
        self._processes = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=_worker_main, args=(child,), daemon=True)
            process.start()
            self._pipes.append(parent)
            self._processes.append(process)
        self.count = 0

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes if process.pid is not None]

    async def connect(self, url: str, count: int, games: list[str] | None, prefix: str,
                      frames: str = FRAMES_ONE, protocol: str = PROTOCOL_SPORTSFEED) -> float:
        """Open ``count`` sockets (client ids ``<prefix>-<n>``), each subscribed to ``games`` (None: to
        nothing, so it gets every update); the seconds until every hello arrived. ``frames``: "one" or
        "batch"; ``protocol``: "sportsfeed" or "centrifugo" (see the module's docstring)."""
        return await self.connect_watching(url, [games] * count, prefix, frames=frames, protocol=protocol)

    async def connect_watching(self, url: str, games_each: list[list[str] | None], prefix: str,
                               read_delays: list[float] | None = None, frames: str = FRAMES_ONE,
                               protocol: str = PROTOCOL_SPORTSFEED) -> float:
        """One socket per entry of ``games_each``, subscribed to those games; seconds until every hello.
        ``read_delays``: per socket, seconds its analyst spends on each frame (0: reads at once).
        ``frames``, ``protocol``: for every socket of this call (see the module's docstring)."""
        if frames not in FRAME_MODES:
            raise ValueError(f"frames must be one of {FRAME_MODES}, got {frames!r}")
        started = time.time()
        count = len(games_each)
        delays = read_delays or [0.0] * count
        shares = [list(range(number, count, len(self._pipes))) for number in range(len(self._pipes))]
        self.count += count
        answers = await self._all([
            {"op": "connect", "url": url, "client_ids": [f"{prefix}-{n}" for n in share],
             "games_each": [games_each[n] for n in share], "read_delays": [delays[n] for n in share],
             "frames": frames, "protocol": protocol}
            for share in shares], what="connected")
        return max(answer["done_at"] for answer in answers) - started

    async def expect(self, target: dict[str, int], min_connections: int, what: str, frames: int = 0) -> float:
        """Wait until every analyst has ``target``'s seqs; when the last one got there (epoch seconds).
        ``frames``: how many odds frames that takes in all, for the progress lines."""
        answers = await self._all([{"op": "expect", "target": target, "min_connections": min_connections}]
                                  * len(self._pipes), what=what, frames=frames)
        return max(answer["done_at"] for answer in answers)

    async def tally(self) -> Tally:
        total = Tally()
        for answer in await self._all([{"op": "tally"}] * len(self._pipes), what=""):
            for field, value in answer.items():
                setattr(total, field, getattr(total, field) + value)
        return total

    async def take_latency(self) -> dict[str, HdrHistogram]:
        """Every worker's latencies since the last call, merged: ``end_to_end`` and each hop (in
        pipeline order); each worker starts afresh."""
        merged: dict[str, HdrHistogram] = {"end_to_end": new_latency_histogram()}
        for answer in await self._all([{"op": "latency"}] * len(self._pipes), what=""):
            for name, encoded in answer.items():
                merged.setdefault(name, new_latency_histogram()).add(HdrHistogram.decode(encoded))
        return merged

    async def close(self) -> None:
        await self._all([{"op": "close"}] * len(self._pipes), what="")
        for process in self._processes:
            process.join(timeout=10)
        self.count = 0

    def terminate(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()

    async def _all(self, commands: list[dict[str, Any]], what: str, frames: int = 0) -> list[Any]:
        progress = [0] * len(self._pipes)
        received = [0] * len(self._pipes)
        expected = f" of {frames:,}" if frames else ""
        printed = time.monotonic()

        async def answer(number: int) -> Any:
            nonlocal printed
            self._pipes[number].send(dict(commands[number]))
            while True:
                message = await asyncio.to_thread(self._pipes[number].recv)
                if "reply" in message:
                    return message["reply"]
                progress[number], received[number] = message["progress"], message["frames"]
                if what and time.monotonic() - printed >= PROGRESS_PRINT_SECONDS:
                    printed = time.monotonic()
                    print(f"    {self._label}: {sum(progress):,} of {self.count:,} analysts {what} "
                          f"({sum(received):,}{expected} odds frames received)", flush=True)

        # Every worker's answer is read before any stall is raised, so no answer is left in a pipe.
        answers = list(await asyncio.gather(*(answer(n) for n in range(len(self._pipes)))))
        stalls = [a["stalled"] for a in answers if isinstance(a, dict) and "stalled" in a]
        if stalls:
            raise Stalled(f"{self._label}: " + "; ".join(stalls))
        return answers
