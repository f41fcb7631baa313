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
