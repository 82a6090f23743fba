"""The three servers of the local stack: how each is installed, configured, started and probed."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from abc import ABC, abstractmethod
from importlib.resources import files
from pathlib import Path

import boto3
import redis
from aiokafka.admin import AIOKafkaAdminClient
from botocore.config import Config as BotoConfig

from .config import DYNAMODB_LOCAL_VERSION, HOST, KAFKA_VERSION, StackConfig, StackError
from .maven import resolve_runtime
from .processes import ManagedProcess

JAVA_HEAP = "-Xmx512m"


class Server(ABC):
    """One process of the stack: ``install`` (cached), ``configure`` (state folder), ``argv``, ``probe``.

    Infrastructure (Kafka, DynamoDB Local, Redis) starts first; applications (the
    services and the simulated provider) start after topics and table exist.
    """

    name: str
    is_application = False

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.home = config.state_dir / self.name
        self.process = ManagedProcess(
            name=self.name,
            pid_file=config.state_dir / f"{self.name}.pid",
            log_file=config.state_dir / "logs" / f"{self.name}.log",
            ownership_marker=str(self.home),
        )

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Every port the server binds, by purpose (for the port-in-use check)."""

    @abstractmethod
    def address(self) -> str:
        """Where clients reach it, as printed by the launcher."""

    def install(self) -> None:
        """Fetch what the server needs into the download cache (nothing when cached)."""

    def configure(self) -> None:
        """Write configuration and prepare storage under the state folder."""
        self.home.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def argv(self) -> list[str]: ...

    def environment(self) -> dict[str, str] | None:
        """The process's environment; ``None`` inherits the launcher's."""
        return None

    @abstractmethod
    def probe(self) -> bool:
        """True once the server answers a real request."""


def java_command(lib: Path, main_class: str, *args: str, system_properties: tuple[str, ...] = ()) -> list[str]:
    """A JVM running ``main_class`` from every jar in ``lib``."""
    java = shutil.which("java")
    if java is None:
        raise StackError("Java 17 or later is required (`java` is not on PATH): install OpenJDK 17")
    return [java, JAVA_HEAP, "-Djava.awt.headless=true", *system_properties, "-cp", f"{lib}/*", main_class, *args]


class Kafka(Server):
    """Apache Kafka, single node in KRaft mode (broker and controller in one process)."""

    name = "kafka"

    @property
    def lib(self) -> Path:
        return self.config.cache_dir / f"kafka-{KAFKA_VERSION}" / "lib"

    def ports(self) -> dict[str, int]:
        ports = {"Kafka": self.config.kafka_port, "Kafka controller": self.config.kafka_controller_port}
        if self.config.kafka_sasl_port is not None:
            ports["Kafka SASL"] = self.config.kafka_sasl_port
        return ports

    def address(self) -> str:
        return self.config.kafka_bootstrap

    def install(self) -> None:
        resolve_runtime("kafka-pom.xml", {"kafka.version": KAFKA_VERSION}, self.lib, f"Kafka {KAFKA_VERSION}")

    def configure(self) -> None:
        super().configure()
        properties = (files("sportsfeed_devstack.resources") / "kafka-server.properties").read_text()
        (self.home / "server.properties").write_text(
            properties.format(
                host=HOST,
                port=self.config.kafka_port,
                controller_port=self.config.kafka_controller_port,
                log_dirs=self.home / "data",
                **self._sasl_properties(),
            )
        )
        (self.home / "log4j.properties").write_text(
            (files("sportsfeed_devstack.resources") / "kafka-log4j.properties").read_text()
        )
        if not (self.home / "data" / "meta.properties").exists():
            self._format_storage()

    def _sasl_properties(self) -> dict[str, str]:
        """The SCRAM listener's parts of server.properties, empty without kafka_sasl_port."""
        port = self.config.kafka_sasl_port
        if port is None:
            return {"sasl_listener": "", "sasl_protocol": "", "sasl_settings": ""}
        return {
            "sasl_listener": f",SASL_PLAINTEXT://{HOST}:{port}",
            "sasl_protocol": ",SASL_PLAINTEXT:SASL_PLAINTEXT",
            "sasl_settings": (
                "# SCRAM-SHA-512 on the SASL listener; users live in the cluster's metadata.\n"
                "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
            ),
        }

    def _java_command(self, main_class: str, *args: str) -> list[str]:
        logging_config = f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}"
        return java_command(self.lib, main_class, *args, system_properties=(logging_config,))

    def _format_storage(self) -> None:
        cluster_id = subprocess.run(
            self._java_command("kafka.tools.StorageTool", "random-uuid"),
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]
        result = subprocess.run(
            self._java_command(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.home / "server.properties")
            ),
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def argv(self) -> list[str]:
        return self._java_command("kafka.Kafka", str(self.home / "server.properties"))

    def probe(self) -> bool:
        return kafka_answers(self.config.kafka_bootstrap)


