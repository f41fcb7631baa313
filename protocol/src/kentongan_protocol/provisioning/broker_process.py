"""Run a real Mosquitto with the generated configuration (tests, the demo, a laptop)."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from kentongan_protocol.errors import KentonganError
from kentongan_protocol.provisioning.broker import BrokerLayout, TlsFiles
from kentongan_protocol.provisioning.cli import write_broker_files
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning, load_tree

_LOGGER = logging.getLogger(__name__)
INSTALL_HINT = "install it with: apt-get install -y mosquitto mosquitto-clients"


class BrokerUnavailableError(KentonganError, RuntimeError):
    """Mosquitto is not installed or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        msg = f"mosquitto is not installed; {INSTALL_HINT}"
        raise BrokerUnavailableError(msg)
    return found


def _wait_port(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class MosquittoProcess:
    """A Mosquitto on free 127.0.0.1 ports, configured exactly as a deployment would be.

    As root, Mosquitto drops to the `mosquitto` user; the data directory is handed to that
    user so persistence really works (it fails silently otherwise).
    """

    def __init__(
        self,
        prov: Provisioning,
        store: SecretStore,
        *,
        workdir: Path | None = None,
        port: int | None = None,
        tls: TlsFiles | None = None,
        autosave_interval_s: int = 60,
    ) -> None:
        self.prov = prov
        self.store = store
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="kentongan-broker-"))
        self.workdir.chmod(0o755)
        self.port = port or free_port()
        self.tls_port = free_port() if tls is not None else None
        self.tls = tls
        self.autosave_interval_s = autosave_interval_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.config_dir = self.workdir / "config"
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def persistence_file(self) -> Path:
        return self.data_dir / "mosquitto.db"

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("mosquitto")
        except KeyError:
            return "root"
        return "mosquitto"

    def write_config(self) -> Path:
        user = self._user()
        layout = BrokerLayout(
            config_dir=str(self.config_dir),
            data_dir=str(self.data_dir),
            plain_bind="127.0.0.1",
            plain_port=self.port,
            tls_port=self.tls_port,
            tls=self.tls,
            user=user,
            log_dest="stderr",
            autosave_interval_s=self.autosave_interval_s,
        )
        write_broker_files(self.prov, self.config_dir, self.store, layout)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user not in (None, "root"):
            entry = pwd.getpwnam(str(user))
            for path in (self.data_dir, *self.config_dir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return self.config_dir / "mosquitto.conf"

    def start(self, timeout: float = 10.0) -> MosquittoProcess:
        conf = self.write_config() if self.proc is None else self.config_dir / "mosquitto.conf"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if not _wait_port(self.port, time.monotonic() + timeout):
            self.kill()
            msg = f"mosquitto did not listen on {self.port}: {self.log_tail()}"
            raise BrokerUnavailableError(msg)
        _LOGGER.info("mosquitto listening on 127.0.0.1:%d (pid %d)", self.port, self.proc.pid)
        return self

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def reload(self) -> None:
        """Re-read the tree, then passwd and ACL (after a revoke), as `kill -HUP` does."""
        self.prov = load_tree(self.prov.root)
        self.write_config()
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """Graceful stop: Mosquitto saves its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """kill -9: what a power cut does to the broker."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> MosquittoProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
