"""``sportsfeed``: run the platform locally on real servers.

    sportsfeed up [--detach] [--no-simulator]
                               start Kafka, DynamoDB Local and Redis, create topics and table,
                               start ingest and the simulated provider, then run in the
                               foreground until Ctrl-C (or leave it running)
    sportsfeed down [--wipe]   stop everything this launcher started (and delete its data)
    sportsfeed status          what is running, and where
    sportsfeed install         download what the servers need into the cache, start nothing
    sportsfeed reference-feed [--loop]   the reference's feed generator, against the local ingest
    sportsfeed sample-data     the reference's sample games (through ingest) and clients
    sportsfeed key             the local simulated provider's API key, for your own requests
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

from .applications import SIMULATED_PROVIDER, LocalProviderKeys
from .config import StackConfig, StackError
from .stack import ENV_FILE, Stack

MONITOR_INTERVAL_SECONDS = 1.0


def _print_summary(stack: Stack) -> None:
    print("\nsportsfeed is up:")
    for status in stack.status():
        print(f"  {status.name:<16} {status.address:<40} pid {status.pid}")
    print(f"\nLogs:        {stack.config.state_dir / 'logs'}")
    print(f"Environment: {stack.config.state_dir / ENV_FILE}")
    for key, value in stack.config.service_environment().items():
        print(f"  export {key}={value}")
    sys.stdout.flush()


def cmd_up(stack: Stack, detach: bool) -> int:
    print(f"Starting the sportsfeed local stack (state in {stack.config.state_dir})", flush=True)
    _stop_on_signals()
    stack.start()
    if detach:
        _print_summary(stack)
        print("\nRunning in the background; stop it with: ./sportsfeed down", flush=True)
        return 0
    try:
        _print_summary(stack)
        print("\nPress Ctrl-C to stop.", flush=True)
        _run_until_signalled(stack)
    finally:
        print("\nStopping...", flush=True)
        stopped = stack.stop()
        print(f"Stopped: {', '.join(stopped) or 'nothing was running'}", flush=True)
    return 0


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_on_signals() -> None:
    """SIGINT (Ctrl-C) and SIGTERM both mean: stop everything this command started, in order.

    Installed explicitly rather than relying on Python's default SIGINT handler, which is absent
    when the launcher starts with SIGINT ignored (``nohup``, a shell's background job): then
    Ctrl-C would do nothing and SIGTERM would kill the launcher and leave its servers running.
    The first signal raises KeyboardInterrupt, which unwinds into ``Stack.stop`` (or, during
    start-up, into ``Stack.start``'s clean-up); any further one is ignored from then on, so a
    second Ctrl-C cannot cut the stop short.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
        raise KeyboardInterrupt

    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, interrupt)


def _run_until_signalled(stack: Stack) -> None:
    """Block until SIGINT or SIGTERM (see ``_stop_on_signals``); fail if a process dies underneath us."""
    try:
        while True:
            dead = [status.name for status in stack.status() if not status.running]
            if dead:
                raise StackError(f"{', '.join(dead)} stopped unexpectedly; see {stack.config.state_dir / 'logs'}")
            time.sleep(MONITOR_INTERVAL_SECONDS)
    except KeyboardInterrupt:
        return


def cmd_down(stack: Stack, wipe: bool) -> int:
    stopped = stack.stop()
    print(f"Stopped: {', '.join(stopped) or 'nothing was running'}")
    if wipe:
        for server in stack.servers:
            shutil.rmtree(server.home, ignore_errors=True)
        print(f"Deleted the stack's data under {stack.config.state_dir}")
    return 0


def cmd_provider_tool(stack: Stack, module: str, arguments: list[str], with_key: bool) -> int:
    """Run a provider tool against the running local stack, with its addresses (and key)."""
    config = stack.config
    env = {**os.environ, **config.service_environment(), "INGEST_URL": config.ingest_url}
    if with_key:
        env["PROVIDER_API_KEY"] = LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER)
    return subprocess.run([sys.executable, "-m", module, *arguments], env=env, check=False).returncode


def cmd_status(stack: Stack) -> int:
    statuses = stack.status()
    for status in statuses:
        state = f"running (pid {status.pid})" if status.running else "stopped"
        print(f"{status.name:<16} {status.address:<40} {state}")
    return 0 if all(status.running for status in statuses) else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sportsfeed",
        description="Run sportsfeed locally on real servers.",
        epilog="Ports: SPORTSFEED_KAFKA_PORT, SPORTSFEED_KAFKA_CONTROLLER_PORT, SPORTSFEED_DYNAMODB_PORT, "
        "SPORTSFEED_REDIS_PORT. Folders: SPORTSFEED_CACHE_DIR (downloads), SPORTSFEED_STATE_DIR (data, logs).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the platform")
    up.add_argument("--detach", action="store_true", help="leave it running in the background")
    up.add_argument("--no-simulator", action="store_true", help="do not start the simulated provider")
    down = commands.add_parser("down", help="stop the platform")
    down.add_argument("--wipe", action="store_true", help="also delete Kafka, DynamoDB and Redis data")
    commands.add_parser("status", help="show what is running")
    commands.add_parser("install", help="download what the servers need, start nothing")
    reference = commands.add_parser("reference-feed", help="the reference's feed generator, sent to the local ingest")
    reference.add_argument("--loop", action="store_true", help="every 2 s until Ctrl-C, like the reference's README")
    commands.add_parser("sample-data", help="load the reference's sample games and clients")
    commands.add_parser("key", help="print the local simulated provider's API key")
    args = parser.parse_args(argv)
    try:
        config = StackConfig.from_env()
        stack = Stack(config)
        if args.command == "up" and args.no_simulator:
            stack = Stack(config, only=frozenset(s.name for s in stack.servers if s.name != "provider"))
        if args.command == "up":
            return cmd_up(stack, args.detach)
        if args.command == "down":
            return cmd_down(stack, args.wipe)
        if args.command == "status":
            return cmd_status(stack)
        if args.command == "reference-feed":
            # No key: the local ingest takes keyless reference feeds, as the reference did.
            loop = ["--loop"] if args.loop else []
            return cmd_provider_tool(stack, "sportsfeed_providers.reference_feed", [config.ingest_url, *loop], False)
        if args.command == "sample-data":
            return cmd_provider_tool(stack, "sportsfeed_providers.sample_data", [], True)
        if args.command == "key":
            print(LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER))
            return 0
        stack.install()
        return 0
    except StackError as error:
        print(f"sportsfeed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nsportsfeed: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
