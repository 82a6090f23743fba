"""Kafka's own performance tools, the suite's Kafka baselines: ProducerPerformance (records/s and
send latency of an unthrottled ``acks=all`` producer) and EndToEndLatency (produce-to-consume time of
one message at a time), run from the same cached Kafka jars as the local stack's broker.

Both tools report latency percentiles in whole milliseconds (they truncate), so a baseline
p50 of 0 ms means "under a millisecond".
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sportsfeed_common.topics import TopicSpec, create_topics
from sportsfeed_devstack.config import KAFKA_VERSION, StackConfig
from sportsfeed_devstack.maven import COMPLETE_MARKER
from sportsfeed_devstack.servers import Kafka, java_command, kafka_answers

PRODUCER_PERFORMANCE = "org.apache.kafka.tools.ProducerPerformance"
# 3.9 still ships kafka.tools.EndToEndLatency in the broker's jar, but only as a deprecated shim
# that forwards to this class in the kafka-tools jar.
END_TO_END_LATENCY = "org.apache.kafka.tools.EndToEndLatency"

# Dedicated topics: the tools write random bytes, which the services' topics must never see.
PRODUCER_PERFORMANCE_TOPIC = TopicSpec("bench.producer-performance", 12)  # as many partitions as odds.raw
END_TO_END_LATENCY_TOPIC = TopicSpec("bench.end-to-end-latency", 1)  # one message in flight at a time

DEFAULT_TIMEOUT_SECONDS = 600.0
OUTPUT_TAIL_LINES = 40

# Tools log through reload4j; without a configuration it prints "no appenders" warnings and
# hides the client's own warnings (unreachable broker, unknown topic) that explain a failure.
TOOLS_LOG4J = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""

_PRODUCER_SUMMARY = re.compile(
    r"^(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99\.9th\.$"
)
_LATENCY_AVERAGE = re.compile(r"^Avg latency: (?P<avg>[\d.]+) ms$")
_LATENCY_PERCENTILES = re.compile(r"^Percentiles: 50th = (?P<p50>\d+), 99th = (?P<p99>\d+), 99\.9th = (?P<p999>\d+)$")
_LATENCY_PROGRESS = re.compile(r"^(?P<sent>\d+)\t(?P<ms>[\d.E-]+)$")


class KafkaToolError(RuntimeError):
    """A Kafka tool could not run, failed or did not finish; the message ends with its last output."""


@dataclass(frozen=True)
class ProducerPerformanceResult:
    records: int
    record_size: int
    records_per_second: float
    mb_per_second: float
    latency_avg_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_p999_ms: float
    latency_max_ms: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EndToEndLatencyResult:
    messages: int
    message_size: int
    latency_avg_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_p999_ms: float

    def to_json(self) -> dict:
        return asdict(self)


async def producer_performance(
    bootstrap: str, records: int, record_size: int, topic: TopicSpec = PRODUCER_PERFORMANCE_TOPIC,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProducerPerformanceResult:
    """``records`` records of ``record_size`` bytes, unthrottled, ``acks=all``; every one must be acknowledged."""
    await _prepare(bootstrap, topic)
    print(f"  Kafka ProducerPerformance: {records:,} records of {record_size:,} B to {topic.name}, acks=all, "
          "unthrottled...", flush=True)
    tail = await run_kafka_tool(
        PRODUCER_PERFORMANCE,
        "--topic", topic.name, "--num-records", str(records), "--record-size", str(record_size),
        "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
        timeout=timeout, progress=lambda line: f"    {line}",
    )
    result = parse_producer_performance(tail, record_size)
    if result is None or result.records != records:
        # The tool counts only acknowledged records: fewer means some sends failed.
        acknowledged = "no summary" if result is None else f"{result.records:,} of {records:,} records acknowledged"
        raise KafkaToolError(f"ProducerPerformance against {bootstrap}: {acknowledged}; its last output:\n"
                             + "\n".join(tail))
    return result


async def end_to_end_latency(
    bootstrap: str, messages: int, message_size: int, topic: TopicSpec = END_TO_END_LATENCY_TOPIC,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> EndToEndLatencyResult:
    """``messages`` messages of ``message_size`` bytes, each produced (``acks=all``) and consumed before the next."""
    await _prepare(bootstrap, topic)
    print(f"  Kafka EndToEndLatency: {messages:,} messages of {message_size:,} B through {topic.name}, "
          "acks=all, one at a time...", flush=True)

    def progress(line: str) -> str | None:
        match = _LATENCY_PROGRESS.match(line)
        if match is None:
            return f"    {line}"
        return f"    {int(match['sent']):,} / {messages:,} messages, latest {float(match['ms']):.2f} ms"

    tail = await run_kafka_tool(
        END_TO_END_LATENCY, bootstrap, topic.name, str(messages), "all", str(message_size),
        timeout=timeout, progress=progress,
    )
    result = parse_end_to_end_latency(tail, messages, message_size)
    if result is None:
        raise KafkaToolError(f"EndToEndLatency against {bootstrap} printed no summary; its last output:\n"
                             + "\n".join(tail))
    return result


def parse_producer_performance(lines: list[str], record_size: int) -> ProducerPerformanceResult | None:
    """The final summary line (the only one with percentiles), or ``None`` when there is none."""
    for line in reversed(lines):
        if match := _PRODUCER_SUMMARY.match(line.strip()):
            return ProducerPerformanceResult(
                records=int(match["records"]), record_size=record_size,
                records_per_second=float(match["rate"]), mb_per_second=float(match["mb"]),
                latency_avg_ms=float(match["avg"]), latency_p50_ms=float(match["p50"]),
                latency_p95_ms=float(match["p95"]), latency_p99_ms=float(match["p99"]),
                latency_p999_ms=float(match["p999"]), latency_max_ms=float(match["max"]),
            )
    return None


def parse_end_to_end_latency(lines: list[str], messages: int, message_size: int) -> EndToEndLatencyResult | None:
    """The average and percentile lines printed at the end, or ``None`` when either is missing."""
    average = percentiles = None
    for line in lines:
        average = _LATENCY_AVERAGE.match(line.strip()) or average
        percentiles = _LATENCY_PERCENTILES.match(line.strip()) or percentiles
    if average is None or percentiles is None:
        return None
    return EndToEndLatencyResult(
        messages=messages, message_size=message_size, latency_avg_ms=float(average["avg"]),
        latency_p50_ms=float(percentiles["p50"]), latency_p99_ms=float(percentiles["p99"]),
        latency_p999_ms=float(percentiles["p999"]),
    )


async def _prepare(bootstrap: str, topic: TopicSpec) -> None:
    """Fail fast and clearly on an unreachable broker or a topic that cannot exist, instead of
    letting the tool wait out its client timeouts on every record."""
    if not await asyncio.to_thread(kafka_answers, bootstrap):
        raise KafkaToolError(f"no Kafka broker answers at {bootstrap}")
    try:
        await create_topics(bootstrap, (topic,))
    except Exception as error:  # the broker refused the topic (name, partitions, configuration)
        raise KafkaToolError(f"topic {topic.name!r} cannot be created on Kafka at {bootstrap}: {error!r}") from error


async def run_kafka_tool(main_class: str, *args: str, timeout: float,
                         progress: Callable[[str], str | None]) -> list[str]:
    """Run a tool, printing ``progress(line)`` for each output line; return its last output lines.

    Raises :class:`KafkaToolError` when it exits with an error or runs past ``timeout`` seconds
    (it is killed then: a tool waiting on a broker that went away would otherwise never end).
    """
    command = await asyncio.to_thread(kafka_tool_command, main_class, *args)
    name = main_class.rsplit(".", 1)[-1]
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    process = await asyncio.create_subprocess_exec(
        *command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with asyncio.timeout(timeout):
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip()
                tail.append(line)
                # Stack frames (indented) go to the error's tail only: a broker lost mid-run would
                # otherwise flood the console with one trace per failed record.
                if line and not line[0].isspace() and (shown := progress(line)) is not None:
                    print(shown, flush=True)
            returncode = await process.wait()
    except TimeoutError:
        raise KafkaToolError(f"{name} did not finish within {timeout:g} s; its last output:\n"
                             + "\n".join(tail)) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if returncode != 0:
        raise KafkaToolError(f"{name} failed (exit status {returncode}); its last output:\n" + "\n".join(tail))
    return list(tail)


def kafka_tool_command(main_class: str, *args: str) -> list[str]:
    """The devstack's java command for Kafka, with the kafka-tools jar added to its classpath."""
    kafka = Kafka(StackConfig.from_env())
    if not (kafka.lib / COMPLETE_MARKER).exists():
        # The broker may come from a container or the environment: the jars are still needed here.
        kafka.install()
    tools = _kafka_tools_folder(kafka.lib.parent / "tools")
    command = java_command(
        kafka.lib, main_class, *args,
        system_properties=(
            f"-Dlog4j.configuration=file:{tools / 'log4j.properties'}",
            # The summaries are parsed: their numbers must not follow the machine's locale.
            "-Duser.language=en", "-Duser.country=US",
        ),
    )
    classpath = command.index("-cp") + 1
    command[classpath] += os.pathsep + str(tools / f"kafka-tools-{KAFKA_VERSION}.jar")
    return command


