"""`kentongan-edge check` against a real Mosquitto, TLS, and heartbeats on the wire."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from kentongan_edge.cli import main
from kentongan_edge.virtual import VirtualFleet, VirtualOptions
from kentongan_protocol.payloads import Telemetry
from kentongan_protocol.provisioning.broker import TlsFiles
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import Provisioning
from kentongan_protocol.topics import Suffix, gateway_topic
from kentongan_testkit.mqtt import MqttTestClient
from kentongan_testkit.plugin import ClientFactory

GATEWAY = "tb-poncowati-01"


def files(tmp: Path, provisioning: Provisioning, port: int, secret: str) -> Path:
    data = provisioning.gateways[GATEWAY].gateway.model_dump(mode="json", exclude_none=True)
    cred = tmp / "credentials"
    cred.write_text(secret + "\n")
    cred.chmod(0o600)
    data["broker"] = {"host": "127.0.0.1", "port": port, "tls": False}
    data["broker"]["credentials"] = {"file": str(cred)}
    (tmp / "gateway.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    profile = EdgeProfile.from_district(provisioning.district)
    (tmp / "profile.yaml").write_text(yaml.safe_dump(profile.model_dump(mode="json")))
    return tmp / "gateway.yaml"


def test_check_signs_in_with_the_gateways_credentials(
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = files(tmp_path, provisioning, broker.port, secrets_store.get_or_create(GATEWAY))
    assert main(["check", "--config", str(config)]) == 0
    assert "connected, credentials accepted" in capsys.readouterr().out
    (tmp_path / "credentials").write_text("salah\n")
    assert main(["check", "--config", str(config)]) == 77
    assert "refused: not authorised" in capsys.readouterr().out


def test_heartbeats_reach_the_cloud(
    mqtt_client: ClientFactory,
    provisioning: Provisioning,
    broker: MosquittoProcess,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> None:
    cloud = mqtt_client("cloud")
    cloud.subscribe(gateway_topic(provisioning.district.district.id, GATEWAY, Suffix.TELEMETRY))
    with VirtualFleet() as fleet:
        post = fleet.add(
            provisioning.gateways[GATEWAY].gateway,
            EdgeProfile.from_district(provisioning.district),
            broker_port=broker.port,
            password=secrets_store.get_or_create(GATEWAY),
            workdir=tmp_path,
            options=VirtualOptions(heartbeat_s=0.5),
        )
        post.emit_many(3)  # not acknowledged: the heartbeat shows them waiting
        beats = [Telemetry.model_validate_json(cloud.get(timeout=10).payload) for _ in range(3)]
        assert {b.session_id for b in beats} == {post.session_id}
        assert beats[-1].outbox_depth == 3
        assert beats[-1].power == "mains"


def test_gateway_over_tls(
    provisioning: Provisioning,
    secrets_store: SecretStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = Path(__file__).resolve().parents[1]
    tls_dir = Path(tempfile.mkdtemp(prefix="kentongan-tls-"))
    tls_dir.chmod(0o755)  # readable by the mosquitto user
    subprocess.run(
        ["bash", str(repo / "broker/tls/make-test-ca.sh"), str(tls_dir), "localhost"],
        check=True,
        capture_output=True,
    )
    for f in tls_dir.iterdir():
        f.chmod(0o644)
    ca = str(tls_dir / "ca.crt")
    tls = TlsFiles(ca, str(tls_dir / "server.crt"), str(tls_dir / "server.key"))
    with MosquittoProcess(provisioning, secrets_store, tls=tls) as broker:
        assert broker.tls_port is not None
        config = files(
            tmp_path, provisioning, broker.tls_port, secrets_store.get_or_create(GATEWAY)
        )
        data = yaml.safe_load(config.read_text())
        data["broker"].update(host="localhost", tls=True, ca_file=ca)
        config.write_text(yaml.safe_dump(data))
        assert main(["check", "--config", str(config)]) == 0
        assert "(TLS): connected" in capsys.readouterr().out
        cloud = MqttTestClient(broker.port, "cloud", secrets_store.get_or_create("cloud"))
        cloud.connect()
        cloud.subscribe(gateway_topic(provisioning.district.district.id, GATEWAY, Suffix.EVENT))
        with VirtualFleet() as fleet:
            post = fleet.add(
                provisioning.gateways[GATEWAY].gateway,
                EdgeProfile.from_district(provisioning.district),
                broker_port=broker.tls_port,
                broker_host="localhost",
                tls_ca_file=ca,
                password=secrets_store.get_or_create(GATEWAY),
                workdir=tmp_path,
                options=VirtualOptions(telemetry=False),
            )
            assert post.wait_connected()
            panic = post.raise_panic("tombol_kebakaran")
            assert json.loads(cloud.get().payload)["event_id"] == str(panic.event_id)
        cloud.disconnect()
    shutil.rmtree(tls_dir)
