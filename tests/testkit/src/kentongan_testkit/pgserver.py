"""PostgreSQL for the tests: a private cluster (initdb in a temporary directory, a free
127.0.0.1 port, trust auth) or an external server named by a URL.

A private cluster needs only Debian's `postgresql` package: the tests never depend on a
server that happens to run on the machine. As root it runs as the `postgres` user, since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from kentongan_protocol.provisioning.broker_process import free_port
from psycopg.rows import TupleRow

ENV_VAR = "KENTONGAN_TEST_POSTGRES"
PG_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: one directory per major version
INSTALL_HINT = (
    "PostgreSQL server binaries are missing (no /usr/lib/postgresql/*/bin/initdb): "
    "apt-get install postgresql (bash tests/bootstrap.sh does it), or point "
    f"{ENV_VAR}=postgresql://USER@HOST:PORT/DB at a running server"
)


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server for the tests: the message says how to get one."""


@dataclass(frozen=True)
class PgServer:
    """Where a PostgreSQL server listens: `netloc` is `user[:password]@host:port`."""

    netloc: str
    admin_db: str = "postgres"

    @classmethod
    def from_url(cls, url: str, *, source: str = ENV_VAR) -> PgServer:
        parts = urlsplit(url)
        if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
            msg = f"{source}={url!r} is not a URL like postgresql://USER@HOST:PORT/DB"
            raise PostgresUnavailableError(msg)
        return cls(parts.netloc, parts.path.lstrip("/") or "postgres")

    def dsn(self, dbname: str | None = None) -> str:
        """A libpq URL, for psycopg."""
        return f"postgresql://{self.netloc}/{dbname or self.admin_db}"

    def url(self, dbname: str | None = None) -> str:
        """A SQLAlchemy URL, for the cloud."""
        return f"postgresql+psycopg://{self.netloc}/{dbname or self.admin_db}"

    def connect(self, dbname: str | None = None) -> psycopg.Connection[TupleRow]:
        try:
            return psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            msg = f"PostgreSQL is not reachable at {self.dsn(dbname)}: {exc}"
            raise PostgresUnavailableError(msg) from exc

    def create_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_binaries(root: Path | None = None) -> Path:
    """The newest installed server's bin directory."""
    found = sorted((root or PG_ROOT).glob("*/bin/initdb"), key=_major)
    if not found:
        raise PostgresUnavailableError(INSTALL_HINT)
    return found[-1].parent


def _major(initdb: Path) -> int:
    version = initdb.parent.parent.name
    return int(version) if version.isdigit() else 0


class PrivatePostgres:
    """A throw-away cluster: `with PrivatePostgres() as pg:` starts it, stops and removes it."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        # Not pytest's tmp_path: those are 0700 root and the postgres user must own this one.
        self.dir = Path(tempfile.mkdtemp(prefix="kentongan-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            try:
                pw = pwd.getpwnam(self.user)
            except KeyError:
                shutil.rmtree(self.dir, ignore_errors=True)
                msg = "running as root needs the 'postgres' user: " + INSTALL_HINT
                raise PostgresUnavailableError(msg) from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.server = PgServer(f"postgres@127.0.0.1:{self.port}")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            msg = f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{log}"
            raise PostgresUnavailableError(msg)

    def _options(self) -> str:
        # Only TCP on loopback, the socket in our own directory (no clash with a system
        # cluster), little shared memory; fsync stays on so a crash test sees real durability.
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=32MB"

    def __enter__(self) -> PrivatePostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            # --no-sync: initdb's own files need no flush; the server still fsyncs.
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
        self._pg_ctl("-l", str(self.log), "-o", self._options(), "-w", "start")
        return self

    def crash_restart(self) -> None:
        """Kill the server without a checkpoint (as a crash would) and start it again."""
        self._pg_ctl("-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        """Stop the server if it runs and remove the cluster's files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args)
