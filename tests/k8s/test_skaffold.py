"""skaffold.yaml, checked by the real skaffold (built by tools/kube-tools/install) for each profile:
`skaffold diagnose --yaml-only` parses and resolves it, `skaffold render` renders k8s/ and the
charts without a cluster, a Docker engine or a build, and the render is validated strictly and
checked for the images skaffold would deploy. A broken skaffold.yaml and a wrong image prove that
the checks can fail.

Plain `skaffold diagnose` also inspects each Dockerfile's base image in its registry, which needs
the network; `--yaml-only` is the part that works offline. The commands are the ones
docs/kubernetes-local.md gives.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO
from .k8s_support import DOCKERFILE_SERVICES, GATEWAY_TARGET, containers_of, kubernetes_validate, schema_problems

pytestmark = pytest.mark.k8s

SERVICES = ("ingest", "persistence", "stream-processor", "push-gateway")
ARTIFACTS = tuple(f"sportsfeed/{service}" for service in SERVICES)
# Any ECR registry: skaffold only rewrites image names with it.
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
PROFILE_FLAGS = {"local": [], "eks": ["-p", "eks"]}
# Where a render puts the images (diagnose takes no such flag): EKS pulls them from ECR.
REGISTRY_FLAGS = {"local": [], "eks": ["--default-repo", ECR]}
DIAGNOSE = ["diagnose", "--yaml-only"]
RENDER = ["render", "--offline", "--digest-source=tag"]
LOCAL_INFRASTRUCTURE = {
    ("Namespace", "sportsfeed"), ("StatefulSet", "kafka"), ("Deployment", "redis"),
    ("Deployment", "dynamodb-local"), ("Job", "sportsfeed-init"),
}
# What `skaffold dev` forwards: Service -> port (also the local port).
PORT_FORWARDS = {"push-gateway": 8080, "ingest": 8081}
# Left out of the copy skaffold works in: big, or nothing skaffold reads.
NOT_COPIED = (".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".run")


def artifact_problems(service: str, artifact: dict[str, Any], root: Path) -> list[str]:
    """An artifact builds its service from the one root Dockerfile, with the repository (``root``, where
    skaffold.yaml is) as context: SERVICE and PORT (the port of its settings, as
    tests/k8s/test_dockerfiles.py knows it), and the gateway's target for the gateway."""
    docker = artifact.get("docker", {})
    problems = []
    if docker.get("dockerfile") != "Dockerfile" or not (REPO / "Dockerfile").is_file():
        problems.append(f"{service}: not built from the root Dockerfile: {docker.get('dockerfile')}")
    if (root / artifact.get("context", ".")).resolve() != root.resolve():
        problems.append(f"{service}: the build context is not the repository root")
    args = {name: str(value) for name, value in (docker.get("buildArgs") or {}).items()}
    if args != {"SERVICE": service, "PORT": str(DOCKERFILE_SERVICES[service][0])}:
        problems.append(f"{service}: build arguments {args}")
    if docker.get("target") != (GATEWAY_TARGET if service == "push-gateway" else None):
        problems.append(f"{service}: target {docker.get('target')}")
    return problems


def expected_image(service: str, profile: str) -> str:
    """The repository skaffold gives an artifact: as named locally; under --default-repo on EKS, with
    the same path (multi-level-repo), which is where docs/kubernetes-eks.md has the ECR repositories."""
    return f"sportsfeed/{service}" if profile == "local" else f"{ECR}/sportsfeed/{service}"


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """A copy of the repository: `skaffold render` runs `helm dependency build`, which rewrites
    charts/sportsfeed/charts/ and Chart.lock, and that must not happen to the checkout. It is a git
    repository of one commit, so that skaffold's commit tagger tags the images as it would here."""
    copy = tmp_path_factory.mktemp("skaffold") / "repo"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    identity = {"GIT_AUTHOR_NAME": "sportsfeed", "GIT_AUTHOR_EMAIL": "ci@sportsfeed.invalid",
                "GIT_COMMITTER_NAME": "sportsfeed", "GIT_COMMITTER_EMAIL": "ci@sportsfeed.invalid"}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "skaffold render under test"]):
        subprocess.run(["git", *command], cwd=copy, check=True, env={**os.environ, **identity}, timeout=120)
    return copy


