"""The stand-ins of the three infrastructure images, built and run exactly as the k8s manifests run them.

``tools/images/build-infra-images`` builds ``apache/kafka:3.9.2``, ``redis:7.4.2`` and
``amazon/dynamodb-local:3.1.0`` here (no registry is reachable; see docs/images.md). Each test reads its
workload from ``k8s/*.yaml`` and turns the pod spec into ``podman run`` flags, so the test follows the
manifest: the container's command and args (command replaces the image's ENTRYPOINT and drops its CMD,
args replace CMD, as in Kubernetes), env, workingDir, the pod's runAsUser/runAsGroup/fsGroup, a read-only
root filesystem (without podman's extra tmpfs mounts) when the manifest asks, dropped capabilities, no new
privileges, the memory limit, emptyDir volumes (fresh host folders, mode 0777, fsGroup's) and configMap
volumes (files written from the manifest's ConfigMap, mounted read-only). Then it runs the manifest's own
probes inside the container (tcpSocket through bash's /dev/tcp, exec as written) until they pass, within
the time the kubelet would allow before restarting the container, and checks the server for real.

Each container gets its own network namespace (slirp4netns: no bridge, no iptables rules on this host)
with the manifest's container ports published on free loopback ports; connections reach it from outside
its loopback, as from another pod. The one thing changed from a manifest is Kafka's advertised address
for the `CLIENTS` listener (`kafka:9092`, the Service, which does not resolve here), which becomes the
published port. Containers are removed whatever happens; a missing podman is an error, never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import redis
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from botocore.config import Config as BotoConfig
from sportsfeed_devstack.waiting import wait_until, wait_until_async

pytestmark = [pytest.mark.images, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tools" / "images" / "build-infra-images"
PODMAN_LIMITS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# Without a startup or liveness probe to say how long a start may take.
DEFAULT_START_SECONDS = 120
LOOPBACK = "127.0.0.1"


def full_image_name(name: str) -> str:
    """Docker Hub's short names as podman stores them (``redis:7.4.2`` -> ``docker.io/library/redis:7.4.2``)."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


# ------------------------------------------------------------------------------------ the manifests
@dataclass
class Workload:
    """One manifest's single-container workload: its pod spec, its container and its ConfigMaps."""

    manifest: str
    pod: dict
    container: dict
    config_maps: dict[str, dict[str, str]]

    @property
    def image(self) -> str:
        return full_image_name(self.container["image"])

    def port(self, name_or_number: str | int) -> int:
        if isinstance(name_or_number, int):
            return name_or_number
        for port in self.container.get("ports", []):
            if port.get("name") == name_or_number:
                return port["containerPort"]
        raise KeyError(f"{self.manifest}: no container port named {name_or_number!r}")


