"""Real time-series servers for tests: Debian's victoria-metrics and influxd 1.6.7.

Each runs on a free 127.0.0.1 port with its data in a temp dir, and is stopped afterwards.
`V2WriteShim` gives influxd 1.6.7 (which has no `/api/v2/write`) the InfluxDB 2 write
endpoint, passing the writer's line-protocol bytes through unchanged, as InfluxDB 1.8's
compatibility endpoint does.
"""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kentongan_protocol.provisioning.broker_process import free_port

INSTALL_HINT = "apt-get install victoria-metrics influxdb"
_START_TIMEOUT_S = 60.0


def tsdb_binary(name: str) -> str:
    """The path of a Debian time-series binary; fails the test with the install command."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")
    if found is None:
        pytest.fail(f"{name} is not installed; install it with: {INSTALL_HINT}")
    return found


def _http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"{proc.args!r} exited with {proc.returncode}: {log.read_text()[-2000:]}"
            raise RuntimeError(msg)
        try:
            status, _ = _http("GET", url)
            if status < 300:
                return
        except OSError:
            pass
        time.sleep(0.05)
    msg = f"{url} not ready after {_START_TIMEOUT_S:.0f} s: {log.read_text()[-2000:]}"
    raise RuntimeError(msg)


class _Server:
    """A server process with a data dir that outlives stop() so restart() keeps the data."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready_path(self) -> str:
        raise NotImplementedError

    def start(self) -> _Server:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        _wait_ready(self.url + self.ready_path(), self.proc, self.log)
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a restarted or upgraded server gets."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class VictoriaMetricsProcess(_Server):
    """Debian's victoria-metrics: takes influxdb-client's `/api/v2/write` (numbers, ms only)."""

    name = "victoria-metrics"

    def argv(self) -> list[str]:
        return [
            tsdb_binary("victoria-metrics"),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-loggerLevel=WARN",
        ]

    def ready_path(self) -> str:
        return "/health"

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every raw sample of the series matching `match`, after making recent writes visible."""
        _http("GET", self.url + "/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        status, body = _http("GET", f"{self.url}/api/v1/export?{query}")
        assert status == 200, body[:500]
        return [json.loads(line) for line in body.splitlines() if line.strip()]


class InfluxdProcess(_Server):
    """Debian's influxd 1.6.7: InfluxQL on `/query`, line protocol on `/write`."""

    name = "influxd"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.rpc_port = free_port()

    def argv(self) -> list[str]:
        conf = self.workdir / "influxd.conf"
        d = self.workdir
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{d / "meta"}"
[data]
  dir = "{d / "data"}"
  wal-dir = "{d / "wal"}"
  query-log-enabled = false
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""
        )
        return [tsdb_binary("influxd"), "run", "-config", str(conf)]

    def ready_path(self) -> str:
        return "/ping"

    def query(self, q: str, db: str) -> dict[str, Any]:
        """Run InfluxQL (epoch milliseconds); fail on any error the server reports."""
        form = urllib.parse.urlencode({"q": q, "db": db, "epoch": "ms"}).encode()
        status, body = _http(
            "POST",
            self.url + "/query",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200, body[:500]
        data: dict[str, Any] = json.loads(body)
        return data

    def create_database(self, db: str) -> None:
        form = urllib.parse.urlencode({"q": f'CREATE DATABASE "{db}"'}).encode()
        status, body = _http("POST", self.url + "/query", form)
        assert status == 200, body[:500]


@dataclass(frozen=True)
class RecordedWrite:
    """One `/api/v2/write` request as the shim received it."""

    bucket: str
    precision: str
    content_encoding: str
    authorization: str
    body: bytes


class V2WriteShim:
    """`/api/v2/write` in front of influxd 1.6.7: bucket → db, bytes forwarded unchanged."""

    def __init__(self, influxd: InfluxdProcess) -> None:
        self.influxd = influxd
        self.writes: list[RecordedWrite] = []
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                body = gzip.decompress(raw) if encoding == "gzip" else raw
                if url.path != "/api/v2/write":
                    self._answer(404, b'{"message":"not found"}')
                    return
                shim.writes.append(
                    RecordedWrite(
                        bucket=params.get("bucket", ""),
                        precision=params.get("precision", "ns"),
                        content_encoding=encoding,
                        authorization=self.headers.get("Authorization", ""),
                        body=body,
                    )
                )
                target = urllib.parse.urlencode(
                    {"db": params.get("bucket", ""), "precision": params.get("precision", "ns")}
                )
                status, answer = _http("POST", f"{shim.influxd.url}/write?{target}", body)
                self._answer(status, answer)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetricsProcess]:
    """A running victoria-metrics; `stop()`/`start()` it to make an outage."""
    tsdb_binary("victoria-metrics")
    workdir = tmp_path / "victoria-metrics"
    workdir.mkdir()
    vm = VictoriaMetricsProcess(workdir)
    vm.start()
    yield vm
    vm.stop()


@pytest.fixture(scope="module")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdProcess]:
    """A running influxd 1.6.7, shared by the tests of one module."""
    tsdb_binary("influxd")
    server = InfluxdProcess(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()
