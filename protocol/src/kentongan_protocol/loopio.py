"""Driving an MQTT client's socket from an asyncio loop, without a network thread.

paho's external-loop hooks tell us when its socket opens, closes and has bytes to write; we
answer with the loop's readers and writers and a once-a-second `loop_misc` for keepalive.
The client is seen through a small protocol, so this module needs no paho import. The edge
(thousands of links in one process for virtual gateways) and the cloud (no second thread to
hand the GIL to and fro with psycopg's) both keep their links this way.
"""

from __future__ import annotations

import asyncio
import logging
import random
import select
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Protocol

MISC_INTERVAL_S = 1.0


def backoff_delay(failures: int, low: float, high: float) -> float:
    """Capped exponential backoff with jitter: between half and all of min(high, low·2ⁿ)."""
    ceiling = min(high, low * (2 ** min(failures, 30)))
    return random.uniform(ceiling / 2, ceiling)


class SocketClient(Protocol):
    """The part of paho's client an external loop drives."""

    def loop_read(self, max_packets: int = 1) -> object: ...

    def loop_write(self) -> object: ...

    def loop_misc(self) -> object: ...


class LoopSockets:
    """Readers, writers and the keepalive tick of one client's connection.

    paho calls `opened` and `want_write` from the thread that runs its blocking connect;
    they hop onto the loop. Everything else happens on the loop.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: SocketClient,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger,
        *,
        reads: int = 1,
    ) -> None:
        self._loop = loop
        self._reads = reads
        self._client = client
        self._log = log
        self._misc: asyncio.TimerHandle | None = None
        self._closed = False

    def _on_loop(self, fn: Callable[[], None]) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fn()
        else:
            self._loop.call_soon_threadsafe(fn)

    def opened(self, sock: object) -> None:
        if not isinstance(sock, socket.socket):
            return
        # Nagle's algorithm holds small messages back ~40 ms; a panic must not wait.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def register() -> None:
            if self._closed or sock.fileno() < 0:
                return
            self._loop.add_reader(sock, self._readable, sock)
            self._misc = self._loop.call_later(MISC_INTERVAL_S, self._tick)

        self._on_loop(register)

    def closed(self, sock: object) -> None:
        if isinstance(sock, socket.socket) and sock.fileno() >= 0:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def want_write(self, sock: object) -> None:
        if not isinstance(sock, socket.socket):
            return

        def register() -> None:
            if not self._closed and sock.fileno() >= 0:
                self._loop.add_writer(sock, self._writable)

        self._on_loop(register)

    def written(self, sock: object) -> None:
        if isinstance(sock, socket.socket) and sock.fileno() >= 0:
            self._loop.remove_writer(sock)

    def _readable(self, sock: socket.socket) -> None:
        """paho reads one packet per call. With `reads` above 1, up to that many while more
        bytes wait, in this one turn of the loop: a busy link's messages (the cloud's) then
        wait behind one turn of everything else on the loop, not one turn per message."""
        try:
            self._client.loop_read()
            for _ in range(self._reads - 1):
                if not _more(sock):
                    break
                self._client.loop_read()
            # TLS may hold decrypted bytes the socket no longer signals.
            while isinstance(sock, ssl.SSLSocket) and sock.fileno() >= 0 and sock.pending():
                self._client.loop_read()
        except Exception:
            self._log.exception("error reading from the broker")

    def _writable(self) -> None:
        try:
            self._client.loop_write()
        except Exception:
            self._log.exception("error writing to the broker")

    def _tick(self) -> None:
        if self._closed:
            return
        self._client.loop_misc()
        if not self._closed:
            self._misc = self._loop.call_later(MISC_INTERVAL_S, self._tick)

    def close(self, sock: socket.socket | None = None, *, abort: bool = False) -> None:
        """Stop driving; close `sock` if still open (abort: RST, as a power cut looks)."""
        self._closed = True
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        if sock is not None and sock.fileno() >= 0:
            self.closed(sock)
            if abort:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()


def _more(sock: socket.socket) -> bool:
    """Whether bytes are waiting on `sock` (or TLS holds some decrypted), without blocking."""
    if sock.fileno() < 0:
        return False
    if isinstance(sock, ssl.SSLSocket):
        return sock.pending() > 0 or bool(select.select([sock], [], [], 0)[0])
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # let paho's read meet the error and close the connection