def load_workload(manifest: str) -> Workload:
    documents = [d for d in yaml.safe_load_all((REPO / "k8s" / manifest).read_text()) if d]
    workloads = [d for d in documents if d["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == 1, f"{manifest}: expected one Deployment or StatefulSet"
    pod = workloads[0]["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1 and not pod.get("initContainers"), f"{manifest}: one container expected"
    config_maps = {d["metadata"]["name"]: dict(d.get("data", {})) for d in documents if d["kind"] == "ConfigMap"}
    return Workload(manifest, pod, pod["containers"][0], config_maps)


def quantity_to_podman_size(quantity: str) -> str:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(quantity))
    assert match, f"unsupported quantity {quantity!r}"
    return match.group(1) + {"Ki": "k", "Mi": "m", "Gi": "g", None: ""}[match.group(2)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Container:
    name: str
    workload: Workload
    published: dict[int, int] = field(default_factory=dict)  # container port -> loopback port on this host
    started: float = 0.0

    def exec(self, *command: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", "exec", self.name, *command], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def logs(self) -> str:
        result = subprocess.run(["podman", "logs", self.name], capture_output=True, text=True, check=False)
        return result.stdout + result.stderr

    def running(self) -> bool:
        result = subprocess.run(["podman", "inspect", "--format", "{{.State.Running}}", self.name],
                                capture_output=True, text=True, check=False)
        return result.stdout.strip() == "true"


def podman_run_command(workload: Workload, name: str, volume_dir: Path, published: dict[int, int],
                       config_overrides: dict[str, str] | None = None) -> list[str]:
    """``podman run`` flags equivalent to how the kubelet would run the manifest's container."""
    pod, container = workload.pod, workload.container
    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})
    command = ["podman", "run", "--detach", "--name", name, "--pull=never", *PODMAN_LIMITS,
               "--network", "slirp4netns:port_handler=slirp4netns"]

    user = security.get("runAsUser", pod_security.get("runAsUser"))
    group = security.get("runAsGroup", pod_security.get("runAsGroup"))
    if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")):
        assert user not in (None, 0), f"{workload.manifest}: runAsNonRoot needs a non-zero runAsUser"
    if user is not None:
        command += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if "fsGroup" in pod_security:
        command += ["--group-add", str(pod_security["fsGroup"])]
    if security.get("readOnlyRootFilesystem"):
        # Kubernetes mounts nothing writable that the pod spec does not name (podman would add /tmp, /run).
        command += ["--read-only", "--read-only-tmpfs=false"]
    for capability in security.get("capabilities", {}).get("drop", []):
        command += ["--cap-drop", capability]
    for capability in security.get("capabilities", {}).get("add", []):
        command += ["--cap-add", capability]
    if security.get("allowPrivilegeEscalation") is False:
        command += ["--security-opt", "no-new-privileges"]
    memory_limit = container.get("resources", {}).get("limits", {}).get("memory")
    if memory_limit:
        command += ["--memory", quantity_to_podman_size(memory_limit)]

    for variable in container.get("env", []):
        assert "value" in variable, f"{workload.manifest}: only literal env values are supported"
        command += ["--env", f"{variable['name']}={variable['value']}"]
    if "workingDir" in container:
        command += ["--workdir", container["workingDir"]]
    for port, host_port in published.items():
        command += ["--publish", f"{LOOPBACK}:{host_port}:{port}"]

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            # As the kubelet makes one: a fresh folder on the node, mode 0777; with fsGroup, owned by
            # that group and setgid. (A podman tmpfs would take the mode of the image's folder instead.)
            folder = volume_dir / mount["name"]
            folder.mkdir()
            if "fsGroup" in pod_security:
                os.chown(folder, -1, pod_security["fsGroup"])
                folder.chmod(0o2777)
            else:
                folder.chmod(0o777)
            command += ["--volume", f"{folder}:{mount['mountPath']}"]
        elif "configMap" in volume:
            folder = volume_dir / mount["name"]
            folder.mkdir(mode=0o755)
            folder.chmod(0o755)  # as the kubelet's: readable by the container's user
            for key, text in workload.config_maps[volume["configMap"]["name"]].items():
                path = folder / key
                path.write_text((config_overrides or {}).get(key, text))
                path.chmod(0o644)
            command += ["--volume", f"{folder}:{mount['mountPath']}:ro" if mount.get("readOnly") else
                        f"{folder}:{mount['mountPath']}"]
        else:
            raise AssertionError(f"{workload.manifest}: unsupported volume {volume}")

    # Kubernetes: command replaces ENTRYPOINT (and drops CMD), args replace CMD. podman takes the
    # entrypoint's first word; the rest of command and args follow the image name.
    entrypoint_args: list[str] = []
    if "command" in container:
        command += ["--entrypoint", container["command"][0]]
        entrypoint_args = container["command"][1:]
        assert entrypoint_args or container.get("args"), "a bare one-word command would get the image's CMD"
    command += [workload.image, *entrypoint_args, *container.get("args", [])]
    return command


def probe_passes(container: Container, probe: dict) -> bool:
    """One attempt at a manifest probe, inside the container as the kubelet would make it."""
    if "tcpSocket" in probe:
        port = container.workload.port(probe["tcpSocket"]["port"])
        result = container.exec("bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}")
    elif "exec" in probe:
        result = container.exec(*probe["exec"]["command"])
    else:
        raise AssertionError(f"unsupported probe {probe}")
    return result.returncode == 0


def start_budget(workload: Workload) -> float:
    """How long the kubelet lets the container start before restarting it."""
    for kind in ("startupProbe", "livenessProbe"):
        probe = workload.container.get(kind)
        if probe:
            return probe.get("initialDelaySeconds", 0) + probe.get("periodSeconds", 10) * probe.get(
                "failureThreshold", 3)
    return DEFAULT_START_SECONDS


def wait_until_ready(container: Container) -> float:
    """Wait until the manifest's startup (if any) and readiness probes pass; return the seconds taken."""
    workload = container.workload
    budget = start_budget(workload)

    def ready() -> bool:
        if not container.running():
            raise AssertionError(f"{container.name} exited:\n{container.logs()[-6000:]}")
        return all(probe_passes(container, workload.container[kind])
                   for kind in ("startupProbe", "readinessProbe") if workload.container.get(kind))

    try:
        wait_until(ready, timeout=budget, what=f"{workload.manifest}'s probes", interval=0.5)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{container.logs()[-6000:]}") from error
    return time.monotonic() - container.started


@pytest.fixture(scope="session")
def infra_images() -> None:
    """Build (or find up to date) the three stand-ins; the script is idempotent."""
    if not shutil.which("podman"):
        raise FileNotFoundError("podman is not installed: apt-get install podman runc mmdebstrap (.ci/run does)")
    started = time.monotonic()
    result = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"build-infra-images failed:\n{result.stdout}{result.stderr}"
    print(result.stdout, end="")
    print(f"build-infra-images: {time.monotonic() - started:.1f} s")


def run_workload(manifest: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                 rewrite_config=None) -> Iterator[Container]:
    workload = load_workload(manifest)
    published = {port["containerPort"]: free_port() for port in workload.container.get("ports", [])}
    overrides = rewrite_config(workload, published) if rewrite_config else None
    name = f"sportsfeed-infra-{workload.container['name']}-{uuid.uuid4().hex[:8]}"
    command = podman_run_command(workload, name, tmp_path, published, overrides)
    container = Container(name, workload, published, started=time.monotonic())
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"podman run failed: {' '.join(command)}\n{result.stdout}{result.stderr}"
        seconds = wait_until_ready(container)
        with capsys.disabled():
            size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", workload.image],
                                  capture_output=True, text=True, check=True).stdout.strip()
            print(f"\n{workload.image} ({int(size) / 1e6:.0f} MB): ready by the manifest's probes in {seconds:.1f} s")
        yield container
    finally:
        subprocess.run(["podman", "rm", "--force", "--time", "0", name], capture_output=True, check=False)


def assert_runs_as_manifest_user(container: Container) -> None:
    """PID 1 runs as the securityContext's uid/gid, which the image's user database knows."""
    status = container.exec("cat", "/proc/1/status").stdout
    uid = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1)
    gid = re.search(r"^Gid:\s+(\d+)", status, re.MULTILINE).group(1)
    security = container.workload.pod["securityContext"]
    assert (int(uid), int(gid)) == (security["runAsUser"], security["runAsGroup"])
    assert container.exec("getent", "passwd", uid).returncode == 0, f"uid {uid} has no name in the image"