@pytest.fixture(scope="session")
def skaffold_env(helm, tmp_path_factory) -> dict[str, str]:
    """The cached helm first on PATH (skaffold runs `helm`); a skaffold config of its own with multi-level-repo
    on (as `skaffold config set multi-level-repo true` makes it for the EKS context) and no update
    check, telemetry or survey prompt; and a kubeconfig that does not exist, so that no check can
    reach a real cluster."""
    home = tmp_path_factory.mktemp("skaffold-home")
    global_config = home / "skaffold-config.yaml"
    global_config.write_text(
        yaml.safe_dump({"global": {
            "multi-level-repo": True, "update-check": False, "collect-metrics": False, "survey": {"disable-prompt": True},
        }})
    )
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(helm.parent), os.environ.get("PATH", "")]),
        "SKAFFOLD_CONFIG": str(global_config),
        "SKAFFOLD_UPDATE_CHECK": "false",
        "KUBECONFIG": str(home / "no-cluster" / "kubeconfig"),
    }


def run_skaffold(skaffold: Path, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(skaffold), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{result.stderr}\n{result.stdout[-2000:]}"
    return result.stdout


@pytest.fixture(scope="session")
def diagnosed(skaffold, skaffold_env, workspace) -> dict[str, dict[str, dict[str, Any]]]:
    """Profile -> module name -> the effective configuration skaffold resolved."""
    modules = {}
    for profile, flags in PROFILE_FLAGS.items():
        out = succeeded(run_skaffold(skaffold, skaffold_env, workspace, *DIAGNOSE, *flags))
        modules[profile] = {config["metadata"]["name"]: config for config in yaml.safe_load_all(out) if config}
    return modules


@pytest.fixture(scope="session")
def rendered(skaffold, skaffold_env, workspace) -> dict[str, str]:
    """Profile -> what `skaffold render` prints."""
    return {
        profile: succeeded(run_skaffold(skaffold, skaffold_env, workspace, *RENDER, *flags, *REGISTRY_FLAGS[profile]))
        for profile, flags in PROFILE_FLAGS.items()
    }


def resources(text: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(text) if document]


def pod_specs(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    specs = {}
    for resource in items:
        if resource["kind"] == "Pod":
            specs[("Pod", resource["metadata"]["name"])] = resource["spec"]
        elif resource["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            specs[(resource["kind"], resource["metadata"]["name"])] = resource["spec"]["template"]["spec"]
    return specs


def service_image_problems(items: list[dict[str, Any]], profile: str) -> list[str]:
    """Each service's workload runs the image skaffold built for it, with its git-<commit> tag (a string
    even when the commit's abbreviation is all digits)."""
    specs = pod_specs(items)
    problems = []
    for service in SERVICES:
        workloads = [spec for (kind, name), spec in specs.items() if name == service and kind != "Pod"]
        if len(workloads) != 1:
            problems.append(f"{service}: {len(workloads)} workloads rendered")
            continue
        for container in workloads[0]["containers"]:
            repository, _, tag = container["image"].partition("@")[0].rpartition(":")
            if repository != expected_image(service, profile) or not tag.startswith("git-"):
                problems.append(
                    f"{service}: runs {container['image']}, not {expected_image(service, profile)}:git-<commit>")
    return problems


def restricted_problems(name: str, spec: dict[str, Any]) -> list[str]:
    """The "restricted" Pod Security Standard that k8s/namespace.yaml enforces, in its essentials."""
    pod = spec.get("securityContext") or {}
    problems = []
    for container in containers_of(spec):
        own = container.get("securityContext") or {}
        at = f"{name} container {container['name']}"
        if own.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append(f"{at}: runAsNonRoot is not true")
        if (own.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{at}: no RuntimeDefault seccomp profile")
        if own.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation is not false")
        if (own.get("capabilities") or {}).get("drop") != ["ALL"]:
            problems.append(f"{at}: capabilities other than none")
    if any("hostPath" in volume for volume in spec.get("volumes", [])):
        problems.append(f"{name}: mounts a hostPath")
    return problems


# --- the tool


def test_skaffold_is_the_pinned_build(skaffold):
    pinned = re.search(r"^SKAFFOLD_VERSION=(\S+)$", (REPO / "tools/kube-tools/install").read_text(), re.MULTILINE)
    assert pinned, "tools/kube-tools/install pins no SKAFFOLD_VERSION"
    version = subprocess.run([str(skaffold), "version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == pinned.group(1)
    schema = yaml.safe_load_all((REPO / "skaffold.yaml").read_text())
    assert {config["apiVersion"] for config in schema} == {"skaffold/v4beta14"}  # the latest schema of that version


# --- skaffold diagnose


@pytest.mark.parametrize("profile", PROFILE_FLAGS)
def test_diagnose_resolves_the_four_artifacts(diagnosed, workspace, profile):
    sportsfeed = diagnosed[profile]["sportsfeed"]
    artifacts = {artifact["image"]: artifact for artifact in sportsfeed["build"]["artifacts"]}
    assert tuple(artifacts) == ARTIFACTS
    for service, artifact in zip(SERVICES, artifacts.values(), strict=True):
        assert artifact_problems(service, artifact, workspace) == []
    assert sportsfeed["build"]["local"]["push"] is (profile == "eks")


@pytest.mark.parametrize("profile", PROFILE_FLAGS)
def test_diagnose_resolves_the_release_with_every_image(diagnosed, profile):
    (release,) = diagnosed[profile]["sportsfeed"]["deploy"]["helm"]["releases"]
    assert (release["name"], release["namespace"]) == ("sportsfeed", "sportsfeed")
    assert Path(release["chartPath"]).name == "sportsfeed"
    assert release.get("skipBuildDependencies", False) is False
    values = {"local": "values-local.yaml", "eks": "values-eks.yaml"}[profile]
    assert [Path(path).name for path in release["valuesFiles"]] == [values]
    for service, artifact in zip(SERVICES, ARTIFACTS, strict=True):
        variable = re.sub(r"[/.:-]", "_", artifact)
        assert release["setValueTemplates"][f"{service}.image.repository"] == f"{{{{.IMAGE_REPO_{variable}}}}}"
        assert release["setValueTemplates"][f"{service}.image.tag"] == f"{{{{.IMAGE_TAG_{variable}}}}}"


def test_diagnose_local_deploys_k8s_and_forwards_gateway_and_ingest(diagnosed):
    infra = diagnosed["local"]["local-infra"]
    assert [Path(path).name for path in infra["manifests"]["rawYaml"]][0] == "namespace.yaml"
    assert "--force" in infra["deploy"]["kubectl"]["flags"]["apply"]
    forwards = {
        forward["resourceName"]: forward for forward in diagnosed["local"]["sportsfeed"]["portForward"]
    }
    assert {name: (f["port"], f["localPort"]) for name, f in forwards.items()} == {
        name: (port, port) for name, port in PORT_FORWARDS.items()
    }
    assert {(f["resourceType"], f["namespace"]) for f in forwards.values()} == {("service", "sportsfeed")}


def test_diagnose_eks_leaves_out_k8s_and_port_forwards(diagnosed):
    infra = diagnosed["eks"]["local-infra"]
    assert "manifests" not in infra and "kubectl" not in infra.get("deploy", {})
    assert "portForward" not in diagnosed["eks"]["sportsfeed"]


# --- skaffold render


@pytest.mark.parametrize("profile", PROFILE_FLAGS)
def test_render_validates_strictly(rendered, profile):
    assert schema_problems(kubernetes_validate("-", stdin=rendered[profile])) == []


@pytest.mark.parametrize("profile", PROFILE_FLAGS)
def test_render_runs_each_service_from_its_artifact(rendered, profile):
    assert service_image_problems(resources(rendered[profile]), profile) == []


def test_render_local_includes_k8s_with_the_built_init_image(rendered):
    items = resources(rendered["local"])
    present = {(resource["kind"], resource["metadata"]["name"]) for resource in items}
    assert LOCAL_INFRASTRUCTURE <= present
    job = pod_specs(items)[("Job", "sportsfeed-init")]
    images = {container["image"] for container in containers_of(job)}
    assert len(images) == 1 and images.pop().startswith("sportsfeed/ingest:"), "skaffold left the init image bare"


def test_render_eks_has_no_local_infrastructure(rendered):
    present = {(resource["kind"], resource["metadata"]["name"]) for resource in resources(rendered["eks"])}
    assert LOCAL_INFRASTRUCTURE & present == set()


def test_render_local_has_the_port_forwarded_services(rendered):
    services = {
        resource["metadata"]["name"]: {port["port"] for port in resource["spec"]["ports"]}
        for resource in resources(rendered["local"]) if resource["kind"] == "Service"
    }
    for name, port in PORT_FORWARDS.items():
        assert port in services.get(name, set()), f"skaffold forwards {name}:{port}, which the render lacks"


def test_render_local_pods_are_admitted_by_the_restricted_namespace(rendered):
    specs = pod_specs(resources(rendered["local"]))
    assert {"ingest", "sportsfeed-init", "kafka"} <= {name for _, name in specs}
    assert [problem for (kind, name), spec in specs.items() for problem in restricted_problems(name, spec)] == []


# --- the checks above can fail


@pytest.mark.parametrize(
    "field,breakage",
    [
        ("valueFiles", lambda config: config["deploy"]["helm"]["releases"][0].update(valueFiles=["x.yaml"])),
        ("dockerFile", lambda config: config["build"]["artifacts"][0]["docker"].update(dockerFile="Dockerfile")),
    ],
)
def test_diagnose_rejects_an_unknown_field(skaffold, skaffold_env, workspace, tmp_path, field, breakage):
    infra, sportsfeed = yaml.safe_load_all((workspace / "skaffold.yaml").read_text())
    breakage(sportsfeed)
    broken = workspace / f"skaffold-broken-{field}.yaml"
    broken.write_text(yaml.safe_dump_all([infra, sportsfeed], sort_keys=False))
    result = run_skaffold(skaffold, skaffold_env, workspace, *DIAGNOSE, "--filename", broken.name)
    assert result.returncode != 0
    assert field in result.stderr + result.stdout


@pytest.mark.parametrize("breakage,expected", [
    (lambda artifact: artifact["docker"].update(dockerfile="services/push-gateway/Dockerfile"), "root Dockerfile"),
    (lambda artifact: artifact["docker"].pop("target"), "target"),
    (lambda artifact: artifact["docker"]["buildArgs"].update(PORT="8081"), "build arguments"),
    (lambda artifact: artifact["docker"]["buildArgs"].update(SERVICE="ingest"), "build arguments"),
    (lambda artifact: artifact.update(context="services/push-gateway"), "context"),
])
def test_a_wrong_artifact_is_reported(diagnosed, workspace, breakage, expected):
    artifacts = diagnosed["local"]["sportsfeed"]["build"]["artifacts"]
    gateway = copy.deepcopy(next(artifact for artifact in artifacts if artifact["image"] == "sportsfeed/push-gateway"))
    assert artifact_problems("push-gateway", gateway, workspace) == []
    breakage(gateway)
    assert any(expected in problem for problem in artifact_problems("push-gateway", gateway, workspace))


def test_diagnose_rejects_an_unknown_profile(skaffold, skaffold_env, workspace):
    result = run_skaffold(skaffold, skaffold_env, workspace, *DIAGNOSE, "-p", "production")
    assert result.returncode != 0


def test_render_fails_when_a_values_file_is_missing(skaffold, skaffold_env, workspace):
    infra, sportsfeed = yaml.safe_load_all((workspace / "skaffold.yaml").read_text())
    sportsfeed["deploy"]["helm"]["releases"][0]["valuesFiles"] = ["charts/sportsfeed/values-nowhere.yaml"]
    broken = workspace / "skaffold-broken-values.yaml"
    broken.write_text(yaml.safe_dump_all([infra, sportsfeed], sort_keys=False))
    result = run_skaffold(skaffold, skaffold_env, workspace, *RENDER, "--filename", broken.name)
    assert result.returncode != 0
    assert "values-nowhere.yaml" in result.stderr + result.stdout


@pytest.mark.parametrize("profile", PROFILE_FLAGS)
def test_a_service_on_the_wrong_image_is_reported(rendered, profile):
    items = resources(rendered[profile])
    spec = pod_specs(items)[next(key for key in pod_specs(items) if key[1] == "push-gateway" and key[0] != "Pod")]
    spec["containers"][0]["image"] = "sportsfeed/push-gateway"  # untagged: skaffold did not replace it
    assert service_image_problems(items, profile) == [
        f"push-gateway: runs sportsfeed/push-gateway, not {expected_image('push-gateway', profile)}:git-<commit>"
    ]


def test_a_root_pod_is_reported():
    spec = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "securityContext": {"runAsNonRoot": False}}]}
    problems = restricted_problems("app", spec)
    assert any("runAsNonRoot" in problem for problem in problems)
    assert any("allowPrivilegeEscalation" in problem for problem in problems)
