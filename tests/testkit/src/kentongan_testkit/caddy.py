"""Debian's caddy running the deployment's own proxy config (cloud/deploy/Caddyfile) on free
127.0.0.1 ports, with a throw-away certificate for `localhost` and the upstreams given."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kentongan_protocol.provisioning.broker_process import free_port

from kentongan_testkit.dashboards import REPO
from kentongan_testkit.tools import require

CADDYFILE = REPO / "cloud" / "deploy" / "Caddyfile"


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A one-day certificate and key for `name` (openssl), as the proxy's TLS files."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@dataclass
class CaddyProcess:
    """`caddy run` with the committed Caddyfile; its environment stands in for the .env."""

    workdir: Path
    cloud_upstream: str
    grafana_upstream: str
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    cert: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "caddy.log"

    def start(self, timeout: float = 20.0) -> CaddyProcess:
        exe = require("caddy", "caddy")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed(self.workdir)
        env = os.environ | {
            "KENTONGAN_DOMAIN": "localhost",
            "KENTONGAN_PROXY_TLS": f"{self.cert} {key}",
            "KENTONGAN_PROXY_BIND": "127.0.0.1",
            "KENTONGAN_PROXY_HTTP_PORT": str(self.http_port),
            "KENTONGAN_PROXY_HTTPS_PORT": str(self.https_port),
            "KENTONGAN_CLOUD_UPSTREAM": self.cloud_upstream,
            "KENTONGAN_GRAFANA_UPSTREAM": self.grafana_upstream,
            # Caddy keeps its storage under these: never the user's own.
            "XDG_DATA_HOME": str(self.workdir / "data"),
            "XDG_CONFIG_HOME": str(self.workdir / "config"),
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [exe, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                msg = f"caddy did not start: {self.log.read_text(errors='replace')[-3000:]}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
