"""The Helm charts, offline: `helm lint --strict`, `helm template` of every values combination,
each rendered manifest validated against the Kubernetes schemas, and what the EKS release
promises (locked-down containers with resources and probes, no secret literal) checked on its
render. Broken value sets and broken manifests prove that each check can fail.

Charts are rendered once per combination and session; the checks read those renders.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sportsfeed_common.jwt_auth import InvalidToken, TokenVerifier, bearer_token
from sportsfeed_common.settings import Secret

from .conftest import KUBE_VERSION, REPO

pytestmark = pytest.mark.k8s

CHARTS = REPO / "charts"
LIBRARY = "sportsfeed-lib"
SERVICE_CHART = "sportsfeed-service"  # one chart, included by the umbrella once per service by alias
SERVICES = ("ingest", "persistence", "stream-processor", "push-gateway")
UMBRELLA = "sportsfeed"
RELEASE = NAMESPACE = "sportsfeed"
LOCAL, EKS = "values-local.yaml", "values-eks.yaml"
BROKEN_VALUES = Path(__file__).parent / "broken-values"
EKS_GUIDE = REPO / "docs" / "kubernetes-eks.md"

# The install command the docs give; the checks render the umbrella with the same arguments.
INSTALL = ("helm upgrade --install sportsfeed charts/sportsfeed -n sportsfeed --create-namespace "
           "-f charts/sportsfeed/{values}")
DEPENDENCY_BUILD = "helm dependency build charts/sportsfeed"

# Settings that are secrets: never a plain env value, never ConfigMap data.
SECRET_SETTINGS = frozenset({"API_KEYS", "ADMIN_TOKEN", "JWT_SECRET", "REDIS_URL", "KAFKA_SASL_PASSWORD", "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
# Strings that are credentials wherever they appear.
CREDENTIAL_PATTERNS = {
    "a URL with a password": re.compile(r"[a-z]+://[^\s/@]*:[^\s/@]+@"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


# --- rendering, once per combination ----------------------------------------------------------------


@dataclass(frozen=True)
class Combination:
    chart: str
    values: tuple[str, ...] = ()  # values files, relative to the chart's folder

    @property
    def id(self) -> str:
        return "+".join((self.chart, *self.values)) if self.values else f"{self.chart}+defaults"

    def value_args(self, chart_dir: Path) -> list[str]:
        return [arg for name in self.values for arg in ("-f", str(chart_dir / name))]


def ci_values(chart: str) -> tuple[str, ...]:
    return tuple(f"ci/{path.name}" for path in sorted((CHARTS / chart / "ci").glob("*.yaml")))


def combinations() -> list[Combination]:
    # The service chart has no defaults of its own for a service (its image, its port): only its ci sets.
    found = [Combination(SERVICE_CHART, (ci,)) for ci in ci_values(SERVICE_CHART)]
    found += [Combination(UMBRELLA, values)
              for values in [(), (LOCAL,), (EKS,), *[(ci,) for ci in ci_values(UMBRELLA)]]]
    return found


COMBINATIONS = combinations()
LOCAL_RELEASE, EKS_RELEASE = Combination(UMBRELLA, (LOCAL,)), Combination(UMBRELLA, (EKS,))


def run(command: list[str | Path], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120)


def build_dependencies(helm: Path, charts: Path, names: tuple[str, ...]) -> None:
    for name in names:
        done = run([helm, "dependency", "build", charts / name])
        assert done.returncode == 0, f"helm dependency build {name}:\n{done.stderr}"


@pytest.fixture(scope="session")
def built_charts(helm: Path) -> Path:
    """Each chart's file:// dependencies, packaged into its charts/ folder (the service chart's first:
    the umbrella packages it together with its library)."""
    build_dependencies(helm, CHARTS, (SERVICE_CHART, UMBRELLA))
    return CHARTS


def template(helm: Path, chart_dir: Path, *value_args: str) -> subprocess.CompletedProcess[str]:
    return run([helm, "template", RELEASE, chart_dir, "--namespace", NAMESPACE,
                "--kube-version", KUBE_VERSION, *value_args])


class Renders:
    """`helm template` output per combination, parsed; each rendered at most once a session."""

    def __init__(self, helm: Path, charts: Path) -> None:
        self._helm, self._charts = helm, charts
        self._docs: dict[Combination, list[dict[str, Any]]] = {}

    def __getitem__(self, combination: Combination) -> list[dict[str, Any]]:
        if combination not in self._docs:
            chart_dir = self._charts / combination.chart
            done = template(self._helm, chart_dir, *combination.value_args(chart_dir))
            assert done.returncode == 0, f"helm template {combination.id}:\n{done.stderr}"
            self._docs[combination] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
        return self._docs[combination]


@pytest.fixture(scope="session")
def renders(helm: Path, built_charts: Path) -> Renders:
    return Renders(helm, built_charts)


# --- lint and schema validation -------------------------------------------------------------------


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_helm_lint_strict_passes(helm: Path, built_charts: Path, combination: Combination) -> None:
    chart_dir = built_charts / combination.chart
    done = run([helm, "lint", "--strict", "--kube-version", KUBE_VERSION, chart_dir,
                *combination.value_args(chart_dir)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_library_chart_lints(helm: Path) -> None:
    done = run([helm, "lint", "--strict", "--kube-version", KUBE_VERSION, CHARTS / LIBRARY])
    assert done.returncode == 0, done.stdout + done.stderr


# Kinds no Kubernetes schema has: the Prometheus Operator's, checked against its API types below.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def schema_problems(docs: list[dict[str, Any]]) -> list[str]:
    """What the Kubernetes schemas (strict: no unknown fields) say about each manifest."""
    problems = []
    for doc in docs:
        if doc.get("apiVersion") == "monitoring.coreos.com/v1" and doc.get("kind") in OPERATOR_KINDS:
            continue
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:  # a kind the cluster would not know
            problems.append(f"{name}: {error.message}")
    return problems


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_rendered_manifests_match_the_kubernetes_schemas(renders: Renders, combination: Combination) -> None:
    docs = renders[combination]
    assert docs, f"{combination.id} rendered nothing"
    assert schema_problems(docs) == []


def test_schema_validation_refuses_a_broken_manifest(renders: Renders) -> None:
    deployment = copy.deepcopy(next(doc for doc in renders[EKS_RELEASE] if doc["kind"] == "Deployment"))
    deployment["spec"]["replica"] = 2  # a typo strict validation must catch
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    unknown_kind = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    problems = schema_problems([deployment, unknown_kind])
    assert len(problems) == 2, problems
    assert "Gadget" in problems[1]


# --- what the EKS release (and the local one) promise ------------------------------------------------


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(name, pod spec, long-running) of every workload, Job and bare Pod (tests, hooks)."""
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            yield name, doc["spec"]["template"]["spec"], True
        elif doc["kind"] == "Job":
            yield name, doc["spec"]["template"]["spec"], False
        elif doc["kind"] == "CronJob":
            yield name, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"], False
        elif doc["kind"] == "Pod":
            yield name, doc["spec"], False


