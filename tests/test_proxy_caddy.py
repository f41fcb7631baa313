"""The deployment's proxy (cloud/deploy/Caddyfile) in Debian's caddy, in front of the real cloud
over real HTTP: pages over HTTPS with the cloud's own security headers, plain HTTP redirected,
the console's server-sent events streamed without buffering, /metrics kept inside, and
/grafana/ passed to Grafana with its sub-path."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from kentongan_cloud.api.auth import hash_password
from kentongan_cloud.records import UserRecord
from kentongan_cloud.store.db import Tx
from kentongan_protocol.provisioning.broker_process import free_port
from kentongan_testkit.caddy import CaddyProcess
from kentongan_testkit.cloud_fixtures import CloudFactory
from kentongan_testkit.cloudharness import CloudHarness
from kentongan_testkit.served import serve

PASSWORD = "kentongan-rahasia"


class GrafanaStandIn(BaseHTTPRequestHandler):
    """Answers with the path it was asked for (Grafana itself is not packaged for Debian)."""

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def grafana_stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), GrafanaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def web(cloud: CloudFactory) -> CloudHarness:
    return cloud.start(mqtt=False, outbox=False, sweeper=False)


@pytest.fixture
def proxied(
    web: CloudHarness, grafana_stand_in: str, tmp_path: Path
) -> Iterator[tuple[CaddyProcess, str]]:
    """The proxy in front of the served cloud; yields it and the cloud's direct URL."""
    with serve(web) as direct:
        caddy = CaddyProcess(
            tmp_path / "caddy",
            cloud_upstream=direct.removeprefix("http://"),
            grafana_upstream=grafana_stand_in,
        ).start()
        try:
            yield caddy, direct
        finally:
            caddy.stop()


def https(caddy: CaddyProcess) -> httpx.Client:
    assert caddy.cert is not None
    trust = ssl.create_default_context(cafile=str(caddy.cert))
    return httpx.Client(base_url=caddy.url, verify=trust, timeout=15)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_over_https_keep_the_clouds_headers(proxied: tuple[CaddyProcess, str]) -> None:
    caddy, direct = proxied
    with https(caddy) as c:
        page = c.get("/lapor")
    assert page.status_code == 200
    assert page.url.scheme == "https"
    assert 'lang="id"' in page.text
    plain = httpx.get(f"{direct}/lapor", timeout=15)
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert page.headers.get(name) == plain.headers.get(name), name
        assert page.headers.get(name), f"the cloud sets {name}"
    assert "server" not in page.headers
    # Plain HTTP only redirects to HTTPS.
    redirect = httpx.get(f"http://localhost:{caddy.http_port}/lapor", timeout=15)
    assert redirect.status_code in (301, 308)
    # Caddy names the standard HTTPS port in its redirect, which is the public one in compose.
    assert redirect.headers["location"] == "https://localhost/lapor"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_metrics_stay_inside_and_grafana_keeps_its_sub_path(
    proxied: tuple[CaddyProcess, str],
) -> None:
    caddy, direct = proxied
    assert httpx.get(f"{direct}/metrics", timeout=15).status_code == 200
    with https(caddy) as c:
        assert c.get("/metrics").status_code == 404
        bare = c.get("/grafana")
        assert bare.status_code == 308
        assert bare.headers["location"] == "/grafana/"
        r = c.get("/grafana/api/health")
    assert r.status_code == 200
    assert r.text == "/grafana/api/health"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_console_events_stream_through_the_proxy(
    proxied: tuple[CaddyProcess, str], web: CloudHarness
) -> None:
    async def add(tx: Tx) -> None:
        user = UserRecord("sari", hash_password(PASSWORD), "operator", None, True)
        await tx.users.upsert(user, datetime.now(UTC))

    web.db(add)
    caddy, _ = proxied
    with https(caddy) as c:
        login = c.post("/api/v1/auth/login", json={"username": "sari", "password": PASSWORD})
        assert login.status_code == 200, login.text
        # The stream never ends: a buffering proxy would hold these lines back and the read
        # would time out.
        with c.stream("GET", "/konsol/stream", timeout=httpx.Timeout(15, read=10)) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            assert next(lines) == "retry: 2000"
            seen = [next(lines) for _ in range(3)]
    assert seen[0] == ""
    assert seen[1] == "event: board"
    assert seen[2].startswith("data: [")
