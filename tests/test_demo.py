"""`kentongan-demo` end to end: the whole network comes up, the scenario's timeline prints in
order, the console answers and the operator login printed works; it stops cleanly."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from kentongan_protocol.provisioning.broker_process import mosquitto_binary

STEPS = [
    "1. Tombol panik ditahan (panic button held)",
    "2. Sirine lokal berbunyi (local siren on)",
    "3. Insiden tercatat (incident committed)",
    "4. Aktivasi kedua (second activation)",
    "5. Insiden terkonfirmasi (incident confirmed)",
    "6. Sirine tetangga berbunyi (neighbour siren on)",
    "7. Notifikasi terkirim (notification sent)",
    "8. Tautan Terima dibuka (one-tap link opened)",
    "9. Terima ditekan (Terima tapped)",
    "10. Penerimaan tercatat (acknowledgement recorded)",
    "11. Jam demo dimajukan (demo clock advanced)",
    "12. Eskalasi (escalation)",
    "13. Operator menyatakan aman (all-clear)",
    "14. Sirine berhenti (sirens stopped)",
]


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("kentongan-demo")
    return subprocess.Popen(
        [str(exe), "--workdir", str(tmp_path / "demo"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )


def test_the_demo_plays_its_scenario_and_leaves_the_console_open(tmp_path: Path) -> None:
    mosquitto_binary()
    proc = _demo(tmp_path)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Tekan Ctrl-C"):
                break
        out = "\n".join(lines)
        assert proc.poll() is None, out
        positions = [out.find(step) for step in STEPS]
        assert all(p >= 0 for p in positions), out
        assert positions == sorted(positions), out
        assert re.search(r"incident committed\) — .+, \d+ ms sejak tombol ditekan", out), out
        assert "/t/" in out, out
        assert "Diterima oleh" in out, out
        console = re.search(r"Konsol \(console\): (http://127\.0\.0\.1:\d+)/konsol", out)
        login = re.search(r"Login operator: (\S+) / (\S+)", out)
        assert console is not None, out
        assert login is not None, out
        base = console.group(1)
        assert httpx.get(f"{base}/konsol/masuk", timeout=10).status_code == 200
        assert httpx.get(f"{base}/lapor", timeout=10).status_code == 200
        r = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"username": login.group(1), "password": login.group(2)},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        incidents = httpx.get(
            f"{base}/api/v1/incidents?state=resolved",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert incidents.status_code == 200, incidents.text
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert "Berhenti dengan rapi (stopped cleanly)." in rest
    assert "Traceback" not in rest, rest
    # The broker, a child process, is gone with the demo.
    broker = re.search(r"Broker \(Mosquitto\) 127\.0\.0\.1:(\d+)", out)
    assert broker is not None, out
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", int(broker[1])), 2),
    ):
        pass


def test_the_demo_without_its_scenario_only_brings_the_network_up(tmp_path: Path) -> None:
    mosquitto_binary()
    proc = _demo(tmp_path, "--no-scenario", "--exit-after-scenario")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "15 gateway virtual terhubung" in out, out
    assert STEPS[0] not in out, out


def test_the_demo_explains_itself() -> None:
    exe = Path(sys.executable).with_name("kentongan-demo")
    r = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0
    for option in ("--no-scenario", "--exit-after-scenario", "--port"):
        assert option in r.stdout


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # The HTTP socket is bound first (a port picked free and bound later could be taken by
    # the network's own connections meanwhile); one already taken is said at once.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _demo(tmp_path, "--no-scenario", "--exit-after-scenario", "--port", str(port))
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert f"cannot listen on 127.0.0.1:{port}" in out, out
    assert "Broker (Mosquitto)" not in out, out
