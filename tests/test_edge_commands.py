"""Commands and district broadcasts from the cloud, through a real Mosquitto, to virtual
gateways: applied once, superseded by revision, expired by the broker, malformed ones
dropped while the daemon lives on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kentongan_edge.virtual import VirtualFleet, VirtualGateway, VirtualOptions
from kentongan_protocol.payloads import (
    AreaFilter,
    Broadcast,
    Command,
    CommandAck,
    Ping,
    SelfTest,
    SirenOff,
    SirenOn,
)
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_protocol.topics import Suffix, broadcast_topic, gateway_topic
from kentongan_testkit.mqtt import MqttTestClient
from kentongan_testkit.plugin import ClientFactory

POST = "gs-buyut-udik-01"  # kampung buyut-udik
OTHER = "tb-poncowati-01"  # kampung poncowati


@pytest.fixture
def fleet() -> Iterator[VirtualFleet]:
    with VirtualFleet() as f:
        yield f


class Setup:
    def __init__(
        self,
        fleet: VirtualFleet,
        provisioning: Provisioning,
        broker: MosquittoProcess,
        secrets: SecretStore,
        cloud: MqttTestClient,
        workdir: Path,
    ) -> None:
        self.fleet = fleet
        self.prov = provisioning
        self.broker = broker
        self.secrets = secrets
        self.cloud = cloud
        self.workdir = workdir
        self.district = provisioning.district.district.id
        self.profile = EdgeProfile.from_district(provisioning.district)

    def post(self, gateway_id: str = POST) -> VirtualGateway:
        gw = self.fleet.add(
            self.prov.gateways[gateway_id].gateway,
            self.profile,
            broker_port=self.broker.port,
            password=self.secrets.get_or_create(gateway_id),
            workdir=self.workdir,
            options=VirtualOptions(telemetry=False),
        )
        assert gw.wait_connected()
        return gw

    def send(self, gateway_id: str, cmd: Command, expiry_s: int | None = 30) -> None:
        topic = gateway_topic(self.district, gateway_id, Suffix.CMD)
        assert self.cloud.publish(topic, cmd.encode(), expiry_s=expiry_s).value == 0

    def acks(self, count: int = 1) -> list[CommandAck]:
        return [CommandAck.model_validate_json(self.cloud.get().payload) for _ in range(count)]


@pytest.fixture
def setup(
    fleet: VirtualFleet,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    mqtt_client: ClientFactory,
    tmp_path: Path,
) -> Setup:
    cloud = mqtt_client("cloud")
    district = provisioning.district.district.id
    for gid in (POST, OTHER):
        cloud.subscribe(gateway_topic(district, gid, Suffix.CMD_ACK))
    return Setup(fleet, provisioning, broker, secrets_store, cloud, tmp_path)


def siren_on(alarm: uuid.UUID, revision: int, pattern: str = "titir") -> Command:
    body = SirenOn(
        action="siren_on", alarm_id=alarm, revision=revision, pattern=pattern, duration_s=60
    )
    return Command(command_id=uuid.uuid4(), body=body)


def test_siren_command_applied_once_and_acknowledged(setup: Setup) -> None:
    post = setup.post()
    alarm = uuid.uuid4()
    cmd = siren_on(alarm, 1)
    setup.send(POST, cmd)
    (ack,) = setup.acks()
    assert (ack.command_id, ack.result) == (cmd.command_id, "done")
    assert post.alarms == [f"alarm:{alarm}"]
    setup.send(POST, cmd)  # the same command again
    (again,) = setup.acks()
    assert again.result == "duplicate"
    off = Command(
        command_id=uuid.uuid4(), body=SirenOff(action="siren_off", alarm_id=alarm, revision=2)
    )
    setup.send(POST, off)
    assert setup.acks()[0].result == "done"
    assert post.alarms == []
    assert not post.siren_on


def test_a_late_on_never_follows_an_off(setup: Setup) -> None:
    post = setup.post()
    alarm = uuid.uuid4()
    off = Command(
        command_id=uuid.uuid4(), body=SirenOff(action="siren_off", alarm_id=alarm, revision=3)
    )
    setup.send(POST, off)
    setup.send(POST, siren_on(alarm, 2))
    results = [a.result for a in setup.acks(2)]
    assert results == ["done", "superseded"]
    assert post.alarms == []
    assert not post.siren_on


def test_expired_commands_never_sound_while_fresh_ones_wait_for_the_post(
    setup: Setup, fleet: VirtualFleet
) -> None:
    post = setup.post()
    fleet.stop(post)  # offline; its persistent session keeps queueing
    fresh_alarm = uuid.uuid4()
    stale, fresh = siren_on(uuid.uuid4(), 1), siren_on(fresh_alarm, 1)
    setup.send(POST, stale, expiry_s=1)
    setup.send(POST, fresh, expiry_s=60)
    # Let the first one's expiry run out at the broker (which counts in whole seconds).
    assert setup.cloud.drain(2.5) == []
    back = setup.post()
    answers = setup.acks() + [
        CommandAck.model_validate_json(m.payload) for m in setup.cloud.drain(1.0)
    ]
    acks: dict[uuid.UUID, str] = {a.command_id: a.result for a in answers}
    assert acks[fresh.command_id] == "done"
    assert acks.get(stale.command_id) in (None, "expired", "rejected")
    assert back.alarms == [f"alarm:{fresh_alarm}"]


def test_commands_without_expiry_and_malformed_ones_are_refused(setup: Setup) -> None:
    post = setup.post()
    cmd = siren_on(uuid.uuid4(), 1)
    setup.send(POST, cmd, expiry_s=None)
    (ack,) = setup.acks()
    assert (ack.command_id, ack.result) == (cmd.command_id, "rejected")
    topic = gateway_topic(setup.district, POST, Suffix.CMD)
    setup.cloud.publish(topic, b'{"command_id": "not-a-uuid", "body": 7}', expiry_s=30)
    setup.cloud.publish(topic, b"\xff\xfe garbage", expiry_s=30)
    ping = Command(command_id=uuid.uuid4(), body=Ping(action="ping"))
    setup.send(POST, ping)
    (pong,) = setup.acks()  # the malformed ones got no answer, and the daemon lives on
    assert (pong.command_id, pong.result) == (ping.command_id, "done")
    assert post.alarms == []
    assert post.wait_until(lambda d: d.commands.malformed == 2, 5)


def test_self_test_chirps(setup: Setup) -> None:
    post = setup.post()
    setup.send(POST, Command(command_id=uuid.uuid4(), body=SelfTest(action="test", duration_s=2)))
    (ack,) = setup.acks()
    assert ack.result == "done"
    assert "chirp 2 s" in (ack.detail or "")
    assert post.alarms == ["selftest"]
    assert post.wait_until(lambda d: not d.alarms.active(), 5)


@pytest.mark.parametrize(
    "area",
    [AreaFilter(kampung=["buyut-udik"]), AreaFilter(kecamatan=["gunung-sugih"])],
    ids=["kampung", "kecamatan"],
)
def test_area_alarm_and_all_clear_only_inside_the_area(setup: Setup, area: AreaFilter) -> None:
    inside, outside = setup.post(POST), setup.post(OTHER)  # gunung-sugih, terbanggi-besar
    alarm = uuid.uuid4()

    def broadcast(action: str, revision: int, pattern: str) -> Broadcast:
        return Broadcast(
            broadcast_id=uuid.uuid4(),
            action="area_alarm" if action == "area_alarm" else "all_clear",
            alarm_id=alarm,
            revision=revision,
            pattern=pattern,
            duration_s=30,
            area=area,
        )

    topic = broadcast_topic(setup.district)
    first = broadcast("area_alarm", 1, "titir")
    assert setup.cloud.publish(topic, first.encode(), expiry_s=30).value == 0
    (ack,) = setup.acks()  # only the post inside the area answers
    assert (ack.command_id, ack.result) == (first.broadcast_id, "done")
    assert inside.alarms == [f"alarm:{alarm}"]
    assert outside.alarms == []
    clear = broadcast("all_clear", 2, "aman")
    setup.cloud.publish(topic, clear.encode(), expiry_s=30)
    assert setup.acks()[0].command_id == clear.broadcast_id
    assert inside.alarms == [f"aman:{alarm}"]
    assert setup.cloud.drain(0.5) == []
