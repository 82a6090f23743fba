"""faust's Kafka consumer, handing fetched records to the streams without four futures per record.

faust-streaming's drain loop (``Consumer._drain_messages``) delivers each record with
``wait_first(callback(record), suspend_flow.wait())``: if the delivery blocks (flow control
suspended, the producer's buffer over its limit, a stream's queue full) and a rebalance then
suspends the flow, the delivery is abandoned rather than pushed into a stream after the rebalance.
``wait_first`` wraps both awaitables and the consumer's stopped and crashed events in futures and
waits on all four, for every record: at load most of the stream processor's time
(docs/performance.md).

When the delivery cannot block, the race has one possible outcome: the delivery completes. This
consumer checks exactly the conditions the delivery would wait on and, when none holds, awaits the
delivery itself. Otherwise it races it as faust does.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from mode.services import WaitResults


class DirectHandoffConsumer(AIOKafkaConsumer):
    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        if timeout is None and len(coros) == 2 and self._is_flow_wait(coros[1]) and self._delivery_cannot_block():
            delivery, flow_suspended = coros
            flow_suspended.close()  # never awaited: nothing to race
            await delivery
            return WaitResults([delivery], [None], False)
        return await super().wait_first(*coros, timeout=timeout)

    def _is_flow_wait(self, awaitable: Awaitable[Any]) -> bool:
        """Whether ``awaitable`` is the drain loop's ``suspend_flow.wait()`` (nothing else races here)."""
        code = getattr(awaitable, "cr_code", None)
        frame = getattr(awaitable, "cr_frame", None)
        return (code is type(self.suspend_flow).wait.__code__ and frame is not None
                and frame.f_locals.get("self") is self.suspend_flow)

    def _delivery_cannot_block(self) -> bool:
        """What the conductor's delivery waits on (faust-streaming 0.15: ``Conductor.on_message``): flow
        control, the producer's buffer, and a full stream queue."""
        app: faust.App = self.app
        if self.suspend_flow.is_set() or not app.flow_control.is_active():
            return False
        buffer = app.producer.buffer
        if buffer.size > buffer.max_messages:
            return False
        return not any(channel.queue.full() for channel in app.topics)  # every channel the conductor feeds


def use_direct_handoff(app: faust.App) -> None:
    """Make ``app``'s consumer a :class:`DirectHandoffConsumer` (before the worker starts it)."""
    app.transport.Consumer = DirectHandoffConsumer
