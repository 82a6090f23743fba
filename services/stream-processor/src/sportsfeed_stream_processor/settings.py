"""The stream processor's settings, read once from the environment."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import msgspec
from sportsfeed_common.settings import CommonSettings, Port

from .alerts import parse_rate_thresholds
from .pricing import MovementThresholds

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class ProcessorSettings(CommonSettings, kw_only=True):
    host: str = "0.0.0.0"
    port: Port = 8083
    # faust keeps its working files here (a writable folder; the container's root file system is not).
    data_dir: str = str(Path(tempfile.gettempdir()) / "sportsfeed-{conf.id}")  # {conf.id}: the consumer group
    consumer_group: Annotated[str, msgspec.Meta(min_length=1)] = "sportsfeed-stream-processor"
    # Kafka static membership (the pod's name): a restarted worker takes its partitions straight back,
    # without waiting for the group to give up on its previous life. Unique per replica; unset = dynamic.
    consumer_group_instance_id: str | None = None
    consumer_session_timeout_seconds: Annotated[float, msgspec.Meta(ge=6, le=300)] = 10.0
    # Up to this many accepted updates are processed together: whatever has arrived, never waiting
    # for more (sportsfeed_common.faust_worker.take_arrived). Their outputs are acknowledged together.
    batch_max_messages: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    # A change of at least this many implied-probability points is a movement, per sport and market
    # ("sport=points", "sport/market=points", "*/market=points", "*" for the rest). The defaults sit at
    # about the 99.7th percentile of one step of the simulated provider's markets, so that a movement
    # alert stands out rather than accompanying every third update.
    movement_thresholds: str = ("*=0.05,soccer=0.065,soccer/total=0.045,*/spread=0.023,basketball=0.055,"
                                "cricket=0.055,tennis=0.065")
    # A live game with no update for this long is stale.
    stale_after_seconds: Seconds = 30.0
    # A provider with no update for this long is down.
    provider_down_after_seconds: Seconds = 60.0
    # Updates per minute under which rate_low is raised, per provider: "*=60,acme=600" (0 = never).
    rate_low_thresholds: str = "*=0"
    # How often feed health is checked.
    check_interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    # How often the candles and counts that changed are written to DynamoDB. Every game that moved
    # is rewritten each time, so a short interval costs as many writes as the odds themselves (and
    # DynamoDB is what every pushed update waits on); a minute's candle a few seconds behind in the
    # read API costs nothing, since screens get every update live.
    series_write_interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    # Candles and counts of minutes older than this (by wall clock) leave the processor's state;
    # a price for such a minute still goes live but no longer changes its candle or count.
    # Each is kept in its game's state record, so the horizon is also what every record carries.
    series_horizon_minutes: Annotated[int, msgspec.Meta(ge=2, le=24 * 60)] = 10
    series_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365

    def __post_init__(self) -> None:
        super().__post_init__()
        MovementThresholds.parse(self.movement_thresholds)
        parse_rate_thresholds(self.rate_low_thresholds)