# ------------------------------------------------------------------------------------------- Kafka
def kafka_config_for_this_host(workload: Workload, published: dict[int, int]) -> dict[str, str]:
    """The ConfigMap's server.properties with the CLIENTS listener advertised on the published port."""
    text = workload.config_maps["kafka"]["server.properties"]
    changed, count = re.subn(r"CLIENTS://kafka:9092", f"CLIENTS://{LOOPBACK}:{published[9092]}", text)
    assert count == 1, "k8s/kafka.yaml no longer advertises CLIENTS://kafka:9092"
    return {"server.properties": changed}


@pytest.fixture
def kafka(infra_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Container]:
    yield from run_workload("kafka.yaml", tmp_path, capsys, kafka_config_for_this_host)


async def test_kafka_runs_as_the_manifest_runs_it(kafka: Container) -> None:
    bootstrap = f"{LOOPBACK}:{kafka.published[9092]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        # The mounted server.properties is the one in use: node 1, advertised where we said.
        assert [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]] == [
            (1, LOOPBACK, kafka.published[9092])]
        topic = f"infra-image-check-{uuid.uuid4().hex[:8]}"
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])

        async def topic_listed() -> bool:
            return topic in await admin.list_topics()

        await wait_until_async(topic_listed, timeout=30, what=f"topic {topic}")
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        record = await producer.send_and_wait(topic, b"odds", key=b"game-1", partition=0)
        assert (record.partition, record.offset) == (0, 0)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=20000, max_records=1)
        values = [(m.key, m.value) for messages in batch.values() for m in messages]
        assert values == [(b"game-1", b"odds")]
    finally:
        await consumer.stop()

    assert_runs_as_manifest_user(kafka)
    # The broker is PID 1 (the script `exec`s it) and logs where LOG_DIR points, on the writable emptyDir.
    assert "kafka.Kafka" in kafka.exec("cat", "/proc/1/cmdline").stdout
    logs = kafka.exec("ls", "/tmp/kafka-logs").stdout.split()
    assert "server.log" in logs and "kafkaServer-gc.log" in logs, logs
    assert "meta.properties" in kafka.exec("ls", "/var/lib/kafka/data").stdout.split()


