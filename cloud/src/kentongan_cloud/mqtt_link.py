"""The cloud's MQTT 5 connection: the only module of the cloud that imports paho.

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
import collections
import functools
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
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
    """A paho client on its own thread, handing messages to an asyncio loop."""

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
        self._lock = threading.Lock()
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._early: dict[int, int] = {}
        self._forget: set[int] = set()
        # Messages and PUBACKs from the network thread, in arrival order, for the loop.
        self._handoff: collections.deque[InboundMessage | tuple[asyncio.Future[int], int]] = (
            collections.deque()
        )
        self._drain_scheduled = False
        self.connected = asyncio.Event()
        self.fatal: str | None = None
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.username,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        c.username_pw_set(settings.username, settings.password.get_secret_value())
        if settings.tls:
            c.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        c.reconnect_delay_set(1, 10)
        c.max_inflight_messages_set(settings.receive_maximum)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        self.client = c

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
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
        self.client.loop_start()

    async def wait_connected(self, wait_s: float) -> None:
        """Wait for the first connection; give up at once when the broker refused us."""
        deadline = self.loop.time() + wait_s
        while not self.connected.is_set():
            if self.fatal is not None or self.loop.time() > deadline:
                msg = self.fatal or f"no connection to {self.settings.host}:{self.settings.port}"
                raise PublishError(msg)
            await wait_set(self.connected, 0.1)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def kill(self) -> None:
        """Drop the connection without DISCONNECT, as a crash would (tests)."""
        sock = self.client.socket()
        self.client.loop_stop()
        if sock is not None:
            sock.close()

    # --- paho callbacks (network thread) -----------------------------------------------------

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
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
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
        self.loop.call_soon_threadsafe(self._now_connected)

    def _on_disconnect(
        self,
        _c: mqtt.Client,
        _u: object,
        _f: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _p: Properties | None,
    ) -> None:
        _LOGGER.warning("disconnected from the broker: %s", rc)
        self.loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        # The generation only changes on this thread (_on_connect): no lock needed to read it.
        gen = self._generation
        self._hand_over(InboundMessage(msg.topic, bytes(msg.payload), msg.qos, msg.mid, gen))

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties
    ) -> None:
        with self._lock:
            fut = self._waiting.pop(mid, None)
            if fut is None:
                if mid in self._forget:
                    self._forget.discard(mid)
                else:
                    self._early[mid] = rc.value
                return
        self._hand_over((fut, rc.value))

    def _hand_over(self, item: InboundMessage | tuple[asyncio.Future[int], int]) -> None:
        """Queue `item` for the event loop, waking it once for whatever arrives until it
        runs rather than once per message (each wake-up is a write to the loop's pipe)."""
        with self._lock:
            self._handoff.append(item)
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        self.loop.call_soon_threadsafe(self._drain_handoff)

    def _drain_handoff(self) -> None:
        with self._lock:
            items = list(self._handoff)
            self._handoff.clear()
            self._drain_scheduled = False
        for item in items:
            if isinstance(item, InboundMessage):
                self._on_message_cb(item)
            else:
                _resolve(*item)

    # --- used from the event loop ------------------------------------------------------------

    def _now_connected(self) -> None:
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected()

    def is_connected(self) -> bool:
        return self.connected.is_set()

    def ack(self, msg: InboundMessage) -> None:
        """PUBACK to the broker, only on the connection that delivered the message."""
        if msg.qos == 0:
            return
        with self._lock:
            current = msg.generation == self._generation
        if current:
            self.client.ack(msg.mid, msg.qos)

    def publish_nowait(self, topic: str, payload: bytes, *, expiry_s: int | None = None) -> None:
        """QoS 1, without waiting for the PUBACK (event acks to gateways)."""
        info = self.client.publish(topic, payload, qos=1, properties=_expiry(expiry_s))
        with self._lock:
            if self._early.pop(info.mid, None) is None:
                self._forget.add(info.mid)

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
        fut: asyncio.Future[int] = self.loop.create_future()
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = fut
        if early is not None:
            fut.set_result(early)
        try:
            code = await result_within(fut, ack_wait_s)
        except TimeoutError:
            with self._lock:
                if self._waiting.pop(info.mid, None) is not None:
                    self._forget.add(info.mid)
            msg = f"no PUBACK for {topic} within {ack_wait_s} s"
            raise PublishError(msg) from None
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
