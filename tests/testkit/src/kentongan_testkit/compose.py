"""docker-compose.yml as Debian's docker-compose resolves it, with a given .env."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from kentongan_testkit.dashboards import REPO
from kentongan_testkit.tools import require

COMPOSE = REPO / "docker-compose.yml"
EXAMPLE = REPO / ".env.example"


def example_values() -> dict[str, str]:
    """The uncommented NAME=value lines of .env.example."""
    out = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def real_values() -> dict[str, str]:
    """The example with every placeholder replaced by a value that is not one."""
    return {
        k: f"real-{k.lower()}-0123456789abcdef" if v.startswith("replace") else v
        for k, v in example_values().items()
    }


def compose_config(
    workdir: Path, env: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose [options] config` on the repository's file with `env` as .env."""
    exe = require("docker-compose", "docker-compose")
    shutil.copyfile(COMPOSE, workdir / "docker-compose.yml")
    (workdir / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run(
        [exe, *options, "config"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def resolved(workdir: Path, env: dict[str, str], *options: str) -> dict[str, Any]:
    """The resolved file (it must validate)."""
    done = compose_config(workdir, env, *options)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = yaml.safe_load(done.stdout)
    return doc
