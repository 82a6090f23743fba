"""Per-provider activity, published by each worker every check interval to ``provider.activity``.

A provider's games spread over every partition, so no sequencing worker sees
its whole feed; keyed by provider, this topic brings one provider's activity
from all workers to one watcher (``ProviderHealth``). Counts here feed alarms
only (the exact counts are the stored series), so a replay that reports some
activity twice is harmless.
"""

from __future__ import annotations

import msgspec
from sportsfeed_common.events import Event
from sportsfeed_common.ids import ProviderId


class ProviderActivity(Event, kw_only=True):
    provider: ProviderId
    # Updates sequenced per minute of processing time (epoch seconds of the minute).
    minutes: dict[int, int]


_decoder = msgspec.json.Decoder(ProviderActivity)


def encode_activity(activity: ProviderActivity) -> bytes:
    return msgspec.json.encode(activity)


def decode_activity(data: bytes) -> ProviderActivity:
    return _decoder.decode(data)
