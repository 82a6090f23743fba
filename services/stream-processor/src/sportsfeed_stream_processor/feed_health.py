"""Feed health: stale games, providers down, up or slow. Checked every check interval; providers'
activity crosses workers through ``provider.activity``, watched by one agent."""

from __future__ import annotations

from collections.abc import Callable

import faust
from sportsfeed_common.topics import ODDS_RAW

from .activity import ProviderActivity, decode_activity
from .alerts import ProviderHealth, StaleGames
from .outputs import Outputs
from .placement import partition_of
from .processor import OddsProcessor


class FeedHealth:
    def __init__(self, app: faust.App, processor: OddsProcessor, stale_games: StaleGames,
                 provider_health: ProviderHealth, outputs: Outputs, clock: Callable[[], int]) -> None:
        self._app = app
        self._processor = processor
        self.stale_games = stale_games
        self.provider_health = provider_health
        self._outputs = outputs
        self._clock = clock

    async def check(self) -> None:
        """Stale games this worker owns; its provider activity out; its providers' health."""
        now = self._clock()
        assigned = {tp.partition for tp in self._app.consumer.assignment() if tp.topic == ODDS_RAW.name}
        for alert in self.stale_games.check(now, owned=lambda game_id: partition_of(
                game_id, ODDS_RAW.partitions) in assigned):
            await self._outputs.alert(alert)
        for provider, minutes in self._processor.take_activity().items():
            await self._outputs.activity(ProviderActivity(provider=provider, minutes=minutes))
        for alert in self.provider_health.check(now):
            await self._outputs.alert(alert)

    async def watch_providers(self, stream: faust.StreamT) -> None:
        """The agent of ``provider.activity``: each worker's reports of the providers this one watches."""
        async for value in stream:
            activity = decode_activity(value)
            back = self.provider_health.seen(activity.provider, activity.minutes, self._clock())
            if back is not None:
                await self._outputs.alert(back)