def lockdown_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Every container and initContainer: non-root, read-only root fs, no escalation, no capabilities,
    RuntimeDefault seccomp, cpu and memory requests and limits; long-running ones also probed."""
    problems = []
    for name, spec, long_running in pod_specs(docs):
        pod_context = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service account token")
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name} container {container['name']}"
            context = {**pod_context, **container.get("securityContext", {})}
            if context.get("runAsNonRoot") is not True or context.get("runAsUser", 0) == 0:
                problems.append(f"{where}: may run as root")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root file system is writable")
            if context.get("allowPrivilegeEscalation") is not False or context.get("privileged"):
                problems.append(f"{where}: may escalate privileges")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: keeps Linux capabilities")
            if context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: no RuntimeDefault seccomp profile")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if not resources.get(part, {}).get(resource):
                        problems.append(f"{where}: no {resource} {part[:-1]}")
            if long_running:
                problems += [f"{where}: no {probe}" for probe in ("livenessProbe", "readinessProbe")
                             if not container.get(probe)]
    return problems


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def secret_literal_problems(docs: list[dict[str, Any]], local_cluster: bool = False) -> list[str]:
    """Secrets must come from existing Secrets by reference: no Secret with data, no secret-named
    env value or ConfigMap key, no credential-looking string anywhere. A local cluster's release
    may carry its generated throwaway Secrets and a REDIS_URL without password."""
    allowed_in_config = {"REDIS_URL"} if local_cluster else set()
    problems = []
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "Secret" and (doc.get("data") or doc.get("stringData")) and not local_cluster:
            problems.append(f"{name}: a Secret with its data in the manifests")
        if doc["kind"] == "ConfigMap":
            problems += [f"{name}: {key} in ConfigMap data" for key in doc.get("data", {})
                         if key in SECRET_SETTINGS - allowed_in_config]
        if doc["kind"] != "Secret":
            for text in strings_in(doc):
                problems += [f"{name}: {what}" for what, pattern in CREDENTIAL_PATTERNS.items() if pattern.search(text)]
    for name, spec, _ in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            problems += [f"{name} container {container['name']}: {env['name']} given as a value"
                         for env in container.get("env", []) if env["name"] in SECRET_SETTINGS and "value" in env]
    return problems


@pytest.mark.parametrize("release", [EKS_RELEASE, LOCAL_RELEASE], ids=lambda combination: combination.id)
def test_every_container_is_locked_down_with_resources_and_probes(renders: Renders, release: Combination) -> None:
    docs = renders[release]
    containers = [container for _, spec, _ in pod_specs(docs) for container in spec["containers"]]
    assert len(containers) >= len(SERVICES) * 2, "the services and their test pods should all be checked"
    assert lockdown_problems(docs) == []


def test_eks_release_has_no_secret_literal(renders: Renders) -> None:
    assert secret_literal_problems(renders[EKS_RELEASE]) == []


def test_local_release_has_no_secret_literal_outside_its_generated_secrets(renders: Renders) -> None:
    assert secret_literal_problems(renders[LOCAL_RELEASE], local_cluster=True) == []


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
    return matches[0]


def container_of(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_lockdown_check_catches_each_weakness(renders: Renders) -> None:
    """The checks above must be able to fail: each weakness put into the EKS render is reported."""
    weakenings = {
        "root file system is writable": lambda c: c["securityContext"].update(readOnlyRootFilesystem=False),
        "may run as root": lambda c: c["securityContext"].update(runAsNonRoot=False),
        "may escalate privileges": lambda c: c["securityContext"].update(allowPrivilegeEscalation=True),
        "keeps Linux capabilities": lambda c: c["securityContext"].pop("capabilities"),
        "no memory limit": lambda c: c["resources"]["limits"].pop("memory"),
        "no readinessProbe": lambda c: c.pop("readinessProbe"),
    }
    for problem, weaken in weakenings.items():
        docs = copy.deepcopy(renders[EKS_RELEASE])
        weaken(container_of(find(docs, "Deployment", "push-gateway")))
        assert any(problem in found for found in lockdown_problems(docs)), problem


def test_secret_literal_check_catches_each_leak(renders: Renders) -> None:
    leaks = {
        "JWT_SECRET given as a value": lambda docs: container_of(find(docs, "Deployment", "push-gateway"))["env"].append(
            {"name": "JWT_SECRET", "value": "hunter2"}),
        "a URL with a password": lambda docs: find(docs, "ConfigMap", "ingest")["data"].update(
            RATE_LIMITS="rediss://:token@cache:6379"),
        "REDIS_URL in ConfigMap data": lambda docs: find(docs, "ConfigMap", "ingest")["data"].update(
            REDIS_URL="redis://redis:6379/0"),
        "a Secret with its data": lambda docs: docs.append(
            {"kind": "Secret", "metadata": {"name": "leak"}, "data": {"API_KEYS": "eA=="}}),
        "an AWS access key id": lambda docs: find(docs, "ConfigMap", "persistence")["data"].update(
            NOTE="AKIAABCDEFGHIJKLMNOP"),
    }
    for problem, leak in leaks.items():
        docs = copy.deepcopy(renders[EKS_RELEASE])
        leak(docs)
        assert any(problem in found for found in secret_literal_problems(docs)), problem


def test_eks_release_is_production_shaped(renders: Renders) -> None:
    docs = renders[EKS_RELEASE]
    for service in SERVICES:
        config = find(docs, "ConfigMap", service)["data"]
        assert config["KAFKA_SECURITY_PROTOCOL"] == "SSL" and "DYNAMODB_ENDPOINT" not in config
        find(docs, "HorizontalPodAutoscaler", service)
        find(docs, "PodDisruptionBudget", service)
        find(docs, "NetworkPolicy", service)
    assert find(docs, "ConfigMap", "push-gateway")["data"]["AUTH_ENABLED"] == "true"
    assert find(docs, "ConfigMap", "persistence")["data"]["AUTH_ENABLED"] == "true"
    for service in ("persistence", "stream-processor"):
        role = find(docs, "ServiceAccount", service)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert role.startswith("arn:aws:iam::")
    gateway = find(docs, "Ingress", "push-gateway")["metadata"]["annotations"]
    assert gateway["alb.ingress.kubernetes.io/load-balancer-attributes"] == "idle_timeout.timeout_seconds=3600"
    assert gateway["alb.ingress.kubernetes.io/target-type"] == "ip"
    find(docs, "Ingress", "ingest")
    gateway_pod = find(docs, "Deployment", "push-gateway")["spec"]["template"]["spec"]
    assert gateway_pod["terminationGracePeriodSeconds"] >= 60
    hook = find(docs, "Job", "sportsfeed-provisioning")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    steps = [container["command"][-1] for key in ("initContainers", "containers")
             for container in hook["spec"]["template"]["spec"][key]]
    assert steps == ["create-topics", "create-table"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


@pytest.mark.parametrize("release", [EKS_RELEASE, LOCAL_RELEASE], ids=lambda combination: combination.id)
def test_the_read_api_checks_analysts_tokens_with_the_gateways_secret(renders: Renders, release: Combination) -> None:
    """The gateway's /api forwards the analyst's token; persistence verifies it with the same key,
    taken from a Secret (never a value), and the `helm test` signs its reads with that key too."""
    docs = renders[release]
    gateway = env_of(container_of(find(docs, "Deployment", "push-gateway")))
    persistence = env_of(container_of(find(docs, "Deployment", "persistence")))
    reference = gateway["JWT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert persistence["JWT_SECRET"] == {"name": "JWT_SECRET", "valueFrom": {"secretKeyRef": reference}}
    for service in ("persistence", "push-gateway"):
        assert "JWT_SECRET" not in find(docs, "ConfigMap", service)["data"]
    test_pod = env_of(find(docs, "Pod", "sportsfeed-feed-roundtrip-test")["spec"]["containers"][0])
    assert test_pod["JWT_SECRET"]["valueFrom"]["secretKeyRef"] == reference
    expected = "true" if release == EKS_RELEASE else "false"
    assert find(docs, "ConfigMap", "persistence")["data"]["AUTH_ENABLED"] == expected


def test_the_local_release_makes_one_jwt_key_for_both_services(renders: Renders) -> None:
    secrets = [doc for doc in renders[LOCAL_RELEASE] if doc["kind"] == "Secret"]
    gateway = [doc for doc in secrets if doc["metadata"]["name"] == "sportsfeed-push-gateway"]
    assert len(gateway) == 1 and gateway[0]["data"]["JWT_SECRET"]


def test_stream_processor_members_keep_their_names(renders: Renders) -> None:
    """Static membership needs a stable, unique id per replica: the StatefulSet pod's name."""
    processor = find(renders[EKS_RELEASE], "StatefulSet", "stream-processor")
    env = {entry["name"]: entry for entry in container_of(processor)["env"]}
    assert env["CONSUMER_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def secret_refs(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(env["valueFrom"]["secretKeyRef"]["name"], env["valueFrom"]["secretKeyRef"]["key"])
            for _, spec, _ in pod_specs(docs)
            for container in spec.get("initContainers", []) + spec["containers"]
            for env in container.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})}


