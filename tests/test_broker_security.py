"""The generated Mosquitto configuration, proved against a real Mosquitto."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from kentongan_protocol.provisioning.broker import TlsFiles
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.bundle import SYSTEMD_UNIT
from kentongan_protocol.provisioning.cli import main as provision
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_protocol.topics import Suffix, broadcast_topic, gateway_topic
from kentongan_testkit.plugin import ClientFactory
from paho.mqtt.enums import CallbackAPIVersion

NOT_AUTHORISED = 0x87
NO_SUBSCRIBERS = 0x10


def _two(prov: Provisioning) -> tuple[str, str, str]:
    gws = prov.active_gateways()
    return prov.district.district.id, gws[0].gateway_id, gws[1].gateway_id


def test_persistence_file_appears(
    broker: MosquittoProcess, mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    district, a, _ = _two(provisioning)
    gw = mqtt_client(a)
    gw.publish(gateway_topic(district, a, Suffix.STATE), b'{"state":"online"}', retain=True)
    gw.disconnect()
    broker.stop()
    assert broker.persistence_file.exists(), broker.log_tail()
    assert broker.persistence_file.stat().st_size > 0


def test_gateway_publishing_as_another_is_refused(
    mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    district, a, b = _two(provisioning)
    cloud = mqtt_client("cloud")
    cloud.subscribe(gateway_topic(district, b, Suffix.EVENT))
    gw_a = mqtt_client(a)
    rc = gw_a.publish(gateway_topic(district, b, Suffix.EVENT), b'{"forged":true}')
    assert rc.value == NOT_AUTHORISED
    assert cloud.drain(0.5) == []
    # Its own topic works and reaches the cloud subscriber.
    rc = gw_a.publish(gateway_topic(district, a, Suffix.EVENT), b"{}")
    assert rc.value == NO_SUBSCRIBERS  # the cloud listens to b only in this test
    cloud.subscribe(gateway_topic(district, a, Suffix.EVENT))
    assert gw_a.publish(gateway_topic(district, a, Suffix.EVENT), b"{}").value == 0
    assert cloud.get().topic == gateway_topic(district, a, Suffix.EVENT)


def test_wildcard_subscriber_gets_only_its_own_commands(
    mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    district, a, b = _two(provisioning)
    gw_a = mqtt_client(a)
    gw_a.subscribe("#")  # granted: the ACL filters delivery, not the SUBACK
    gw_b = mqtt_client(b)
    gw_b.subscribe(gateway_topic(district, b, Suffix.CMD))
    cloud = mqtt_client("cloud")
    cloud.publish(gateway_topic(district, b, Suffix.CMD), b"for-b")
    cloud.publish(gateway_topic(district, b, Suffix.EVENT_ACK), b"ack-for-b")
    cloud.publish(gateway_topic(district, a, Suffix.CMD), b"for-a")
    cloud.publish(broadcast_topic(district), b"everyone")
    assert gw_b.get().payload == b"for-b"
    got = sorted(m.payload for m in gw_a.drain(0.7))
    assert got == [b"everyone", b"for-a"]


@pytest.mark.parametrize("who", ["wrong-password", "unknown-user", "no-password"])
def test_bad_credentials_are_refused(
    who: str, mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    _, a, _ = _two(provisioning)
    user, password = {
        "wrong-password": (a, "not-the-password"),
        "unknown-user": ("stranger", "whatever"),
        "no-password": (a, ""),
    }[who]
    client = mqtt_client(user, password, connect=False)
    rc = client.connect()
    assert rc.is_failure, rc


def test_revoked_gateway_is_refused(
    broker: MosquittoProcess,
    mqtt_client: ClientFactory,
    provisioning: Provisioning,
    secrets_store: SecretStore,
    config_tree: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, a, b = _two(provisioning)
    stolen_password = secrets_store.get_or_create(a)
    assert not mqtt_client(a, stolen_password).connect_code.is_failure  # type: ignore[union-attr]
    code = provision(
        [
            "revoke",
            a,
            "--reason",
            "dicuri",
            "--config",
            str(config_tree),
            "--out",
            str(broker.config_dir),
            "--secrets",
            str(secrets_store.directory),
        ]
    )
    assert code == 0
    assert "revoked" in capsys.readouterr().out
    broker.reload()
    time.sleep(0.3)
    refused = mqtt_client(a, stolen_password, connect=False)
    assert refused.connect().is_failure
    assert a not in (broker.config_dir / "acl").read_text()
    assert not mqtt_client(b).connect_code.is_failure  # type: ignore[union-attr]
    assert "dicuri" in (config_tree / "revoked.yaml").read_text()


def test_username_is_the_client_id(mqtt_client: ClientFactory, provisioning: Provisioning) -> None:
    """Gateway A choosing B's client id must not kick B off the broker."""
    district, a, b = _two(provisioning)
    gw_b = mqtt_client(b)
    gw_b.subscribe(gateway_topic(district, b, Suffix.CMD))
    mqtt_client(a, client_id=b)
    time.sleep(0.3)
    mqtt_client("cloud").publish(gateway_topic(district, b, Suffix.CMD), b"still-here")
    assert gw_b.get().payload == b"still-here"


