"""A private whole stack for a test module or session: every server and service of the local
launcher on free ports, in a temporary state folder, sharing only the download cache."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.stack import Stack

WHOLE_STACK = frozenset({"kafka", "dynamodb", "redis", "ingest", "persistence", "stream-processor", "push-gateway"})


@contextmanager
def private_stack(prefix: str, **settings: Any) -> Iterator[Stack]:
    """Start the whole stack without the simulated provider; ``settings`` override StackConfig's."""
    with tempfile.TemporaryDirectory(prefix=prefix) as state:
        config = replace(
            StackConfig.from_env(),
            state_dir=Path(state),
            kafka_port=free_port(), kafka_controller_port=free_port(), dynamodb_port=free_port(),
            redis_port=free_port(), ingest_port=free_port(), persistence_port=free_port(),
            processor_port=free_port(), gateway_port=free_port(),
            **settings,
        )
        stack = Stack(config, only=WHOLE_STACK)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()
