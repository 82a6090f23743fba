"""Offline checks of the Kubernetes delivery: the tools they run, found where
``tools/kube-tools/install`` builds them (``./sportsfeed test`` and ``install`` run it first).

A missing tool is a test error naming the command that installs it, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The Prometheus Operator's API types, which tools/kube-tools/install downloads (Go source).
PROMETHEUS_OPERATOR_APIS = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@v0.95.2"
KUBE_VERSION = "1.33.0"  # the Kubernetes version manifests are rendered and validated for


def cache_dir() -> Path:
    return Path(os.environ.get("SPORTSFEED_CACHE_DIR") or str(Path.home() / ".cache" / "sportsfeed"))


def tool_dir() -> Path:
    return cache_dir() / "bin"


def find_tool(name: str) -> Path:
    built = tool_dir() / name
    if built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(f"{name} is not installed: run tools/kube-tools/install (./sportsfeed install does)")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def helm() -> Path:
    return find_tool("helm")


@pytest.fixture(scope="session")
def skaffold() -> Path:
    return find_tool("skaffold")


@pytest.fixture(scope="session")
def monitoring_api_types() -> Path:
    """The folder of the operator's v1 API types in Go's module cache (no escaping needed: all lower case)."""
    folder = cache_dir() / "go" / "mod" / PROMETHEUS_OPERATOR_APIS / "v1"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing: run tools/kube-tools/install (./sportsfeed install does)")
    return folder
