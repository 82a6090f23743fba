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
KUBE_VERSION = "1.33.0"  # the Kubernetes version manifests are rendered and validated for


def tool_dir() -> Path:
    cache = os.environ.get("SPORTSFEED_CACHE_DIR") or str(Path.home() / ".cache" / "sportsfeed")
    return Path(cache) / "bin"


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
