"""Resolve a runtime's jars from Maven Central into the download cache, once."""

from __future__ import annotations

import shutil
import subprocess
from importlib.resources import as_file, files
from pathlib import Path

from .config import StackError

COMPLETE_MARKER = ".complete"


def resolve_runtime(pom_resource: str, properties: dict[str, str], dest: Path, label: str) -> Path:
    """Copy the pom's runtime dependencies into ``dest``; reuse ``dest`` when already complete.

    The jars land in a temporary folder renamed into place only after Maven
    succeeded, so an interrupted download is never mistaken for a cached one.
    """
    if (dest / COMPLETE_MARKER).exists():
        print(f"  {label}: using cached jars in {dest}", flush=True)
        return dest
    maven = shutil.which("mvn")
    if maven is None:
        raise StackError(
            f"{label} is resolved from Maven Central with Maven, but `mvn` is not on PATH: "
            "install Maven 3 (Debian/Ubuntu: apt-get install maven)"
        )
    print(f"  {label}: downloading from Maven Central into {dest} (first run only)...", flush=True)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with as_file(files("sportsfeed_devstack.resources") / pom_resource) as pom:
        command = [
            maven,
            "--batch-mode",
            "--no-transfer-progress",
            "--quiet",
            "-f",
            str(pom),
            *(f"-D{key}={value}" for key, value in properties.items()),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise StackError(f"Maven could not resolve {label}:\n{result.stdout}{result.stderr}")
    (partial / COMPLETE_MARKER).write_text("resolved by sportsfeed devstack\n")
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest
