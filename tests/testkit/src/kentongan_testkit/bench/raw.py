"""The ceiling: raw Mosquitto QoS 1 throughput with its own tools, one mosquitto_pub -> one
mosquitto_sub, on a throw-away broker with the same inflight and TCP settings as ours.

The trap (FINDINGS.md): `mosquitto_pub -l` exits before its in-flight QoS 1 messages are
acknowledged, so a large file arrives only in part. The rate is measured at the subscriber,
which waits for exactly the number sent (`-C`); a shortfall is reported as loss, never hidden.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kentongan_protocol.provisioning.broker import MAX_INFLIGHT_MESSAGES
from kentongan_protocol.provisioning.broker_process import free_port, mosquitto_binary

PAYLOAD = b'{"event_id":"00000000-0000-4000-8000-000000000000","seq":%d,"kind":"battery_low"}'


@dataclass(frozen=True)
class RawRun:
    sent: int
    received: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    msg = f"raw mosquitto did not listen on {port}"
    raise RuntimeError(msg)


def _count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _until_quiet(sub: subprocess.Popen[bytes], out: Path, t0: float, timeout: float) -> float:
    """Seconds from the first publish to the last message the subscriber got: it exits when
    all arrived; if some never come (the -l trap), it is stopped after 3 s without growth."""
    last_size, last_change = -1, time.monotonic()
    while sub.poll() is None:
        size = out.stat().st_size
        now = time.monotonic()
        if size != last_size:
            last_size, last_change = size, now
        elif now - last_change > 3.0 or now - t0 > timeout:
            sub.kill()
            sub.wait()
            return last_change - t0
        time.sleep(0.05)
    return time.monotonic() - t0


def raw_qos1(messages: int, timeout: float = 120.0) -> RawRun:
    """One run: a fresh broker, a subscriber waiting for `messages`, a publisher of them."""
    with tempfile.TemporaryDirectory(prefix="kentongan-raw-") as tmp:
        work = Path(tmp)
        port = free_port()
        conf = work / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}\nmax_queued_messages 0\n"
            "persistence false\nlog_dest none\n"
        )
        lines = work / "lines.txt"
        lines.write_bytes(b"\n".join(PAYLOAD % i for i in range(messages)) + b"\n")
        broker = subprocess.Popen([mosquitto_binary(), "-c", str(conf)])
        try:
            _wait_port(port, 10)
            out = work / "sub.out"
            with out.open("wb") as sink:
                sub = subprocess.Popen(
                    [
                        "mosquitto_sub",
                        "-p",
                        str(port),
                        "-q",
                        "1",
                        "-t",
                        "raw/t",
                        "-C",
                        str(messages),
                        "-i",
                        "raw-sub",
                        "-c",
                    ],
                    stdout=sink,
                )
                time.sleep(0.5)  # the subscription must exist before the first publish
                t0 = time.monotonic()
                with lines.open("rb") as src:
                    subprocess.run(
                        [
                            "mosquitto_pub",
                            "-p",
                            str(port),
                            "-q",
                            "1",
                            "-t",
                            "raw/t",
                            "-l",
                            "-i",
                            "raw-pub",
                        ],
                        stdin=src,
                        check=False,
                        timeout=timeout,
                    )
                seconds = _until_quiet(sub, out, t0, timeout)
            received = _count(out)
            return RawRun(messages, received, seconds)
        finally:
            broker.terminate()
            broker.wait(10)
