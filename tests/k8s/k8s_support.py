"""What several k8s/ test modules share: the services' image build facts, pod containers, and
strict validation with kubernetes-validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import KUBE_VERSION

# Service folder -> (port it listens on, module it runs). The port must also be its settings' default.
DOCKERFILE_SERVICES = {
    "ingest": (8081, "sportsfeed_ingest.main"),
    "persistence": (8082, "sportsfeed_persistence.main"),
    "stream-processor": (8083, "sportsfeed_stream_processor.main"),
    "push-gateway": (8080, "sportsfeed_push_gateway.main"),
}
GATEWAY_TARGET = "push-gateway"  # the stage the gateway is built with; the others use the default (last) stage


def kubernetes_validate(*paths: Path | str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate, strict, against the Kubernetes version everything targets."""
    command = [str(Path(sys.executable).parent / "kubernetes-validate"), "-k", KUBE_VERSION, "--strict"]
    return subprocess.run([*command, *map(str, paths)], input=stdin, capture_output=True, text=True, timeout=120)


def schema_problems(result: subprocess.CompletedProcess[str]) -> list[str]:
    """A failed validation, or a kind it has no schema for (a WARN that would otherwise pass)."""
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "WARN" in output or "ERROR" in output:
        return [output or f"kubernetes-validate exited {result.returncode}"]
    return []


def containers_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Init containers first, in the order the kubelet runs them."""
    return [*spec.get("initContainers", []), *spec.get("containers", [])]
