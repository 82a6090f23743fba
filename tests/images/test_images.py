"""The four images, built for real with podman from the root Dockerfile and run as the charts run them.

Built on the local stand-ins of the two base images (``tools/images/build-base-images``, which
``./sportsfeed test`` runs first: no registry is reachable), with ``--pull=never``; podman keeps the
layers between runs, so a warm run rebuilds nothing. Each container runs with the charts' security
context (user 10001:10001, read-only root filesystem with a tmpfs on /tmp, every capability dropped,
no new privileges) on the host network, against the session's real Kafka, DynamoDB Local and Redis
(tests/conftest.py). The test proves that each container's /readyz answers 200, that its PID 1 is
Python running its service, and that one update POSTed to the ingest container reaches a WebSocket
client of the gateway container and is stored by the persistence container with the seq the
stream-processor container gave it. Containers are removed whatever happens.

A missing podman or base image is an error, never a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from boto3.dynamodb.conditions import Key
from sportsfeed_common.topics import GAMES, ODDS_LIVE, ODDS_RAW, PROVIDER_ACTIVITY, create_topics
from sportsfeed_devstack.applications import http_ok
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until, wait_until_async
from sportsfeed_ingest.auth import config_entry, new_key

from ..services import caught_up_group
from ..tables import fresh_table, table_of
from ..ws_client import Analyst

# Building the four images from cold takes about a minute here (longer on a slow network); the session
# fixture's build counts against the first test's timeout.
pytestmark = [pytest.mark.images, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGES = ("docker.io/library/python:3.11.14-slim-bookworm", "docker.io/library/node:20.20.2-bookworm-slim")
# Service -> its port (the Dockerfile's PORT, the default of its settings).
SERVICES = {"ingest": 8081, "persistence": 8082, "stream-processor": 8083, "push-gateway": 8080}
TAG = "test"
LAUNCHER = "/opt/sportsfeed/venv/bin/sportsfeed-service"
# The charts' securityContext, as podman flags; and the ulimits this machine allows (docs/images.md).
SECURITY = ["--user", "10001:10001", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]
PODMAN_LIMITS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# What a service image may add to the base image: its virtualenv (and for the gateway, the dashboard).
MAX_SERVICE_LAYERS_MB = 200
READY_SECONDS = 90
KEY = new_key()


def image(service: str) -> str:
    return f"localhost/sportsfeed/{service}:{TAG}"


@pytest.fixture(scope="session")
def podman() -> str:
    found = shutil.which("podman")
    if not found:
        raise FileNotFoundError("podman is not installed: apt-get install podman runc mmdebstrap (.ci/run does)")
    for base in BASE_IMAGES:
        if subprocess.run([found, "image", "exists", base], check=False).returncode != 0:
            raise FileNotFoundError(f"{base} is missing: run tools/images/build-base-images (./sportsfeed test does)")
    return found


def build_command(podman: str, service: str, *, target: str | None = None, tag: str | None = None) -> list[str]:
    command = [podman, "build", "--pull=never", "--layers", "--network", "host", *PODMAN_LIMITS,
               "--build-arg", f"SERVICE={service}", "--build-arg", f"PORT={SERVICES.get(service, 8000)}",
               "--file", str(REPO / "Dockerfile"), "--tag", tag or image(service)]
    if target:
        command += ["--target", target]
    return [*command, str(REPO)]


def build(podman: str, service: str, **options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(build_command(podman, service, **options), capture_output=True, text=True,
                          timeout=900, check=False)


def image_id(podman: str, name: str) -> str | None:
    out = subprocess.run([podman, "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True,
                         timeout=60, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


@pytest.fixture(scope="session")
def images(podman: str) -> dict[str, dict]:
    """Service -> its image's `podman image inspect`; built once per session (cached layers reused)."""
    inspected = {}
    for service in SERVICES:
        started = time.monotonic()
        previous = image_id(podman, image(service))
        result = build(podman, service, target="push-gateway" if service == "push-gateway" else None)
        assert result.returncode == 0, f"building {service} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        print(f"built {image(service)} in {time.monotonic() - started:.1f} s")
        if previous and previous != image_id(podman, image(service)):
            # A changed input (code, Dockerfile) makes a new image: the one it replaced goes, with its
            # untagged parent layers, so podman's storage does not grow from run to run.
            subprocess.run([podman, "image", "rm", previous], capture_output=True, timeout=120, check=False)
        out = subprocess.run([podman, "image", "inspect", image(service)], capture_output=True, text=True, check=True)
        inspected[service] = json.loads(out.stdout)[0]
    return inspected