def _kafka_tools_folder(folder: Path) -> Path:
    """The kafka-tools jar (not among the broker's runtime jars) and a logging configuration, cached.

    Its dependencies are all among the broker's jars, so only the jar itself is fetched. It lives
    beside ``lib``, not in it, because the launcher replaces ``lib`` whole when it resolves Kafka again.
    """
    jar = folder / f"kafka-tools-{KAFKA_VERSION}.jar"
    if not jar.exists():
        maven = shutil.which("mvn")
        if maven is None:
            raise KafkaToolError("Kafka's tools are fetched from Maven Central with Maven, but `mvn` is not on PATH: "
                                 "install Maven 3 (Debian/Ubuntu: apt-get install maven)")
        print(f"  Kafka {KAFKA_VERSION} tools: downloading kafka-tools from Maven Central (first run only)...",
              flush=True)
        # Into a separate folder first, so an interrupted download is never mistaken for the jar.
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        result = subprocess.run(
            [maven, "--batch-mode", "--no-transfer-progress", "--quiet", "dependency:copy",
             f"-Dartifact=org.apache.kafka:kafka-tools:{KAFKA_VERSION}", f"-DoutputDirectory={partial}"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise KafkaToolError(f"Maven could not fetch kafka-tools {KAFKA_VERSION}:\n{result.stdout}{result.stderr}")
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(partial / jar.name, jar)
        shutil.rmtree(partial, ignore_errors=True)
    log4j = folder / "log4j.properties"
    if not log4j.exists() or log4j.read_text() != TOOLS_LOG4J:
        log4j.write_text(TOOLS_LOG4J)
    return folder