def test_local_release_makes_every_secret_it_references(renders: Renders) -> None:
    """Nothing to create by hand on a local cluster, and the test's key is one ingest accepts."""
    docs = renders[LOCAL_RELEASE]
    provided = {(doc["metadata"]["name"], key): base64.b64decode(value).decode()
                for doc in docs if doc["kind"] == "Secret" for key, value in doc["data"].items()}
    assert secret_refs(docs) <= provided.keys()
    test_key = provided["sportsfeed-test-provider", "API_KEY"]
    assert provided["sportsfeed-ingest", "API_KEYS"] == f"local-dev=sha256:{hashlib.sha256(test_key.encode()).hexdigest()}"


def test_eks_guide_creates_every_secret_the_release_references(renders: Renders) -> None:
    guide = EKS_GUIDE.read_text()
    commands = re.findall(r"kubectl -n sportsfeed create secret generic (\S+)((?:[^\n]*\\\n)*[^\n]*)", guide)
    created = {(name, key) for name, rest in commands for key in re.findall(r"--from-\w+=(\w+)=", rest)}
    missing = secret_refs(renders[EKS_RELEASE]) - created
    assert not missing, f"docs/kubernetes-eks.md creates no Secret key for {sorted(missing)}"


# --- values refuse nonsense -------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenCase:
    path: Path
    chart: str
    base: str | None
    expected: str


