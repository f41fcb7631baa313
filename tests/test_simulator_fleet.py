"""`kentongan-edge fleet` (the compose `simulator` service): N posts of the sample district
sign in to the real broker with their own accounts, the cloud sees them online and stores
their duty presses; SIGTERM stops it cleanly; bad options are refused with what is wrong."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kentongan_protocol.provisioning.broker_process import MosquittoProcess
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_testkit.cloud_fixtures import CloudFactory

EDGE = Path(sys.executable).with_name("kentongan-edge")
FIRST_THREE = ["bm-mataram-udik-01", "bm-terbanggi-ilir-01", "gs-buyut-udik-01"]


def fleet_cmd(config_tree: Path, store: SecretStore, *extra: str) -> list[str]:
    return [
        str(EDGE),
        "fleet",
        f"--config-dir={config_tree}",
        f"--secrets={store.directory}",
        *extra,
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_fleet_brings_posts_online_and_presses_duty(
    cloud: CloudFactory,
    broker: MosquittoProcess,
    config_tree: Path,
    secrets_store: SecretStore,
    tmp_path: Path,
) -> None:
    h = cloud.start()
    cmd = fleet_cmd(
        config_tree,
        secrets_store,
        f"--port={broker.port}",
        "--count=3",
        "--duty-every=1",
        "--seed=7",
        f"--workdir={tmp_path / 'outboxes'}",
    )
    (tmp_path / "outboxes").mkdir()
    log = (tmp_path / "fleet.log").open("w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:

        def online() -> list[str]:
            rows: list[dict[str, Any]] = h.db(lambda tx: tx.fleet.rows())
            return sorted(r["gateway_id"] for r in rows if r["online"])

        assert h.wait_for(lambda: online() == FIRST_THREE, timeout=60, what="3 posts online")
        h.wait_for(
            lambda: h.db(lambda tx: tx.intake.count_events()) >= 2,
            timeout=60,
            what="duty presses stored",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.seek(0)
        output = log.read()
        log.close()
    assert code == 0, output
    assert "3 of 3 posts connected" in output
    assert "pressed tombol_piket" in output
    assert "fleet stopped" in output


def run_fleet(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_more_posts_than_the_district_has_is_refused(
    config_tree: Path, secrets_store: SecretStore
) -> None:
    done = run_fleet(fleet_cmd(config_tree, secrets_store, "--count=99"))
    assert done.returncode == 78
    assert "--count 99:" in done.stderr
    assert "has 15 active posts (1 to 15)" in done.stderr


def test_a_missing_broker_password_names_the_file(
    config_tree: Path, secrets_store: SecretStore
) -> None:
    secrets_store.get_or_create("bm-mataram-udik-01")
    done = run_fleet(fleet_cmd(config_tree, secrets_store, "--count=2"))
    assert done.returncode == 78
    wanted = f"{secrets_store.directory}/bm-terbanggi-ilir-01.password: missing"
    assert wanted in done.stderr
    assert "kentongan-provision broker" in done.stderr


def test_a_broken_district_file_is_reported_with_its_problems(
    config_tree: Path, secrets_store: SecretStore
) -> None:
    (config_tree / "district.yaml").write_text("district_id: [\n", encoding="utf-8")
    done = run_fleet(fleet_cmd(config_tree, secrets_store))
    assert done.returncode == 78
    assert "problem(s) in provisioning files" in done.stderr
    assert "district.yaml" in done.stderr
