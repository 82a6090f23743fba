"""Where a service spent a scenario: counters and histogram sums scraped from its ``/metrics``
before and after, so a latency figure comes with the reason for it."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

# The worker's batches of odds (its batches of games are few and small).
PERSISTENCE_ODDS = {"topic": "odds.raw"}


@dataclass(frozen=True)
class Samples:
    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def get(self, name: str, **labels: str) -> float:
        wanted = frozenset(labels.items())
        return sum(value for (sample, sample_labels), value in self.values.items()
                   if sample == name and wanted <= sample_labels)

    def __sub__(self, earlier: Samples) -> Samples:
        return Samples({key: value - earlier.values.get(key, 0.0) for key, value in self.values.items()})


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
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
