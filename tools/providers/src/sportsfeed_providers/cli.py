"""Command-line plumbing shared by the provider tools: env-backed options, clean stops."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping

from sportsfeed_common.settings import Secret

DEFAULT_INGEST_URL = "http://127.0.0.1:8081"
URL_ENV = "INGEST_URL"
API_KEY_ENV = "PROVIDER_API_KEY"
# What a shell reports for a process ended by Ctrl-C.
INTERRUPTED_EXIT = 130


def env_default(environ: Mapping[str, str], name: str, fallback: object) -> object:
    """The variable's text if set and non-empty, else ``fallback``.

    argparse runs a string default through the option's ``type``, so a bad
    value in the environment is refused like a bad flag.
    """
    return environ.get(name) or fallback


def add_env_option(
    parser: argparse.ArgumentParser,
    environ: Mapping[str, str],
    flag: str,
    env: str,
    *,
    type: Callable[[str], object],
    default: object,
    help: str,
) -> None:
    """An option whose default comes from ``env``; the help names the variable."""
    shown = f"env {env}" if default is None else f"env {env}; default %(default)s"
    parser.add_argument(flag, type=type, default=env_default(environ, env, default), help=f"{help} ({shown})")


def add_url_option(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--url",
        default=env_default(environ, URL_ENV, DEFAULT_INGEST_URL),
        help=f"ingest base URL (env {URL_ENV}; default %(default)s)",
    )


def add_api_key_option(
    parser: argparse.ArgumentParser, environ: Mapping[str, str], *, required: bool
) -> None:
    need = "required" if required else "optional"
    parser.add_argument(
        "--api-key",
        default=environ.get(API_KEY_ENV) or None,
        # The default is deliberately not shown: it is a secret.
        help=f"provider API key sent as X-API-Key (env {API_KEY_ENV}, {need}; "
        "prefer the variable: command lines are visible to other users)",
    )


def api_key_from(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, required: bool
) -> Secret | None:
    """Wrap the key at once so no later print or repr can show it."""
    key = args.api_key
    args.api_key = None
    if not key:
        if required:
            parser.error(f"an API key is required: --api-key or {API_KEY_ENV}")
        return None
    return Secret(key)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


async def until_signalled(work: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run ``work(stop)``; the first SIGINT or SIGTERM sets ``stop``, a second one cancels outright.

    ``work`` is expected to finish promptly once ``stop`` is set (its waits
    watch it); the second signal is for when something else hangs.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        stop.set()

    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, on_signal)
    try:
        return await work(stop)
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


def run_tool(work: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """``asyncio.run`` a tool's work under :func:`until_signalled`; the process exit code."""
    try:
        return asyncio.run(until_signalled(work))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return INTERRUPTED_EXIT