def test_technician_reads_everything_and_writes_nothing(
    mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    district, a, _ = _two(provisioning)
    tech = mqtt_client("technician")
    tech.subscribe(f"kentongan/v1/{district}/#")
    mqtt_client(a).publish(gateway_topic(district, a, Suffix.TELEMETRY), b"hb")
    assert tech.get().payload == b"hb"
    assert tech.publish(gateway_topic(district, a, Suffix.CMD), b"x").value == NOT_AUTHORISED


def test_retained_birth_and_delayed_last_will(
    mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    district, a, _ = _two(provisioning)
    topic = gateway_topic(district, a, Suffix.STATE)
    offline = json.dumps({"state": "offline", "session_id": "s1"}).encode()
    gw = mqtt_client(a, connect=False)
    gw.set_will(topic, offline, delay_s=2)
    gw.connect()
    gw.publish(topic, json.dumps({"state": "online", "session_id": "s1"}).encode(), retain=True)

    cloud = mqtt_client("cloud")
    cloud.subscribe(topic)
    first = cloud.get()
    assert first.retain
    assert json.loads(first.payload)["state"] == "online"

    dropped_at = time.monotonic()
    gw.drop()
    will = cloud.get(timeout=10)
    waited = time.monotonic() - dropped_at
    assert json.loads(will.payload) == {"state": "offline", "session_id": "s1"}
    assert 1.5 <= waited < 8, waited  # the will delay, not at once

    late = mqtt_client("technician")
    late.subscribe(topic)
    assert json.loads(late.get().payload)["state"] == "offline"  # the will was retained


def test_broker_counts_down_message_expiry(
    mqtt_client: ClientFactory, provisioning: Provisioning
) -> None:
    """A queued command's expiry shrinks while it waits; the Pi needs no clock for it."""
    district, a, _ = _two(provisioning)
    topic = gateway_topic(district, a, Suffix.CMD)
    gw = mqtt_client(a, clean_start=True, session_expiry_s=300)
    gw.subscribe(topic)
    gw.disconnect()
    mqtt_client("cloud").publish(topic, b"siren", expiry_s=60)
    time.sleep(2.2)
    back = mqtt_client(a, clean_start=False, session_expiry_s=300)
    msg = back.get()
    assert msg.payload == b"siren"
    assert msg.properties is not None
    assert getattr(msg.properties, "MessageExpiryInterval", 60) <= 58


def test_tls_listener_with_the_test_ca(
    provisioning: Provisioning, secrets_store: SecretStore, tmp_path: Path
) -> None:

    repo = Path(__file__).resolve().parents[1]
    tls_dir = Path(tempfile.mkdtemp(prefix="kentongan-tls-"))
    tls_dir.chmod(0o755)  # readable by the mosquitto user, unlike pytest's tmp_path
    subprocess.run(
        ["bash", str(repo / "broker/tls/make-test-ca.sh"), str(tls_dir), "localhost"],
        check=True,
        capture_output=True,
    )
    for f in tls_dir.iterdir():
        f.chmod(0o644)  # the mosquitto user reads them in this throw-away test
    tls = TlsFiles(
        str(tls_dir / "ca.crt"), str(tls_dir / "server.crt"), str(tls_dir / "server.key")
    )
    with MosquittoProcess(provisioning, secrets_store, tls=tls) as broker:
        assert broker.tls_port is not None
        gid = provisioning.active_gateways()[0].gateway_id
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gid, protocol=mqtt.MQTTv5)
        client.username_pw_set(gid, secrets_store.get_or_create(gid))
        client.tls_set(ca_certs=str(tls_dir / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        rc = client.connect("localhost", broker.tls_port)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        client.loop_start()
        info = client.publish(f"kentongan/v1/lamteng/{gid}/telemetry", b"{}", qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
        client.disconnect()
        client.loop_stop()
    shutil.rmtree(tls_dir)


def test_bundle_ships_the_edge_packages_systemd_unit() -> None:
    repo = Path(__file__).resolve().parents[1]
    shipped = repo / "edge/src/kentongan_edge/systemd/kentongan-edge.service"
    assert shipped.read_text() == SYSTEMD_UNIT
