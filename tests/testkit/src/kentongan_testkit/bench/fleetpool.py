"""The parent's side of the load-generator processes: gateways dealt round-robin over
`procs` processes (each its own event loop and paho clients, so one saturated loop no longer
caps the whole fleet), requests sent to one or all of them and answered as futures."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from kentongan_testkit.bench.fleetproc import SliceSpec, serve


class LoadgenError(RuntimeError):
    """A request failed inside a load-generator process (its traceback is the message)."""


class _Child:
    def __init__(self, index: int, spec: SliceSpec) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a parent full of threads
        self.index = index
        self.gateway_ids = spec.gateway_ids
        self.conn, child_end = ctx.Pipe()
        self.proc: BaseProcess = ctx.Process(
            target=serve, args=(child_end, spec), name=f"kentongan-loadgen-{index}", daemon=True
        )
        self.proc.start()
        child_end.close()
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self.closed = Future[None]()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        conn: Connection = self.conn
        while True:
            try:
                rid, ok, value = conn.recv()
            except (EOFError, OSError):
                break
            if rid == -1:
                break
            with self._lock:
                fut = self._pending.pop(rid)
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(LoadgenError(f"load generator {self.index}: {value}"))
        with self._lock:
            lost, self._pending = self._pending, {}
        for fut in lost.values():
            fut.set_exception(LoadgenError(f"load generator {self.index} exited"))
        self.closed.set_result(None)

    def ask_to_close(self) -> None:
        if self.proc.is_alive():
            with self._lock:
                self.conn.send((-1, "close", ()))

    def submit(self, method: str, *args: Any) -> Future[Any]:
        fut = Future[Any]()
        with self._lock:
            rid = next(self._ids)
            self._pending[rid] = fut
            self.conn.send((rid, method, args))
        return fut


class FleetPool:
    """`procs` load-generator processes holding the virtual gateways between them."""

    def __init__(
        self,
        procs: int,
        *,
        config_dir: Path,
        secrets_dir: Path,
        broker_port: int,
        gateway_ids: list[str],
        heartbeat_s: float,
    ) -> None:
        if procs < 1:
            msg = f"--procs must be at least 1, got {procs}"
            raise ValueError(msg)
        n = min(procs, len(gateway_ids))
        self.children = [
            _Child(
                i,
                SliceSpec(
                    config_dir, secrets_dir, broker_port, tuple(gateway_ids[i::n]), heartbeat_s
                ),
            )
            for i in range(n)
        ]
        self._owner = {gid: c for c in self.children for gid in c.gateway_ids}

    @property
    def procs(self) -> int:
        return len(self.children)

    def all(self, method: str, *args: Any, timeout: float | None = None) -> list[Any]:
        """Ask every process at once; their answers in process order."""
        futs = [c.submit(method, *args) for c in self.children]
        return [f.result(timeout) for f in futs]

    def each(self, method: str, args_of: Iterable[tuple[Any, ...]]) -> list[Future[Any]]:
        """Ask each process with its own arguments (one tuple per process)."""
        return [c.submit(method, *a) for c, a in zip(self.children, args_of, strict=True)]

    def press(self, gateway_ids: list[str]) -> Future[dict[str, float]]:
        """Press at these posts (all held by one process, or one post): event_id → time."""
        owners = {self._owner[g] for g in gateway_ids}
        if len(owners) != 1:
            msg = "press() takes posts of one load generator; call it once per post"
            raise ValueError(msg)
        return owners.pop().submit("press", gateway_ids)

    def drop(self, gateway_ids: list[str], timeout: float = 60) -> None:
        futs = [
            c.submit("drop", [g for g in gateway_ids if self._owner[g] is c]) for c in self.children
        ]
        for f in futs:
            f.result(timeout)

    def close(self, timeout: float = 90) -> None:
        for c in self.children:
            c.ask_to_close()
        for c in self.children:
            c.proc.join(timeout)
            if c.proc.is_alive():
                c.proc.kill()
                c.proc.join(10)
