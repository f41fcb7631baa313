"""Provisioning YAML: the sample district is valid, and each mistake is pointed at exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kentongan_protocol.provisioning.cli import main as provision
from kentongan_protocol.provisioning.tree import ProvisioningError, load_tree

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "firmware_configs"
INVALID = Path(__file__).parent / "invalid"


def _header(path: Path, key: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}: "):
            return line.split(": ", 1)[1]
    msg = f"{path.name} has no '# {key}:' line"
    raise AssertionError(msg)


def test_sample_district_is_valid() -> None:
    prov = load_tree(SAMPLE)
    assert prov.district.district.kemendagri_code == "18.02"
    assert len(prov.district.kecamatan) >= 3
    assert len(prov.gateways) >= 12


def test_validate_cli_accepts_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert provision(["validate", str(SAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out


def test_broker_cli_gives_each_cloud_worker_an_account(tmp_path: Path) -> None:
    out, secrets = tmp_path / "broker", tmp_path / "secrets"
    argv = ["broker", "--config", str(SAMPLE), "--out", str(out), "--secrets", str(secrets)]
    assert provision([*argv, "--cloud-workers", "3"]) == 0
    users = {line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()}
    assert {"cloud", "cloud-1", "cloud-2", "cloud-3", "technician"} <= users
    assert "cloud-4" not in users
    acl = (out / "acl").read_text()
    block = acl.split("user cloud\n", 1)[1].split("\n\n", 1)[0]
    for n in (1, 2, 3):
        assert f"user cloud-{n}\n{block}\n\n" in acl


@pytest.mark.parametrize("sample", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_mistake_points_at_file_line_and_key(sample: Path, tmp_path: Path) -> None:
    tree = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE, tree)
    target = tree / _header(sample, "target")
    shutil.copyfile(sample, target)
    line, key, message = (part.strip() for part in _header(sample, "expect").split("|"))
    with pytest.raises(ProvisioningError) as err:
        load_tree(tree)
    rel = str(target.relative_to(tmp_path))
    found = [(p.file, p.line, p.key, p.message) for p in err.value.problems]
    assert any(
        f == rel and ln == int(line) and k == key and message in m for f, ln, k, m in found
    ), found


def test_every_error_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE, tree)
    for sample in INVALID.glob("*.yaml"):
        shutil.copyfile(sample, tree / _header(sample, "target"))
    assert provision(["validate", str(tree)]) == 1
    err = capsys.readouterr().err
    for sample in INVALID.glob("*.yaml"):
        target = _header(sample, "target")
        line = _header(sample, "expect").split("|")[0].strip()
        assert f"{target}:{line}:" in err, (sample.name, err)


def test_district_mistakes_are_located(tmp_path: Path) -> None:
    tree = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE, tree)
    district = tree / "district.yaml"
    text = district.read_text()
    assert "pattern: ketuk-3" in text
    district.write_text(text.replace("pattern: ketuk-3", "pattern: ketuk-99", 1))
    with pytest.raises(ProvisioningError) as err:
        load_tree(tree)
    (problem,) = err.value.problems
    assert problem.file.endswith("district.yaml")
    assert problem.key.endswith(".pattern")
    assert text.splitlines()[problem.line - 1].strip() == "pattern: ketuk-3"
    assert "unknown siren pattern 'ketuk-99'" in problem.message


@pytest.mark.parametrize(
    ("search", "replace", "key_end", "message"),
    [
        (
            '{type: whatsapp, to: "+6281200000001"}',
            '{type: whatsapp, to: "0812-000"}',
            "channels.0",
            "phone number in international form",
        ),
        ('to: "https://psc119.', 'to: "http://psc119.', "channels.0", "an https:// URL"),
        (
            "format: json, secret_env: KENTONGAN_WEBHOOK_PSC119",
            "format: json",
            "channels.0",
            "needs format (json or cap) and secret_env",
        ),
        (
            'start: "07:00", end: "19:00"',
            'start: "07:00", end: "07:00"',
            "shifts.0",
            "start and end are equal",
        ),
        (  # technicians hear of broken posts, never of incidents
            "agency_kinds: [police, ketua_rt, satpol_pp]",
            "agency_kinds: [police, technician, satpol_pp]",
            "agency_kinds.1",
            "Input should be 'police'",
        ),
        (
            "kecamatan: [gunung-sugih]\n    people:",
            "kecamatan: []\n    people:",
            "agencies.0",
            "lists its kecamatan",
        ),
    ],
)
def test_district_rules(
    search: str, replace: str, key_end: str, message: str, tmp_path: Path
) -> None:
    tree = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE, tree)
    district = tree / "district.yaml"
    text = district.read_text()
    assert search in text
    district.write_text(text.replace(search, replace, 1))
    with pytest.raises(ProvisioningError) as err:
        load_tree(tree)
    (problem,) = err.value.problems
    assert problem.key.endswith(key_end), problem
    assert message in problem.message
    line = text.splitlines()[problem.line - 1]
    assert search.splitlines()[0].split(",")[0].strip("{ ") in line or key_end in problem.key


def test_bundle_for_a_gateway(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gid = load_tree(SAMPLE).active_gateways()[0].gateway_id
    out = tmp_path / "bundle"
    secrets = tmp_path / "secrets"
    assert (
        provision(
            [
                "bundle",
                gid,
                "--config",
                str(SAMPLE),
                "--out",
                str(out),
                "--secrets",
                str(secrets),
                "--ca",
                str(tmp_path / "no-ca.crt"),
            ]
        )
        == 0
    )
    names = {p.name for p in out.iterdir()}
    assert names == {"gateway.yaml", "profile.yaml", "credentials", "kentongan-edge.service"}
    assert (out / "credentials").stat().st_mode & 0o777 == 0o600
    assert (out / "credentials").read_text().strip() == (
        secrets / f"{gid}.password"
    ).read_text().strip()
    assert "RestartPreventExitStatus=78" in (out / "kentongan-edge.service").read_text()
    assert "no CA certificate" in capsys.readouterr().err
    profile = (out / "profile.yaml").read_text()
    assert "titir" in profile
    assert "+62" not in profile  # responders' contacts stay off the Pi


def test_bundle_refuses_a_revoked_gateway(tmp_path: Path) -> None:
    tree = tmp_path / "firmware_configs"
    shutil.copytree(SAMPLE, tree)
    gid = load_tree(tree).active_gateways()[0].gateway_id
    common = ["--config", str(tree), "--secrets", str(tmp_path / "s")]
    assert provision(["revoke", gid, "--out", str(tmp_path / "broker"), *common]) == 0
    assert provision(["bundle", gid, "--out", str(tmp_path / "b"), *common]) == 1
