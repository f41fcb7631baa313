"""A plain MQTT 5 test client that waits for acks and reads their reason codes."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Properties | None


@dataclass
class MqttTestClient:
    """A plain MQTT 5 client for tests: waits for acks and keeps what arrives."""

    port: int
    username: str
    password: str
    clean_start: bool = True
    session_expiry_s: int = 0
    client_id: str | None = None
    inbox: queue.Queue[Received] = field(default_factory=queue.Queue)
    client: mqtt.Client = field(init=False)
    _acks: dict[int, threading.Event] = field(default_factory=dict)
    _codes: dict[int, ReasonCode] = field(default_factory=dict)
    _connected: threading.Event = field(default_factory=threading.Event)
    connect_code: ReasonCode | None = None

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id or self.username,
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_ack
        self.client.on_subscribe = self._on_sub
        self.client.on_message = self._on_message

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
    ) -> None:
        self.connect_code = rc
        self._connected.set()

    def _done(self, mid: int, rc: ReasonCode) -> None:
        self._codes[mid] = rc
        self._acks.setdefault(mid, threading.Event()).set()

    def _on_ack(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: Properties
    ) -> None:
        self._done(mid, rc)

    def _on_sub(
        self, _c: mqtt.Client, _u: object, mid: int, rcs: list[ReasonCode], _p: Properties
    ) -> None:
        self._done(mid, rcs[0])

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        self.inbox.put(Received(msg.topic, bytes(msg.payload), bool(msg.retain), props))

    def set_will(self, topic: str, payload: bytes, *, delay_s: int, retain: bool = True) -> None:
        props = Properties(PacketTypes.WILLMESSAGE)
        props.WillDelayInterval = delay_s
        self.client.will_set(topic, payload, qos=1, retain=retain, properties=props)

    def connect(self, timeout: float = 5.0) -> ReasonCode:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        self.client.connect(
            "127.0.0.1", self.port, keepalive=10, clean_start=self.clean_start, properties=props
        )
        self.client.loop_start()
        if not self._connected.wait(timeout):
            msg = "no CONNACK"
            raise TimeoutError(msg)
        assert self.connect_code is not None
        return self.connect_code

    def _wait(self, mid: int, timeout: float) -> ReasonCode:
        ev = self._acks.setdefault(mid, threading.Event())
        if not ev.wait(timeout):
            msg = f"no ack for mid {mid}"
            raise TimeoutError(msg)
        return self._codes[mid]

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        expiry_s: int | None = None,
        timeout: float = 5.0,
    ) -> ReasonCode:
        props = None
        if expiry_s is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = expiry_s
        info = self.client.publish(topic, payload, qos=1, retain=retain, properties=props)
        return self._wait(info.mid, timeout)

    def subscribe(self, topic: str, timeout: float = 5.0) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        return self._wait(mid, timeout)

    def get(self, timeout: float = 5.0) -> Received:
        return self.inbox.get(timeout=timeout)

    def drain(self, wait_s: float = 0.5) -> list[Received]:
        out = []
        try:
            while True:
                out.append(self.inbox.get(timeout=wait_s))
        except queue.Empty:
            return out

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def drop(self) -> None:
        """Vanish without DISCONNECT, as a Pi losing power does: the Last Will fires."""
        sock = self.client.socket()
        self.client.loop_stop()
        if sock is not None:
            sock.close()