def broken_cases() -> list[BrokenCase]:
    cases = []
    for path in sorted(BROKEN_VALUES.glob("*.yaml")):
        header = dict(re.findall(r"^# (chart|base|expect): (.+)$", path.read_text(), flags=re.MULTILINE))
        cases.append(BrokenCase(path, header["chart"], header.get("base"), header["expect"]))
    return cases


@pytest.mark.parametrize("case", broken_cases(), ids=lambda case: case.path.stem)
def test_broken_values_are_rejected_with_a_message(helm: Path, built_charts: Path, case: BrokenCase) -> None:
    chart_dir = built_charts / case.chart
    base = ["-f", str(chart_dir / case.base)] if case.base else []
    done = template(helm, chart_dir, *base, "-f", str(case.path))
    assert done.returncode != 0, f"{case.path.name} was accepted"
    assert case.expected in done.stderr, done.stderr


def test_there_are_broken_cases_of_each_kind() -> None:
    """Wrong types, validateValues violations and secret literals each have a case."""
    expectations = " ".join(case.expected for case in broken_cases())
    assert "want integer" in expectations and "not allowed" in expectations
    assert "is a secret and never a plain value" in expectations and "carries credentials" in expectations
    assert "at least 1" in expectations and "ingress.host is empty" in expectations


# --- the charts' own consistency --------------------------------------------------------------------


def test_the_umbrella_includes_the_one_service_chart_once_per_service() -> None:
    """A service is its values in the umbrella chart: no chart, template or schema of its own."""
    dependencies = yaml.safe_load((CHARTS / UMBRELLA / "Chart.yaml").read_text())["dependencies"]
    aliased = {dependency["alias"]: dependency for dependency in dependencies if "alias" in dependency}
    assert sorted(aliased) == sorted(SERVICES)
    for service, dependency in aliased.items():
        assert (dependency["name"], dependency["repository"]) == (SERVICE_CHART, f"file://../{SERVICE_CHART}")
        assert dependency["condition"] == f"{service}.enabled"
    charts = sorted(path.parent.name for path in CHARTS.glob("*/Chart.yaml"))
    assert charts == sorted((LIBRARY, SERVICE_CHART, UMBRELLA)), charts
    assert sorted(path.relative_to(CHARTS).as_posix() for path in CHARTS.rglob("values.schema.json")) == [
        f"{SERVICE_CHART}/values.schema.json", f"{UMBRELLA}/values.schema.json"]


def test_every_service_renders_with_its_own_image_and_port(renders: Renders) -> None:
    ports = {"ingest": 8081, "persistence": 8082, "stream-processor": 8083, "push-gateway": 8080}
    for service, port in ports.items():
        config = find(renders[LOCAL_RELEASE], "ConfigMap", service)["data"]
        assert config["PORT"] == str(port), service  # the chart's port reaches the process
        workload = next(doc for doc in renders[LOCAL_RELEASE] if doc["kind"] in ("Deployment", "StatefulSet")
                        and doc["metadata"]["name"] == service)
        container = container_of(workload)
        assert container["image"].split(":")[0].endswith(f"sportsfeed/{service}"), container["image"]
        assert container["ports"][0]["containerPort"] == port
        assert find(renders[LOCAL_RELEASE], "Service", service)["spec"]["ports"][0]["port"] == port