def size_mb(podman: str, name: str) -> float:
    out = subprocess.run([podman, "image", "inspect", "--format", "{{.Size}}", name], capture_output=True, text=True,
                         check=True)
    return int(out.stdout) / 1e6


def test_images_have_the_dockerfile_s_properties_and_their_size_is_bounded(podman: str, images: dict[str, dict],
                                                                           capsys) -> None:
    base = size_mb(podman, BASE_IMAGES[0])
    lines = [f"{BASE_IMAGES[0]} (stand-in): {base:.0f} MB"]
    for service, inspected in images.items():
        config = inspected["Config"]
        env = dict(variable.split("=", 1) for variable in config["Env"])
        assert config["User"] == "10001:10001"
        assert config["Cmd"] == [LAUNCHER] and not config.get("Entrypoint")
        assert set(config["ExposedPorts"]) == {f"{SERVICES[service]}/tcp"}
        assert config["Labels"]["org.opencontainers.image.title"] == f"sportsfeed-{service}"
        assert (env["HOME"], env["PYTHONDONTWRITEBYTECODE"]) == ("/tmp", "1")
        assert ("DASHBOARD_DIR" in env) == (service == "push-gateway")
        total = size_mb(podman, image(service))
        lines.append(f"{image(service)}: {total:.0f} MB, {total - base:.0f} MB over the base")
        assert total - base < MAX_SERVICE_LAYERS_MB, lines[-1]
    with capsys.disabled():
        print("\nimage sizes:\n  " + "\n  ".join(lines))


def test_the_launcher_runs_the_service_s_module(podman: str, images: dict[str, dict]) -> None:
    for service in SERVICES:
        result = subprocess.run([podman, "run", "--rm", *PODMAN_LIMITS, *SECURITY, "--network", "none", image(service),
                                 "cat", LAUNCHER], capture_output=True, text=True, timeout=120, check=True)
        module = f"sportsfeed_{service.replace('-', '_')}.main"
        assert f"'-m', '{module}'" in result.stdout, result.stdout


def test_a_gateway_image_without_its_dashboard_and_an_unknown_service_are_refused(podman: str, images) -> None:
    # Both fail fast on the layers already cached by `images`.
    no_target = build(podman, "push-gateway", tag=f"localhost/sportsfeed/refused:{uuid.uuid4().hex[:6]}")
    assert no_target.returncode != 0 and "--target push-gateway" in no_target.stdout + no_target.stderr
    unknown = build(podman, "billing", tag=f"localhost/sportsfeed/refused:{uuid.uuid4().hex[:6]}")
    assert unknown.returncode != 0


@dataclass
class Container:
    service: str
    name: str
    url: str


@pytest.fixture
def containers(podman: str) -> Iterator[list[Container]]:
    """Containers a test starts register here; all are removed at its end, whatever happened."""
    started: list[Container] = []
    yield started
    for container in started:
        subprocess.run([podman, "rm", "--force", "--time", "0", container.name], capture_output=True, check=False,
                       timeout=120)


