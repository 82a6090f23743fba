"""Where a service spent a scenario: counters and histograms scraped from its ``/metrics`` before
and after, so a latency figure comes with the reason for it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sportsfeed_common.topics import ODDS_LIVE

# The worker's batches of odds (its batches of games are few and small).
PERSISTENCE_ODDS = {"topic": ODDS_LIVE.name}


@dataclass(frozen=True)
class Samples:
    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def get(self, name: str, **labels: str) -> float:
        wanted = frozenset(labels.items())
        return sum(value for (sample, sample_labels), value in self.values.items()
                   if sample == name and wanted <= sample_labels)

    def buckets(self, histogram: str, **labels: str) -> list[tuple[float, float]]:
        """The cumulative bucket counts of ``histogram`` as ``(upper bound, count)``, ascending, ``+Inf``
        last; summed over the series matching ``labels``."""
        counts: dict[float, float] = {}
        wanted = frozenset(labels.items())
        for (sample, sample_labels), value in self.values.items():
            if sample == f"{histogram}_bucket" and wanted <= sample_labels:
                bound = float(dict(sample_labels)["le"])
                counts[bound] = counts.get(bound, 0.0) + value
        return sorted(counts.items())

    def __sub__(self, earlier: Samples) -> Samples:
        return Samples({key: value - earlier.values.get(key, 0.0) for key, value in self.values.items()})


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        return parse(await response.text())


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition."""
    return Samples({(sample.name, frozenset(sample.labels.items())): sample.value
                    for family in text_string_to_metric_families(text) for sample in family.samples})


def persistence_summary(delta: Samples, seconds: float) -> str:
    """Batches, their mean size, and the share of the time spent writing to DynamoDB."""
    batches = delta.get("sportsfeed_persistence_batch_messages_count", **PERSISTENCE_ODDS)
    if not batches:
        return "persistence: no batches"
    messages = delta.get("sportsfeed_persistence_batch_messages_sum", **PERSISTENCE_ODDS)
    writing = delta.get("sportsfeed_persistence_write_seconds_sum", **PERSISTENCE_ODDS)
    return (f"persistence: {batches:,.0f} batches of {messages / batches:,.0f} on average, "
            f"{writing / batches * 1000:,.0f} ms writing each; writing {writing / seconds:.0%} of the time")


def bucket_quantile(buckets: list[tuple[float, float]], quantile: float) -> float | None:
    """The upper bound of the bucket the ``quantile`` (0..1) falls in: a bound the true value does not
    exceed, at the histogram's resolution. ``math.inf`` past the last finite bound; ``None`` with
    nothing observed. ``buckets`` are cumulative, as :meth:`Samples.buckets` gives them."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    return next((bound for bound, count in buckets if count >= rank), math.inf)