def test_one_replication_factor_reaches_the_hook_and_every_service(renders: Renders) -> None:
    """MSK's three brokers want every topic on three of them (min.insync.replicas 2 with acks=all):
    the provisioning hook creates the topics and faust its changelogs, both from the same value."""
    eks = renders[EKS_RELEASE]
    for service in SERVICES:
        assert find(eks, "ConfigMap", service)["data"]["TOPIC_REPLICATION_FACTOR"] == "3", service
    hooks = [doc for doc in eks if doc["kind"] == "Job"]
    assert hooks, "the EKS release creates its topics with the provisioning hook"
    for job in hooks:
        for container in job["spec"]["template"]["spec"]["containers"]:
            assert env_of(container)["TOPIC_REPLICATION_FACTOR"]["value"] == "3", job["metadata"]["name"]
    for service in SERVICES:
        assert find(renders[LOCAL_RELEASE], "ConfigMap", service)["data"]["TOPIC_REPLICATION_FACTOR"] == "1"


def test_the_faust_workers_scale_one_pod_at_a_time(renders: Renders) -> None:
    """Each scale step of a consumer group is a rebalance: the HPAs of the faust workers take one pod per
    step, with room between steps; the others keep Kubernetes' defaults."""
    for service in ("persistence", "stream-processor"):
        behavior = find(renders[EKS_RELEASE], "HorizontalPodAutoscaler", service)["spec"]["behavior"]
        for direction in ("scaleUp", "scaleDown"):
            assert [(p["type"], p["value"]) for p in behavior[direction]["policies"]] == [("Pods", 1)], service
            assert behavior[direction]["stabilizationWindowSeconds"] >= 60
    assert "behavior" not in find(renders[EKS_RELEASE], "HorizontalPodAutoscaler", "ingest")["spec"]


# --- the operators' view ----------------------------------------------------------------------------


MAXIMAL = Combination(UMBRELLA, ("ci/maximal-values.yaml",))


def test_monitoring_is_off_by_default_and_renders_when_asked(renders: Renders) -> None:
    for release in (Combination(UMBRELLA), LOCAL_RELEASE, EKS_RELEASE):
        kinds = {doc["kind"] for doc in renders[release]}
        assert not kinds & OPERATOR_KINDS, release.id
        assert not any(doc["metadata"]["name"].endswith("grafana-dashboard") for doc in renders[release])
    kinds = [doc["kind"] for doc in renders[MAXIMAL]]
    assert kinds.count("ServiceMonitor") == 1 and kinds.count("PrometheusRule") == 1


def test_the_service_monitor_scrapes_every_service(renders: Renders) -> None:
    monitor = find(renders[MAXIMAL], "ServiceMonitor", RELEASE)
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]
    absent = {expression["key"] for expression in selector["matchExpressions"] if expression["operator"] == "DoesNotExist"}
    services = [doc for doc in renders[MAXIMAL] if doc["kind"] == "Service"
                and selector["matchLabels"].items() <= doc["metadata"]["labels"].items()
                and not absent & doc["metadata"]["labels"].keys()]
    assert sorted(service["metadata"]["name"] for service in services) == sorted(SERVICES)
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    for service in services:
        assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]], service["metadata"]["name"]


def test_the_scraper_from_another_namespace_is_let_in(renders: Renders) -> None:
    for service in SERVICES:
        rules = find(renders[MAXIMAL], "NetworkPolicy", service)["spec"]["ingress"]
        scraper = [rule for rule in rules if any("namespaceSelector" in peer for peer in rule.get("from", []))]
        assert scraper and scraper[0]["ports"] == [{"port": "http", "protocol": "TCP"}], service
        local = find(renders[LOCAL_RELEASE], "NetworkPolicy", service)["spec"]["ingress"]
        assert len(local) == 1, f"{service}: no scraper rule unless global.monitoring.scrapeFrom names one"


def metrics_the_services_define() -> set[str]:
    """Every series name the services' prometheus-client metrics expose (counters gain _total,
    histograms _bucket, _sum and _count)."""
    names: set[str] = {"up"}
    for path in (REPO / "services").glob("*/src/**/*.py"):
        for kind, name in re.findall(r'(Counter|Gauge|Histogram)\(\s*"([a-z_]+)"', path.read_text()):
            if kind == "Counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            elif kind == "Histogram":
                names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
            else:
                names.add(name)
    return names


PROMQL_WORDS = {"sum", "rate", "increase", "histogram_quantile", "by", "le", "or", "vector", "label_values",
                "and", "unless", "on", "ignoring", "without", "humanizePercentage"}


def metric_names_in(expression: str) -> set[str]:
    without_matchers = re.sub(r"\{[^}]*\}|\[[^]]*\]", "", expression)
    return {word for word in re.findall(r"[a-z_][a-z0-9_]*", without_matchers)
            if word not in PROMQL_WORDS and "_" in word or word == "up"}


