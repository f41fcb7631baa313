"""The cloud's MQTT 5 connection: the only module of the cloud that imports paho.

- paho runs on the event loop (its socket driven by the loop's readers and writers, as the
  edge does), not on a thread of its own: with a network thread, every psycopg call and
  socket write handed the GIL to it and waited to get it back, about a quarter of the
  loop thread's samples at 1,000 events/s (py-spy, 2026-11-28);
- persistent session (clean_start off, a long session expiry) so events wait for us;
- `$share/` subscriptions so several workers split the load;
- manual acknowledgement: the broker's PUBACK for an event is sent only after the commit;
  paho's own auto-ack would tell the broker "delivered" before the database knew;
- a PUBACK is only valid on the connection that received the message: acks of an older
  connection are dropped (the broker redelivers, and the event_id makes it harmless);
- reconnects on network errors, stops on bad credentials;
- publishes with MQTT 5 message expiry and reads PUBACK reason codes (0x10, 0x87 are not
  delivery).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from kentongan_protocol.loopio import LoopSockets, backoff_delay
from kentongan_protocol.topics import cloud_filters
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from kentongan_cloud.errors import CloudError
from kentongan_cloud.settings import MqttSettings
from kentongan_cloud.waiting import result_within, wait_set

_LOGGER = logging.getLogger(__name__)
# CONNACK reason codes after which retrying cannot help.
_FATAL = {0x84, 0x85, 0x86, 0x87, 0x8C}
NO_MATCHING_SUBSCRIBERS = 0x10
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 10.0
# Messages read per turn of the loop while more wait (LoopSockets): one turn read one.
READS_PER_TURN = 100


class PublishError(CloudError, ConnectionError):
    """The broker refused a publish or did not acknowledge it in time."""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    qos: int
    mid: int
    generation: int


class MqttLink:
    """A paho client on the asyncio loop, reconnecting until stopped (module docstring)."""

    def __init__(
        self,
        settings: MqttSettings,
        district: str,
        *,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[InboundMessage], None],
        subscribe: bool = True,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_connected = on_connected
        self.district = district
        self.loop = loop
        self._on_message_cb = on_message
        self._subscribe = subscribe
        self._generation = 0
        self._waiting: dict[int, asyncio.Future[int]] = {}  # mid → the PUBACK's reason code
        self._task: asyncio.Task[None] | None = None
        self._io: LoopSockets | None = None
        self._closed: asyncio.Future[str] | None = None
        self._stopping = False
        self.connected = asyncio.Event()
        self.fatal: str | None = None
        # One client for the link's life: paho resends unacknowledged commands on the next
        # connection of the same session.
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.username,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        c.username_pw_set(settings.username, settings.password.get_secret_value())
        if settings.tls:
            c.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        c.max_inflight_messages_set(settings.receive_maximum)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        c.on_socket_open = self._socket_opened
        c.on_socket_close = self._socket_closed
        c.on_socket_register_write = self._socket_want_write
        c.on_socket_unregister_write = self._socket_written
        self.client = c

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting (on the loop's thread); `wait_connected` waits for the first."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = self.settings.receive_maximum
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._stopping = False
        self._task = self.loop.create_task(self._run(), name="mqtt link")

    async def wait_connected(self, wait_s: float) -> None:
        """Wait for the first connection; give up at once when the broker refused us."""
        deadline = self.loop.time() + wait_s
        while not self.connected.is_set():
            if self.fatal is not None or self.loop.time() > deadline:
                msg = self.fatal or f"no connection to {self.settings.host}:{self.settings.port}"
                raise PublishError(msg)
            await wait_set(self.connected, 0.1)

    def stop(self) -> None:
        """DISCONNECT (flushed now: paho closes the socket after it), and no more retries."""
        self._stopping = True
        if self.client.is_connected():
            self.client.disconnect()
            self.client.loop_write()
        self._halt(abort=False)

    def kill(self) -> None:
        """Drop the connection without DISCONNECT, as a crash would (tests)."""
        self._stopping = True
        self._halt(abort=False)

    def _halt(self, *, abort: bool) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._teardown(abort=abort)
        self.connected.clear()

    async def _run(self) -> None:
        s = self.settings
        failures = 0
        while not self._stopping:
            self._closed = self.loop.create_future()
            self._io = LoopSockets(self.loop, self.client, _LOGGER, reads=READS_PER_TURN)
            try:
                # The TCP (and TLS) connect blocks: in the executor, the CONNECT then goes
                # out through the loop's writer (LoopSockets hops onto the loop).
                await self.loop.run_in_executor(None, self.client.reconnect)
            except (OSError, ValueError) as exc:
                reason = f"cannot reach {s.host}:{s.port}: {exc}"
            else:
                reason = await self._closed
                if self.connected.is_set():
                    failures = 0
            self._teardown()
            self.connected.clear()
            if self.fatal is not None or self._stopping:
                return
            failures += 1
            delay = backoff_delay(failures, RECONNECT_MIN_S, RECONNECT_MAX_S)
            _LOGGER.warning("%s; next try in %.1f s", reason, delay)
            await asyncio.sleep(delay)

    def _teardown(self, *, abort: bool = False) -> None:
        """Stop driving the socket and close it if paho has not; PUBACKs still awaited on
        it are resent by paho on the next connection, their waiters keep waiting."""
        sock = self.client.socket()
        if self._io is not None:
            self._io.close(sock if isinstance(sock, socket.socket) else None, abort=abort)
            self._io = None
        if self._closed is not None and not self._closed.done():
            self._closed.set_result("stopped")

    # --- paho callbacks (on the loop; socket open and write also from the connect) -----------

    def _socket_opened(self, _c: mqtt.Client, _u: object, sock: object) -> None:
        if self._io is not None:
            self._io.opened(sock)

    def _socket_closed(self, _c: mqtt.Client, _u: object, sock: object) -> None:
        if self._io is not None:
            self._io.closed(sock)

    def _socket_want_write(self, _c: mqtt.Client, _u: object, sock: object) -> None:
        if self._io is not None:
            self._io.want_write(sock)

    def _socket_written(self, _c: mqtt.Client, _u: object, sock: object) -> None:
        if self._io is not None:
            self._io.written(sock)

    def _on_connect(
        self,
        client: mqtt.Client,
        _u: object,
        flags: mqtt.ConnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        if rc.is_failure:
            _LOGGER.error("broker refused the connection: %s", rc)
            if rc.value in _FATAL:
                self.fatal = f"broker refused the connection: {rc}"
            client.disconnect()
            return
        self._generation += 1
        if self._subscribe:
            filters = cloud_filters(self.district, self.settings.share_group)
            client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        _LOGGER.info(
            "connected to %s:%d (session present: %s)",
            self.settings.host,
            self.settings.port,
            flags.session_present,
        )
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected()

    def _on_disconnect(
        self,
        _c: mqtt.Client,
        _u: object,
        _f: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self.connected.clear()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(f"disconnected from the broker: {rc}")

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self._on_message_cb(
                InboundMessage(msg.topic, bytes(msg.payload), msg.qos, msg.mid, self._generation)
            )
        except Exception:
            # Never acknowledged, so the broker redelivers it; the link reads on.
            _LOGGER.exception("error taking a message on %s", msg.topic[:120])

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties
    ) -> None:
        fut = self._waiting.pop(mid, None)  # None: an event/ack nobody waits on
        if fut is not None:
            _resolve(fut, rc.value)

    # --- used from the event loop ------------------------------------------------------------

    def is_connected(self) -> bool:
        return self.connected.is_set()

    def ack(self, msg: InboundMessage) -> None:
        """PUBACK to the broker, only on the connection that delivered the message."""
        if msg.qos != 0 and msg.generation == self._generation and self.client.is_connected():
            self.client.ack(msg.mid, msg.qos)

    def publish_nowait(self, topic: str, payload: bytes, *, expiry_s: int | None = None) -> None:
        """QoS 1, without waiting for the PUBACK (event acks to gateways)."""
        self.client.publish(topic, payload, qos=1, properties=_expiry(expiry_s))

    async def publish(
        self, topic: str, payload: bytes, *, expiry_s: int | None = None, ack_wait_s: float = 10.0
    ) -> int:
        """QoS 1 and wait for the PUBACK; returns its reason code, raises when refused."""
        if not self.connected.is_set():
            msg = "not connected to the broker"
            raise PublishError(msg)
        info = self.client.publish(topic, payload, qos=1, properties=_expiry(expiry_s))
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            msg = f"publish failed: {mqtt.error_string(info.rc)}"
            raise PublishError(msg)
        # The PUBACK is read by a later turn of this loop: registering now cannot miss it.
        fut: asyncio.Future[int] = self.loop.create_future()
        self._waiting[info.mid] = fut
        try:
            code = await result_within(fut, ack_wait_s)
        except TimeoutError:
            msg = f"no PUBACK for {topic} within {ack_wait_s} s"
            raise PublishError(msg) from None
        finally:
            self._waiting.pop(info.mid, None)
        if code >= 0x80:
            msg = f"broker refused publish to {topic}: reason 0x{code:02x}"
            raise PublishError(msg)
        return code


def _resolve(fut: asyncio.Future[int], code: int) -> None:
    if not fut.done():
        fut.set_result(code)


def _expiry(expiry_s: int | None) -> Properties | None:
    if expiry_s is None:
        return None
    return _expiry_props(max(1, int(expiry_s)))


@functools.lru_cache(maxsize=256)
def _expiry_props(expiry_s: int) -> Properties:
    """Shared per value: building a paho Properties costs more than the publish around it
    (a confirmation publishes ~90 commands with the same few expiries), and paho only reads
    it (packs it into the PUBLISH, and again on a resend)."""
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = expiry_s
    return props