def kafka_answers(bootstrap: str) -> bool:
    """True once a broker at ``bootstrap`` answers a metadata request and lists itself."""
    return asyncio.run(_kafka_answers(bootstrap))


async def _kafka_answers(bootstrap: str) -> bool:
    # Refused connections are expected while the broker boots; aiokafka would log each one.
    aiokafka_logger = logging.getLogger("aiokafka")
    previous_level = aiokafka_logger.level
    aiokafka_logger.setLevel(logging.CRITICAL)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:  # not listening yet, or metadata not loaded yet: not ready
        return False
    finally:
        await admin.close()
        aiokafka_logger.setLevel(previous_level)


class DynamoDBLocal(Server):
    """Amazon DynamoDB Local, storing to disk so acknowledged writes survive its restart."""

    name = "dynamodb"

    @property
    def lib(self) -> Path:
        return self.config.cache_dir / f"dynamodb-local-{DYNAMODB_LOCAL_VERSION}" / "lib"

    def ports(self) -> dict[str, int]:
        return {"DynamoDB Local": self.config.dynamodb_port}

    def address(self) -> str:
        return self.config.dynamodb_endpoint

    def install(self) -> None:
        resolve_runtime(
            "dynamodb-pom.xml", {"dynamodb.version": DYNAMODB_LOCAL_VERSION}, self.lib,
            f"DynamoDB Local {DYNAMODB_LOCAL_VERSION}",
        )

    def configure(self) -> None:
        super().configure()
        (self.home / "data").mkdir(exist_ok=True)

    def argv(self) -> list[str]:
        return java_command(
            self.lib,
            "software.amazon.dynamodb.services.local.main.ServerRunner",
            "-port", str(self.config.dynamodb_port),
            *(["-inMemory"] if self.config.dynamodb_in_memory else ["-dbPath", str(self.home / "data")]),
            "-sharedDb",
            # A local development server has no business reporting usage anywhere.
            "-disableTelemetry",
            # sqlite4java loads its native library (resolved beside the jars) from here.
            system_properties=(f"-Djava.library.path={self.lib}",),
        )

    def probe(self) -> bool:
        return dynamodb_answers(self.config.dynamodb_endpoint)


def dynamodb_answers(endpoint: str) -> bool:
    """True once DynamoDB at ``endpoint`` answers ListTables."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=BotoConfig(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
        return True
    except Exception:  # connection refused while the JVM starts
        return False
    finally:
        client.close()


class Redis(Server):
    """Redis from the system's ``redis-server``; a cache and registry here, so no persistence."""

    name = "redis"

    def ports(self) -> dict[str, int]:
        return {"Redis": self.config.redis_port}

    def address(self) -> str:
        return self.config.redis_url

    def install(self) -> None:
        if shutil.which("redis-server"):
            print("  Redis: using redis-server from PATH", flush=True)
            return
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print("  Redis: redis-server not found; installing Debian's redis-server...", flush=True)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
                result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
                if result.returncode != 0:
                    raise StackError(f"`{' '.join(command)}` failed:\n{result.stdout}{result.stderr}")
            _stop_distribution_redis()
            return
        raise StackError(
            "redis-server is not on PATH: install Redis 6 or later "
            "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)"
        )

    def configure(self) -> None:
        super().configure()
        (self.home / "redis.conf").write_text(
            "\n".join(
                [
                    f"port {self.config.redis_port}",
                    f"bind {HOST}",
                    f"dir {self.home}",
                    "daemonize no",
                    'save ""',
                    "appendonly no",
                    'logfile ""',
                    # Keep our command line (it names our state folder) so stop can recognise us.
                    "set-proc-title no",
                ]
            )
            + "\n"
        )

    def argv(self) -> list[str]:
        return [shutil.which("redis-server") or "redis-server", str(self.home / "redis.conf")]

    def probe(self) -> bool:
        return redis_answers(self.config.redis_url)


def redis_answers(url: str) -> bool:
    """True once Redis at ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _stop_distribution_redis() -> None:
    """Debian's package may start its own Redis on 6379; ours must own the port."""
    if shutil.which("service"):
        subprocess.run(["service", "redis-server", "stop"], capture_output=True, check=False)
    print("  Redis: installed", file=sys.stdout, flush=True)


def infrastructure(config: StackConfig) -> list[Server]:
    return [Kafka(config), DynamoDBLocal(config), Redis(config)]