def test_every_alarm_and_panel_reads_a_metric_the_services_define(renders: Renders) -> None:
    defined = metrics_the_services_define()
    rule = find(renders[MAXIMAL], "PrometheusRule", RELEASE)
    alarms = {alarm["alert"]: alarm for group in rule["spec"]["groups"] for alarm in group["rules"]}
    assert {"SportsfeedProcessorLagging", "SportsfeedPersistenceLagging", "SportsfeedStorageLag",
            "SportsfeedIngestErrors", "SportsfeedDeadLetters", "SportsfeedProviderDown"} <= alarms.keys()
    dashboard = json.loads(find(renders[MAXIMAL], "ConfigMap", f"{RELEASE}-grafana-dashboard")["data"]["sportsfeed.json"])
    expressions = [alarm["expr"] for alarm in alarms.values()] + [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(dashboard["panels"]) >= 10
    for expression in expressions:
        assert metric_names_in(expression), expression
        assert metric_names_in(expression) <= defined, (expression, metric_names_in(expression) - defined)
    for alarm in alarms.values():
        assert alarm["labels"]["severity"] in ("critical", "warning") and alarm["annotations"]["summary"]


def test_the_metric_name_check_catches_a_renamed_metric() -> None:
    assert metric_names_in('sum(rate(ingest_requests_total{status=~"5.."}[5m])) > 0') == {"ingest_requests_total"}
    assert "ingest_request_count" not in metrics_the_services_define()


def go_json_fields(types: Path, struct: str) -> set[str]:
    """The JSON field names of a Go struct of the operator's API, inline members' included."""
    source = "\n".join(path.read_text() for path in types.glob("*.go"))
    body = re.search(rf"^type {struct} struct {{\n(.*?)^}}", source, flags=re.MULTILINE | re.DOTALL)
    assert body, f"no struct {struct} in {types}"
    fields = set()
    for line in body.group(1).splitlines():
        tag = re.search(r'json:"([^",]*)[^"]*"', line)
        if not tag:
            continue
        if tag.group(1):
            fields.add(tag.group(1))
        else:  # `json:",inline"`: the embedded struct's fields
            fields |= go_json_fields(types, line.split()[0].lstrip("*"))
    return fields


def unknown_fields(value: dict[str, Any], types: Path, struct: str) -> list[str]:
    return sorted(set(value) - go_json_fields(types, struct))


def test_the_operator_objects_use_only_fields_of_its_api(renders: Renders, monitoring_api_types: Path) -> None:
    monitor = find(renders[MAXIMAL], "ServiceMonitor", RELEASE)
    assert unknown_fields(monitor["spec"], monitoring_api_types, "ServiceMonitorSpec") == []
    for endpoint in monitor["spec"]["endpoints"]:
        assert unknown_fields(endpoint, monitoring_api_types, "Endpoint") == []
    rule = find(renders[MAXIMAL], "PrometheusRule", RELEASE)
    assert unknown_fields(rule["spec"], monitoring_api_types, "PrometheusRuleSpec") == []
    for group in rule["spec"]["groups"]:
        assert unknown_fields(group, monitoring_api_types, "RuleGroup") == []
        for alarm in group["rules"]:
            assert unknown_fields(alarm, monitoring_api_types, "Rule") == []
    assert unknown_fields({"endpoints": [], "selectr": {}}, monitoring_api_types, "ServiceMonitorSpec") == ["selectr"]


MSK_IAM = Combination(UMBRELLA, ("ci/msk-iam-values.yaml",))
MSK_SCRAM = Combination(UMBRELLA, ("ci/msk-scram-values.yaml",))


def kafka_containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, str]]]:
    """Every container of the services and the provisioning hook, with its ConfigMap's data if any."""
    configs = {doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"}
    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "StatefulSet") or (doc["kind"] == "Job" and "provision" in name):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield name, container, configs.get(name, {})


