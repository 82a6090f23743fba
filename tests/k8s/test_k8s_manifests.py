"""k8s/, the local-cluster infrastructure: strict Kubernetes schemas, the properties the charts and
skaffold.yaml rely on (Service names and ports, the init Job's commands), and secure, bounded pods.

Every property check returns the problems it finds, so the same checks also run on broken copies
of the real manifests to prove that each one can fail.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO
from .k8s_support import containers_of, kubernetes_validate, schema_problems

pytestmark = pytest.mark.k8s

K8S = REPO / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
NAMESPACE = "sportsfeed"
# The Services the charts' local values point at: name -> port.
SERVICES = {"kafka": 9092, "redis": 6379, "dynamodb-local": 8000}
ADMIN = ["python", "-m", "sportsfeed_common.admin"]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet"}


def load(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def all_resources() -> list[dict[str, Any]]:
    return [resource for path in MANIFESTS for resource in load(path)]


def find(kind: str, name: str, resources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    for resource in resources if resources is not None else all_resources():
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise AssertionError(f"k8s/ has no {kind} {name}")


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


def pod_problems(resource: dict[str, Any]) -> list[str]:
    """What keeps a workload from running non-root, read-only, bounded and probed."""
    where = f"{resource['kind']} {resource['metadata']['name']}"
    spec = pod_spec(resource)
    problems = []
    pod_security = spec.get("securityContext") or {}
    if pod_security.get("runAsNonRoot") is not True:
        problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: mounts a service account token it never uses")
    for container in containers_of(spec):
        at = f"{where} container {container['name']}"
        resources = container.get("resources") or {}
        for kind in ("cpu", "memory"):
            if kind not in (resources.get("requests") or {}):
                problems.append(f"{at}: no {kind} request")
        if "memory" not in (resources.get("limits") or {}):
            problems.append(f"{at}: no memory limit")
        security = container.get("securityContext") or {}
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation is not false")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{at}: root filesystem is writable")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{at}: capabilities not dropped")
    if resource["kind"] in LONG_RUNNING_KINDS:
        for container in spec["containers"]:
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{where} container {container['name']}: no {probe}")
    return problems


def image_problems(resource: dict[str, Any]) -> list[str]:
    """Third-party images pinned to a version; ours left bare for skaffold to replace."""
    problems = []
    for container in containers_of(pod_spec(resource)):
        image = container["image"]
        tag = image.rpartition(":")[2] if ":" in image else ""
        if image.startswith("sportsfeed/"):
            if tag:
                problems.append(f"{image}: skaffold only replaces the bare artifact name")
        elif not tag or tag == "latest":
            problems.append(f"{image}: not pinned to a version")
    return problems


def init_job_problems(job: dict[str, Any]) -> list[str]:
    """The Job waits, then creates the topics, then the table, with a service image."""
    commands = [container.get("command", []) for container in containers_of(pod_spec(job))]
    problems = []
    steps = [ADMIN + ["create-topics"], ADMIN + ["create-table"]]
    positions = [commands.index(step) if step in commands else None for step in steps]
    for step, position in zip(steps, positions, strict=True):
        if position is None:
            problems.append(f"the init Job does not run {' '.join(step)}")
    if None not in positions and positions != sorted(positions):
        problems.append("the init Job creates the table before the topics")
    first_step = min((position for position in positions if position is not None), default=len(commands))
    if not any("WAIT_FOR" in " ".join(command) for command in commands[:first_step]):
        problems.append("the init Job does not wait for Kafka and DynamoDB before its commands")
    return problems


def test_k8s_holds_the_manifests():
    kinds = {resource["kind"] for resource in all_resources()}
    assert {"Namespace", "StatefulSet", "Deployment", "Service", "Job"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_manifest_validates_strictly(path):
    assert load(path), f"{path.name} holds no resource"
    assert schema_problems(kubernetes_validate(path)) == []


def test_skaffold_applies_every_manifest_namespace_first():
    infra = next(yaml.safe_load_all((REPO / "skaffold.yaml").read_text()))
    assert infra["metadata"]["name"] == "local-infra"
    listed = infra["manifests"]["rawYaml"]
    assert sorted(listed) == sorted(f"k8s/{path.name}" for path in MANIFESTS)
    assert [resource["kind"] for resource in load(REPO / listed[0])] == ["Namespace"]


def test_everything_lives_in_the_sportsfeed_namespace():
    namespaced = [resource for resource in all_resources() if resource["kind"] != "Namespace"]
    assert find("Namespace", NAMESPACE)
    assert [r["metadata"]["name"] for r in namespaced if r["metadata"].get("namespace") != NAMESPACE] == []


@pytest.mark.parametrize("name,port", SERVICES.items())
def test_service_reaches_a_workload_port(name, port):
    resources = all_resources()
    service = find("Service", name, resources)
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == port
    workloads = [
        r for r in resources
        if r["kind"] in LONG_RUNNING_KINDS
        and service["spec"]["selector"].items() <= r["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert len(workloads) == 1, f"Service {name} selects {len(workloads)} workloads"
    ports = {p.get("name"): p["containerPort"] for c in pod_spec(workloads[0])["containers"] for p in c["ports"]}
    target = service_port["targetPort"]
    assert ports.get(target) == port if isinstance(target, str) else target == port


def test_kafka_advertises_the_service_name_and_never_auto_creates_topics():
    properties = find("ConfigMap", "kafka")["data"]["server.properties"]
    settings = dict(
        line.split("=", 1) for line in properties.splitlines() if line.strip() and not line.startswith("#")
    )
    assert settings["process.roles"] == "broker,controller"  # KRaft, no ZooKeeper
    advertised = settings["advertised.listeners"].split(",")
    client_listener = next(listener for listener in advertised if listener.endswith("//kafka:9092"))
    assert client_listener.split(":")[0] in settings["listener.security.protocol.map"]
    assert settings["auto.create.topics.enable"] == "false"


@pytest.mark.parametrize(
    "kind,name",
    [("StatefulSet", "kafka"), ("Deployment", "redis"), ("Deployment", "dynamodb-local"), ("Job", "sportsfeed-init")],
)
def test_workload_is_secure_bounded_and_pinned(kind, name):
    workload = find(kind, name)
    assert pod_problems(workload) == []
    assert image_problems(workload) == []


def test_every_workload_is_checked():
    workloads = {(r["kind"], r["metadata"]["name"]) for r in all_resources() if r["kind"] in WORKLOAD_KINDS}
    assert workloads == {
        ("StatefulSet", "kafka"), ("Deployment", "redis"), ("Deployment", "dynamodb-local"), ("Job", "sportsfeed-init"),
    }


def test_init_job_waits_then_creates_topics_then_table():
    job = find("Job", "sportsfeed-init")
    assert init_job_problems(job) == []
    settings = find("ConfigMap", "sportsfeed-init")["data"]
    assert settings["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert settings["DYNAMODB_ENDPOINT"] == "http://dynamodb-local:8000"
    assert set(settings["WAIT_FOR"].split()) == {f"{name}:{port}" for name, port in SERVICES.items() if name != "redis"}
    assert {container["image"] for container in containers_of(pod_spec(job))} == {"sportsfeed/ingest"}


# ---- the checks above can fail


def test_a_manifest_with_an_unknown_field_is_rejected(tmp_path):
    service = copy.deepcopy(find("Service", "kafka"))
    service["spec"]["selectr"] = service["spec"].pop("selector")
    broken = tmp_path / "kafka-service.yaml"
    broken.write_text(yaml.safe_dump(service))
    problems = schema_problems(kubernetes_validate(broken))
    assert problems and "selectr" in problems[0]


def test_an_unknown_kind_is_rejected():
    assert schema_problems(kubernetes_validate("-", stdin="apiVersion: example.com/v1\nkind: Kafka\nmetadata: {name: k}\n"))


@pytest.mark.parametrize(
    "breakage,expected",
    [
        (lambda c, s: c.pop("resources"), "no cpu request"),
        (lambda c, s: c["resources"].pop("limits"), "no memory limit"),
        (lambda c, s: c.pop("securityContext"), "root filesystem is writable"),
        (lambda c, s: c["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
        (lambda c, s: c.pop("readinessProbe"), "no readinessProbe"),
        (lambda c, s: s.pop("securityContext"), "runAsNonRoot"),
        (lambda c, s: s.pop("automountServiceAccountToken"), "service account token"),
        (lambda c, s: c.update(image="redis:latest"), "not pinned"),
    ],
)
def test_an_insecure_or_unbounded_workload_is_rejected(breakage, expected):
    redis = copy.deepcopy(find("Deployment", "redis"))
    spec = pod_spec(redis)
    breakage(spec["containers"][0], spec)
    problems = pod_problems(redis) + image_problems(redis)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("dropped", ["create-topics", "create-table", "wait-for-kafka-and-dynamodb"])
def test_an_init_job_missing_a_step_is_rejected(dropped):
    job = copy.deepcopy(find("Job", "sportsfeed-init"))
    spec = pod_spec(job)
    for group in ("initContainers", "containers"):
        spec[group] = [c for c in spec.get(group, []) if c["name"] != dropped and dropped not in c.get("command", [])]
    assert init_job_problems(job)


def test_an_init_job_in_the_wrong_order_is_rejected():
    job = copy.deepcopy(find("Job", "sportsfeed-init"))
    spec = pod_spec(job)
    create_topics = spec["initContainers"].pop()
    spec["initContainers"].append(spec["containers"].pop())
    spec["containers"].append(create_topics)
    assert "the init Job creates the table before the topics" in init_job_problems(job)