# ------------------------------------------------------------------------------------------- Redis
@pytest.fixture
def redis_container(infra_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Container]:
    yield from run_workload("redis.yaml", tmp_path, capsys)


def test_redis_runs_as_the_manifest_runs_it(redis_container: Container) -> None:
    client = redis.Redis(host=LOOPBACK, port=redis_container.published[6379], socket_timeout=5)
    try:
        # The connection comes from outside the container's loopback: protected mode must be off, as
        # in the official image, for other pods to connect without a password.
        assert client.ping() is True
        assert client.config_get("protected-mode") == {"protected-mode": "no"}
        # The manifest's args are in effect: no RDB snapshots, no AOF.
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.set("infra-image-check", "1") and client.get("infra-image-check") == b"1"
        assert client.config_get("dir") == {"dir": "/data"}
    finally:
        client.close()
    assert_runs_as_manifest_user(redis_container)


# ---------------------------------------------------------------------------------- DynamoDB Local
@pytest.fixture
def dynamodb(infra_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Container]:
    yield from run_workload("dynamodb-local.yaml", tmp_path, capsys)


def test_dynamodb_local_runs_as_the_manifest_runs_it(dynamodb: Container) -> None:
    client = boto3.client(
        "dynamodb", endpoint_url=f"http://{LOOPBACK}:{dynamodb.published[8000]}", region_name="eu-west-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=BotoConfig(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    try:
        assert client.list_tables()["TableNames"] == []
        # A table and an item: SQLite (sqlite4java's native library, from -Djava.library.path) works.
        client.create_table(
            TableName="infra-image-check", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        client.put_item(TableName="infra-image-check", Item={"pk": {"S": "game-1"}, "odds": {"N": "2.5"}})
        item = client.get_item(TableName="infra-image-check", Key={"pk": {"S": "game-1"}})["Item"]
        assert item["odds"] == {"N": "2.5"}
        assert client.list_tables()["TableNames"] == ["infra-image-check"]
    finally:
        client.close()
    assert_runs_as_manifest_user(dynamodb)