def test_scram_reaches_every_kafka_client_from_one_secret(renders: Renders) -> None:
    seen = set()
    for name, container, config in kafka_containers(renders[MSK_SCRAM]):
        env = env_of(container)
        mechanism = config.get("KAFKA_SASL_MECHANISM") or env.get("KAFKA_SASL_MECHANISM", {}).get("value")
        assert mechanism == "SCRAM-SHA-512", name
        for key in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "sportsfeed-kafka", "key": key}, (name, key)
        seen.add(name)
    assert set(SERVICES) <= seen and any("provision" in name for name in seen), seen
    for doc in renders[MSK_SCRAM]:
        if doc["kind"] == "ConfigMap":
            assert not {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"} & doc.get("data", {}).keys(), doc["metadata"]


def test_msk_iam_signs_with_each_pods_role_and_reaches_sts(renders: Renders) -> None:
    docs = renders[MSK_IAM]
    for service in SERVICES:
        config = find(docs, "ConfigMap", service)["data"]
        assert (config["KAFKA_SECURITY_PROTOCOL"], config["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "OAUTHBEARER")
        account = find(docs, "ServiceAccount", service)
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(f"sportsfeed-{service}")
        egress = find(docs, "NetworkPolicy", service)["spec"]["egress"]
        ports = {port["port"] for rule in egress for port in rule.get("ports", [])}
        assert {9098, 443} <= ports, (service, ports)
        assert "KAFKA_SASL_PASSWORD" not in env_of(container_of(next(
            doc for doc in docs if doc["kind"] in ("Deployment", "StatefulSet") and doc["metadata"]["name"] == service)))


def test_service_templates_only_include_the_library() -> None:
    """One template set for four services: each service template is one include of the library."""
    for path in (CHARTS / SERVICE_CHART / "templates").rglob("*"):
        if path.is_file():
            assert re.fullmatch(r'\{\{- include "sportsfeed-lib\.[A-Za-z]+" \. \}\}\n', path.read_text()), path


# Kubernetes objects copied into manifests as they are: their fields are Kubernetes' own.
FREE_FORM_KEYS = {"podSecurityContext", "securityContext", "resources", "startupProbe", "livenessProbe",
                  "readinessProbe", "lifecycle", "affinity", "behavior"}


def uncommented_keys(text: str) -> list[str]:
    """Keys with neither a comment line right above nor an inline comment, outside free-form objects,
    list items and Secret references (whose `secret` and `key` say what they are)."""
    missing, path = [], []  # path: (indent, key) of the enclosing keys
    previous = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^(\s*)(- )?([\w.\-/]+):", line)
        if match and not match.group(2):
            indent = len(match.group(1))
            while path and path[-1][0] >= indent:
                path.pop()
            keys = [key for _, key in path]
            exempt = (any(key in FREE_FORM_KEYS or key.startswith("-") for key in keys)
                      or (len(keys) >= 2 and keys[-2] == "secretEnv"))
            if not exempt and not previous.lstrip().startswith("#") and " #" not in line:
                missing.append(f"line {number}: {line.strip()}")
            path.append((indent, match.group(3)))
        elif match or line.lstrip().startswith("- "):
            indent = len(line) - len(line.lstrip())
            while path and path[-1][0] >= indent:
                path.pop()
            path.append((indent, "-"))
        if line.strip():
            previous = line
    return missing


VALUES_FILES = [CHARTS / SERVICE_CHART / "values.yaml",
                *(CHARTS / UMBRELLA / name for name in ("values.yaml", LOCAL, EKS))]


@pytest.mark.parametrize("path", VALUES_FILES, ids=lambda path: str(path.relative_to(CHARTS)))
def test_every_values_key_has_a_comment(path: Path) -> None:
    assert uncommented_keys(path.read_text()) == []


def test_comment_check_finds_an_uncommented_key() -> None:
    text = "# documented\nreplicaCount: 1\nimage:\n  # documented\n  tag: x\n# documented\nresources:\n  limits: {}\n"
    assert uncommented_keys(text) == ["line 3: image:"]


# --- docs and a fresh checkout ----------------------------------------------------------------------


@pytest.mark.parametrize("doc", [REPO / "README.md", CHARTS / "README.md", EKS_GUIDE],
                         ids=lambda path: str(path.relative_to(REPO)))
def test_docs_give_the_install_commands_the_checks_run(doc: Path) -> None:
    text = doc.read_text()
    assert DEPENDENCY_BUILD in text
    assert INSTALL.format(values=EKS) in text
    if doc.name == "README.md":
        assert INSTALL.format(values=LOCAL) in text


def test_a_fresh_checkout_renders_after_one_dependency_build(helm: Path, tmp_path: Path) -> None:
    """The documented steps from a clone, where no charts/*/charts/*.tgz exists (they are ignored)."""
    shutil.copytree(CHARTS, tmp_path / "charts", ignore=shutil.ignore_patterns("*.tgz"))
    done = run([helm, *DEPENDENCY_BUILD.split()[1:]], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rendered = template(helm, tmp_path / "charts" / UMBRELLA, "-f", str(tmp_path / "charts" / UMBRELLA / LOCAL))
    assert rendered.returncode == 0, rendered.stderr


def notes_as_configmap(chart_dir: Path) -> None:
    """`helm template` skips NOTES.txt; wrapped into a ConfigMap it renders like any template."""
    notes = chart_dir / "templates" / "NOTES.txt"
    (chart_dir / "templates" / "notes-under-test.yaml").write_text(
        '{{- define "notes-under-test" }}' + notes.read_text() + "{{- end }}\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: |\n"
        '{{ include "notes-under-test" . | indent 4 }}\n')
    notes.unlink()


@pytest.fixture(scope="session")
def notes_charts(built_charts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    charts = tmp_path_factory.mktemp("notes") / "charts"
    shutil.copytree(built_charts, charts)
    for chart in (UMBRELLA, SERVICE_CHART):
        notes_as_configmap(charts / chart)
    return charts


@pytest.mark.parametrize(("combination", "expected"), [
    pytest.param(LOCAL_RELEASE, ["port-forward svc/push-gateway 8080:8080", "helm test sportsfeed",
                                 "get secret sportsfeed-test-provider"], id=LOCAL_RELEASE.id),
    pytest.param(EKS_RELEASE, ["port-forward svc/ingest 8081:8081", "https://live.example.com/"], id=EKS_RELEASE.id),
    pytest.param(Combination(SERVICE_CHART, ("ci/maximal-values.yaml",)),
                 ["port-forward svc/sportsfeed-sportsfeed-service 8081:8081"],
                 id=f"{SERVICE_CHART}+ci/maximal-values.yaml"),
])
def test_notes_say_how_to_reach_the_release(helm: Path, notes_charts: Path, combination: Combination,
                                            expected: list[str]) -> None:
    chart_dir = notes_charts / combination.chart
    done = template(helm, chart_dir, "--show-only", "templates/notes-under-test.yaml",
                    *combination.value_args(chart_dir))
    assert done.returncode == 0, done.stderr
    notes = yaml.safe_load(done.stdout)["data"]["notes"]
    assert all(text in notes for text in expected), notes


# --- the end-to-end `helm test` script, against fake services -----------------------------------------


class FakeSportsfeed(BaseHTTPRequestHandler):
    """Ingest accepts one update with the right key; the read API has it after `reads_until_stored` reads."""

    api_key = "test-key"
    reads_until_stored = 2
    reads = 0
    stored_id = "upd-1"
    # Set: the read API wants an analyst's JWT signed with it (AUTH_ENABLED on), for jwt_audience if set.
    jwt_secret: str | None = None
    jwt_audience: str | None = None

    def do_POST(self) -> None:  # noqa: N802 (BaseHTTPRequestHandler's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-API-Key") != self.api_key:
            self.answer(401, {"error": "unauthorized"})
        elif self.path == "/v1/odds" and body["updates"][0]["gameId"].startswith("game-"):
            self.answer(202, {"accepted": 1, "ids": [self.stored_id]})
        else:
            self.answer(422, {"error": "invalid_items"})

    def do_GET(self) -> None:  # noqa: N802
        type(self).reads += 1
        if self.jwt_secret is not None and not self.token_is_valid():
            self.answer(401, {"error": "unauthorized"})
        elif self.path.endswith("/odds/latest") and self.reads >= self.reads_until_stored:
            self.answer(200, {"id": self.stored_id})
        else:
            self.answer(404, {"error": "not_found"})

    def token_is_valid(self) -> bool:
        """As persistence checks it (sportsfeed_common.jwt_auth)."""
        token = bearer_token(self.headers.get("Authorization"))
        try:
            TokenVerifier(Secret(self.jwt_secret or ""), self.jwt_audience).subject(token)
        except InvalidToken:
            return False
        return True

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_sportsfeed() -> Iterator[str]:
    FakeSportsfeed.reads = 0
    FakeSportsfeed.jwt_secret = FakeSportsfeed.jwt_audience = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSportsfeed)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def run_roundtrip(url: str, api_key: str, timeout_seconds: int,
                  **jwt_env: str) -> subprocess.CompletedProcess[str]:
    script = CHARTS / UMBRELLA / "files" / "feed_roundtrip.py"
    env = {"INGEST_URL": url, "READ_API_URL": url, "PROVIDER_API_KEY": api_key, "TIMEOUT_SECONDS": str(timeout_seconds),
           **jwt_env}
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)


def test_roundtrip_script_passes_once_the_update_is_readable(fake_sportsfeed: str) -> None:
    done = run_roundtrip(fake_sportsfeed, FakeSportsfeed.api_key, timeout_seconds=20)
    assert done.returncode == 0, done.stderr
    assert "stored and readable" in done.stdout and FakeSportsfeed.reads >= FakeSportsfeed.reads_until_stored


def test_roundtrip_script_fails_on_a_refused_key(fake_sportsfeed: str) -> None:
    done = run_roundtrip(fake_sportsfeed, "wrong-key", timeout_seconds=20)
    assert done.returncode != 0 and "refused the update with 401" in done.stderr


def test_roundtrip_script_fails_when_the_update_never_appears(fake_sportsfeed: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeSportsfeed, "reads_until_stored", 10_000)
    done = run_roundtrip(fake_sportsfeed, FakeSportsfeed.api_key, timeout_seconds=2)
    assert done.returncode != 0 and "did not return the update" in done.stderr


def test_roundtrip_script_reads_with_a_token_when_the_read_api_wants_one(fake_sportsfeed: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeSportsfeed, "jwt_secret", "helm-test-jwt-secret-" * 2)
    monkeypatch.setattr(FakeSportsfeed, "jwt_audience", "sportsfeed")
    done = run_roundtrip(fake_sportsfeed, FakeSportsfeed.api_key, timeout_seconds=20,
                         JWT_SECRET=FakeSportsfeed.jwt_secret, JWT_AUDIENCE="sportsfeed")
    assert done.returncode == 0, done.stderr
    assert "stored and readable" in done.stdout


@pytest.mark.parametrize(("jwt_env", "why"), [({}, "no token sent"),
                                               ({"JWT_SECRET": "another-secret-" * 3}, "was refused")],
                         ids=["no-secret", "other-secret"])
def test_roundtrip_script_fails_at_once_when_the_read_api_refuses_its_token(
        fake_sportsfeed: str, monkeypatch: pytest.MonkeyPatch, jwt_env: dict[str, str], why: str) -> None:
    monkeypatch.setattr(FakeSportsfeed, "jwt_secret", "helm-test-jwt-secret-" * 2)
    done = run_roundtrip(fake_sportsfeed, FakeSportsfeed.api_key, timeout_seconds=20, **jwt_env)
    assert done.returncode != 0 and "refused the read with 401" in done.stderr and why in done.stderr
    assert FakeSportsfeed.reads == 1  # a refused token is not retried until the deadline
