"""The MQTT link: the only module that imports paho-mqtt.

MQTT 5 over TCP (TLS when configured), QoS 1, TCP_NODELAY (Nagle adds ~40 ms to small
messages). paho runs on the asyncio loop through its socket callbacks, without a thread of
its own, so one process can hold thousands of links (virtual gateways). A fresh paho client
is made for every connection: paho's own in-RAM resend queue is never used, the durable
outbox does that job.

Connection: keepalive ≤ 13 s, a persistent session (commands queued during a short outage
arrive, each still bounded by the broker's counted-down message expiry), birth after the
subscriptions are granted, Last Will with a delay. Reconnects back off exponentially with
full jitter up to a cap; a refusal for bad credentials or authorisation stops the retries
with a loud error, because retrying cannot fix it and hammering the broker hurts others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

import paho.mqtt.client as mqtt
from kentongan_protocol.loopio import LoopSockets, backoff_delay
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kentongan_edge.linkspec import (
    REFUSALS,
    LinkError,
    LinkListener,
    LinkSettings,
    Retained,
    tls_context,
)

__all__ = ["LinkError", "LinkListener", "LinkSettings", "MqttLink", "Retained"]

_LOGGER = logging.getLogger(__name__)


def _paho_client(s: LinkSettings) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(s.username, s.password)
    client.connect_timeout = s.connect_timeout_s
    if s.tls:
        client.tls_set_context(tls_context(s.ca_file))
    return client


class MqttLink:
    """One MQTT 5 connection kept alive on the event loop (see module docstring)."""

    def __init__(
        self,
        settings: LinkSettings,
        listener: LinkListener,
        *,
        subscriptions: list[str],
        birth: Retained | None = None,
        will: Retained | None = None,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger = _LOGGER,
    ) -> None:
        self.settings = settings
        self._listener = listener
        self._subscriptions = subscriptions
        self._birth = birth
        self._will = will
        self._log = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed: asyncio.Future[str] | None = None
        self._io: LoopSockets | None = None
        self._up = False
        self._session = False
        self._stopping = False
        self._refusal: str | None = None
        self._sub_mid: int | None = None
        self._quiet_mids: dict[int, asyncio.Future[int]] = {}
        self.attempts = 0
        self.connections = 0
        self.last_error: str | None = None

    # --- public ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True once subscribed and the birth is sent, until the connection drops."""
        return self._up

    @property
    def refused(self) -> str | None:
        """Why the broker refused us for good, or None."""
        return self._refusal

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = self._loop.create_task(self._run(), name=f"mqtt {self.settings.client_id}")

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None:
        """Queue a publish on the live connection; the mid, or None when not connected.

        Allowed from the CONNACK on: a resumed session delivers queued commands before our
        subscriptions are renewed, and their acks must go out.
        """
        client = self._client
        if not self._session or client is None:
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return info.mid

    async def stop(self, goodbye: Retained | None = None) -> None:
        """Say goodbye (a retained message) if connected, disconnect cleanly, stop retrying."""
        self._stopping = True
        client = self._client
        if goodbye is not None and self._up and client is not None:
            waiter = self._quiet_publish(client, goodbye)
            if waiter is not None:
                try:
                    # Not wait_for: on 3.11 it can lose a cancellation (gh-86296).
                    async with asyncio.timeout(2.0):
                        await waiter
                except TimeoutError:
                    self._log.warning("no PUBACK for the offline state before disconnecting")
        if client is not None and client.is_connected():
            client.disconnect()
            client.loop_write()  # flush DISCONNECT now: paho closes the socket after it
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._teardown()

    def drop(self) -> None:
        """Vanish without DISCONNECT, as a Pi losing power does (the Last Will follows)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
        self._up = self._session = False
        self._teardown(abort=True)

    def nodelay(self) -> bool:
        """Whether TCP_NODELAY is set on the live socket (diagnostics and tests)."""
        sock = self._client.socket() if self._client is not None else None
        if not isinstance(sock, socket.socket):
            return False
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    # --- connection loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        loop = self._the_loop()
        failures = 0
        s = self.settings
        while not self._stopping:
            self.attempts += 1
            client = self._new_client()
            self._client = client
            self._closed = loop.create_future()
            try:
                await loop.run_in_executor(None, self._connect, client)
            except (OSError, ssl.SSLError, ValueError) as exc:
                self._closed = None
                self.last_error = str(exc)
                failures += 1
                delay = backoff_delay(failures, s.reconnect_min_s, s.reconnect_max_s)
                self._log.warning(
                    "cannot reach broker %s:%d (%s); next try in %.1f s", s.host, s.port, exc, delay
                )
                self._teardown()
                await asyncio.sleep(delay)
                continue
            reason = await self._closed
            was_up = self._up
            self._up = self._session = False
            self._teardown()
            if self._refusal is not None:
                self._log.critical(
                    "broker %s:%d refused user %r: %s. Stopped retrying; local sirens and the "
                    "outbox keep working. Fix the credentials or the broker's passwd/ACL, then "
                    "restart the daemon (systemctl restart kentongan-edge).",
                    s.host,
                    s.port,
                    s.username,
                    self._refusal,
                )
                self._listener.link_refused(self._refusal)
                return
            if was_up:
                failures = 0
                self._listener.link_down(reason)
            if self._stopping:
                return
            failures += 1
            delay = backoff_delay(failures, s.reconnect_min_s, s.reconnect_max_s)
            self._log.warning("link to broker lost (%s); reconnecting in %.1f s", reason, delay)
            await asyncio.sleep(delay)

    def _new_client(self) -> mqtt.Client:
        s = self.settings
        client = _paho_client(s)
        # Our outbox bounds what is in flight; paho must not hold anything back.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        if self._will is not None:
            props = Properties(PacketTypes.WILLMESSAGE)
            props.WillDelayInterval = s.will_delay_s
            client.will_set(
                self._will.topic, self._will.payload, qos=1, retain=True, properties=props
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        io = self._io = LoopSockets(self._the_loop(), client, self._log)
        client.on_socket_open = lambda _c, _u, sock: io.opened(sock)
        client.on_socket_close = lambda _c, _u, sock: io.closed(sock)
        client.on_socket_register_write = lambda _c, _u, sock: io.want_write(sock)
        client.on_socket_unregister_write = lambda _c, _u, sock: io.written(sock)
        return client

    def _connect(self, client: mqtt.Client) -> None:
        """Blocking TCP (and TLS) connect; runs in the loop's executor."""
        s = self.settings
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = s.session_expiry_s
        client.connect(
            s.host, s.port, keepalive=s.keepalive_s, clean_start=s.clean_start, properties=props
        )

    def _teardown(self, *, abort: bool = False) -> None:
        """Forget the current client; close its socket if paho has not (abort: with RST)."""
        client = self._client
        sock = client.socket() if client is not None else None
        if self._io is not None:
            self._io.close(sock if isinstance(sock, socket.socket) else None, abort=abort)
            self._io = None
        for fut in self._quiet_mids.values():
            if not fut.done():
                fut.cancel()
        self._quiet_mids.clear()
        self._client = None

    # --- paho callbacks (on the loop, except socket open/write during connect) --------------

    def _the_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            msg = "the link is not started"
            raise LinkError(msg)
        return self._loop

    def _on_connect(
        self,
        client: mqtt.Client,
        _u: object,
        _flags: mqtt.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        if rc.is_failure:
            if rc.value in REFUSALS:
                self._refusal = f"{REFUSALS[rc.value]} (CONNACK 0x{rc.value:02x})"
            self._resolve(f"refused: {rc}")
            client.disconnect()
            return
        self.connections += 1
        self._session = True
        if not self._subscriptions:
            self._ready(client)
            return
        result, mid = client.subscribe([(t, 1) for t in self._subscriptions])
        if result != mqtt.MQTT_ERR_SUCCESS:
            self._resolve(f"subscribe failed: {result}")
            return
        self._sub_mid = mid

    def _on_subscribe(
        self,
        client: mqtt.Client,
        _u: object,
        mid: int,
        codes: list[ReasonCode],
        _p: Properties | None,
    ) -> None:
        if mid != self._sub_mid:
            return
        for topic, code in zip(self._subscriptions, codes, strict=False):
            if code.is_failure:
                self._log.error("broker refused subscription %s: %s", topic, code)
        self._ready(client)

    def _ready(self, client: mqtt.Client) -> None:
        """Subscribed (birth after subscribing): announce and let the traffic flow."""
        if self._birth is not None:
            self._quiet_publish(client, self._birth)
        self._up = True
        self._log.info(
            "connected to broker %s:%d as %r (attempt %d)",
            self.settings.host,
            self.settings.port,
            self.settings.username,
            self.attempts,
        )
        self._listener.link_up()

    def _quiet_publish(self, client: mqtt.Client, msg: Retained) -> asyncio.Future[int] | None:
        """Publish a state message whose PUBACK the listener does not need to hear about."""
        info = client.publish(msg.topic, msg.payload, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS or self._loop is None:
            return None
        fut: asyncio.Future[int] = self._loop.create_future()
        self._quiet_mids[info.mid] = fut
        return fut

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties | None
    ) -> None:
        quiet = self._quiet_mids.pop(mid, None)
        if quiet is not None:
            if not quiet.done():
                quiet.set_result(rc.value)
            if rc.is_failure:
                self._log.error("broker refused a state message: %s", rc)
            return
        try:
            self._listener.link_published(mid, rc.value)
        except Exception:
            self._log.exception("error handling a PUBACK")

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        expiry = getattr(props, "MessageExpiryInterval", None) if props is not None else None
        try:
            self._listener.link_message(
                msg.topic, bytes(msg.payload), None if expiry is None else int(expiry)
            )
        except Exception:
            # A bad message must never stop the loop (nor the PUBACK paho sends after this).
            self._log.exception("error handling a message on %s", msg.topic[:120])

    def _on_disconnect(
        self,
        _c: mqtt.Client,
        _u: object,
        _flags: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self._up = False
        self._session = False
        self._resolve(str(rc))

    def _resolve(self, reason: str) -> None:
        fut = self._closed
        if fut is not None and not fut.done():
            fut.set_result(reason)