def start(podman: str, service: str, env: dict[str, str], started: list[Container]) -> Container:
    port = free_port()
    name = f"sportsfeed-test-{service}-{uuid.uuid4().hex[:8]}"
    container = Container(service, name, f"http://127.0.0.1:{port}")
    started.append(container)  # before it exists: removed even if the run itself fails half-way
    environment = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    flags = [flag for key, value in environment.items() for flag in ("--env", f"{key}={value}")]
    result = subprocess.run([podman, "run", "--detach", "--name", name, "--network", "host", *PODMAN_LIMITS,
                             *SECURITY, *flags, image(service)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"podman run of {image(service)} failed: {result.stderr}"
    return container


def logs(podman: str, container: Container) -> str:
    out = subprocess.run([podman, "logs", container.name], capture_output=True, text=True, timeout=60, check=False)
    return (out.stdout + out.stderr)[-3000:]


def wait_ready(podman: str, container: Container) -> None:
    def ready() -> bool:
        state = subprocess.run([podman, "inspect", "--format", "{{.State.Running}}", container.name],
                               capture_output=True, text=True, timeout=60, check=False).stdout.strip()
        if state != "true":
            raise RuntimeError(f"{container.name} is not running ({state}):\n{logs(podman, container)}")
        return http_ok(f"{container.url}/readyz")

    wait_until(ready, timeout=READY_SECONDS, what=f"{container.name}'s /readyz to answer 200")


def pid_1(podman: str, container: Container) -> list[str]:
    out = subprocess.run([podman, "exec", container.name, "cat", "/proc/1/cmdline"], capture_output=True,
                         timeout=60, check=True)
    return out.stdout.decode().rstrip("\0").split("\0")


async def test_one_update_goes_through_the_four_containers(podman: str, images, servers, containers) -> None:
    await create_topics(servers.kafka_bootstrap)
    settings = fresh_table(servers)
    table_name = settings.dynamodb_table
    common = {**servers.environment(), "DYNAMODB_TABLE": table_name}
    bootstrap = servers.kafka_bootstrap

    persistence = start(podman, "persistence", {
        **common, "CONSUMER_GROUP": await caught_up_group(bootstrap, [ODDS_LIVE.name, GAMES.name])}, containers)
    start(podman, "stream-processor", {
        **common, "CONSUMER_GROUP": await caught_up_group(bootstrap, [ODDS_RAW.name, PROVIDER_ACTIVITY.name])},
        containers)
    ingest = start(podman, "ingest", {**common, "API_KEYS": config_entry("images", KEY)}, containers)
    gateway = start(podman, "push-gateway", {**common, "READ_API_URL": persistence.url,
                                             "POD_NAME": f"images-{uuid.uuid4().hex[:6]}"}, containers)
    for container in containers:
        wait_ready(podman, container)
        module = f"sportsfeed_{container.service.replace('-', '_')}.main"
        command = pid_1(podman, container)
        assert Path(command[0]).name.startswith("python") and command[1:3] == ["-m", module], command

    analyst = await Analyst.connect(gateway.url, f"client=images-{uuid.uuid4().hex[:6]}")
    try:
        await analyst.wait_for(lambda a: a.of_type("hello"), "the gateway's hello")
        game = f"game-{uuid.uuid4()}"
        update = {"gameId": game, "market": "moneyline", "ts": datetime.now(UTC).isoformat(timespec="milliseconds")
                  .replace("+00:00", "Z"), "homeOdds": -120, "awayOdds": 110}
        request = urllib.request.Request(
            f"{ingest.url}/v1/odds", data=json.dumps({"updates": [update]}).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-API-Key": KEY})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
            (update_id,) = json.load(response)["ids"]

        frames = await analyst.wait_for(
            lambda a: [f for f in a.of_type("odds") if f["gameId"] == game], "the update on the gateway's socket",
            timeout=60)
        assert [(frame["id"], frame["homeOdds"]) for frame in frames] == [(update_id, -120)]
        seq = frames[0]["seq"]
        assert isinstance(seq, int) and seq >= 1
    finally:
        await analyst.close()

    table = table_of(settings)

    async def stored() -> list[dict]:
        return table.query(KeyConditionExpression=Key("PK").eq(game), ConsistentRead=True)["Items"]

    items = await wait_until_async(stored, timeout=60, what="the update in the table", interval=0.2)
    assert [(item["ID"], int(item["SEQ"])) for item in items] == [(update_id, seq)]

    # SIGTERM, as Kubernetes stops a pod: PID 1 gets it and every service drains and exits 0.
    for container in containers:
        subprocess.run([podman, "stop", "--time", "60", container.name], capture_output=True, timeout=120, check=True)
        code = subprocess.run([podman, "inspect", "--format", "{{.State.ExitCode}}", container.name],
                              capture_output=True, text=True, timeout=60, check=True).stdout.strip()
        assert code == "0", f"{container.name} exited with {code}:\n{logs(podman, container)}"


def test_nothing_is_left_running(podman: str) -> None:
    out = subprocess.run([podman, "ps", "--all", "--filter", "name=sportsfeed-test-", "--format", "{{.Names}}"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == []


def test_the_base_stand_ins_are_what_the_dockerfile_relies_on(podman: str) -> None:
    python, node = BASE_IMAGES
    checks = {
        python: "test -x /usr/local/bin/python3.11 && python -V && pip --version && test -f /usr/local/lib/python3.11/os.py"
                " && command -v groupadd useradd && ! ls /usr/lib/python3.11/EXTERNALLY-MANAGED",
        node: "npm --version && node --version",
    }
    for base, script in checks.items():
        result = subprocess.run([podman, "run", "--rm", *PODMAN_LIMITS, "--network", "none", base, "sh", "-c", script],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{base}: {result.stdout}{result.stderr}"

