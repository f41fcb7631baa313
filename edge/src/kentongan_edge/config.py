"""Loading the gateway file and the district profile the technician installed on the Pi.

Errors come back as file:line problems (the protocol's YAML reader), all at once; the CLI
exits 78 on them so systemd does not restart a daemon that cannot work.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from kentongan_protocol.provisioning.gateway import Gateway
from kentongan_protocol.provisioning.profile import EdgeProfile
from kentongan_protocol.provisioning.yamlsrc import (
    KeyPath,
    Problem,
    YamlDoc,
    dotted,
    read_yaml,
    validate_model,
)

from kentongan_edge.errors import ConfigError, CredentialsError

DEFAULT_CONFIG = Path("/etc/kentongan/gateway.yaml")
PROFILE_NAME = "profile.yaml"


@dataclass(frozen=True)
class EdgeConfig:
    """A checked gateway file and profile, and the hash the birth message reports."""

    gateway: Gateway
    profile: EdgeProfile
    config_hash: str
    gateway_path: Path | None = None
    profile_path: Path | None = None

    @property
    def district(self) -> str:
        return self.gateway.district

    @property
    def gateway_id(self) -> str:
        return self.gateway.gateway_id

    @classmethod
    def from_models(cls, gateway: Gateway, profile: EdgeProfile) -> EdgeConfig:
        """A config built in memory (virtual gateways); checked like a file would be."""
        doc = YamlDoc("(in memory)")
        problems = check(gateway, profile, doc, doc)
        if problems:
            raise ConfigError(problems)
        digest = hashlib.sha256(gateway.model_dump_json().encode()).hexdigest()
        return cls(gateway, profile, digest)


def check(gw: Gateway, profile: EdgeProfile, gdoc: YamlDoc, pdoc: YamlDoc) -> list[Problem]:
    """What a schema cannot say: pins used once, names unique, types and patterns known."""
    out: list[Problem] = []
    if gw.district != profile.district:
        out.append(
            gdoc.problem(
                ("district",), f"district {gw.district!r} but the profile is {profile.district!r}"
            )
        )
    claimed: dict[int, KeyPath] = {}
    for path, pin in gw.pins():
        if pin in claimed:
            need = "the MCP3008 needs" if path[0] == "analog_sensors" else ""
            what = f"{need} GPIO{pin} (SPI0)" if need else f"GPIO{pin}"
            out.append(gdoc.problem(path, f"{what} is already used by {dotted(claimed[pin])}"))
        claimed.setdefault(pin, path)
    names: dict[str, KeyPath] = {}
    for path, name in gw.input_names():
        if name in names:
            out.append(gdoc.problem(path, f"name {name!r} is already used"))
        names.setdefault(name, path)
    for path, t in gw.incident_types():
        if t not in profile.incident_types:
            out.append(gdoc.problem(path, f"incident type {t!r} is not in the profile"))
    for t, it in profile.incident_types.items():
        if it.pattern not in profile.siren_patterns:
            out.append(
                pdoc.problem(("incident_types", t, "pattern"), f"unknown pattern {it.pattern!r}")
            )
    for name in ("titir", "aman"):
        if name not in profile.siren_patterns:
            out.append(pdoc.problem(("siren_patterns",), f"pattern {name!r} is required"))
    return out


def default_profile_path(config: Path) -> Path:
    return config.with_name(PROFILE_NAME)


def load(config: Path, profile: Path | None = None) -> EdgeConfig:
    """Read and check both files; raise ConfigError listing every problem."""
    profile = profile or default_profile_path(config)
    gdoc, problems = read_yaml(config, str(config))
    pdoc, found = read_yaml(profile, str(profile))
    problems += found
    gw = prof = None
    if not problems:
        gw, found = validate_model(Gateway, gdoc)
        problems += found
        prof, found = validate_model(EdgeProfile, pdoc)
        problems += found
    if gw is None or prof is None:
        raise ConfigError(sorted(problems))
    problems += check(gw, prof, gdoc, pdoc)
    if gw.broker.ca_file is not None and gw.broker.tls and not Path(gw.broker.ca_file).exists():
        problems.append(gdoc.problem(("broker", "ca_file"), f"{gw.broker.ca_file} does not exist"))
    if problems:
        raise ConfigError(sorted(problems))
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    return EdgeConfig(gw, prof, digest, config, profile)


def read_password(gw: Gateway) -> str:
    """The MQTT password from the environment or a root-only file (never logged)."""
    cred = gw.broker.credentials
    if cred.env is not None:
        value = os.environ.get(cred.env, "").strip()
        if not value:
            msg = f"environment variable {cred.env} is not set or empty"
            raise CredentialsError(msg)
        return value
    if cred.file is None:
        msg = "the gateway file names no credentials source"
        raise CredentialsError(msg)
    path = Path(cred.file)
    try:
        info = path.stat()
    except OSError as exc:
        msg = f"credentials file {path}: {exc.strerror}"
        raise CredentialsError(msg) from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = (
            f"credentials file {path} is readable by others (mode {stat.filemode(info.st_mode)}); "
            f"run: chmod 600 {path}"
        )
        raise CredentialsError(msg)
    if info.st_uid not in (0, os.geteuid()):
        msg = f"credentials file {path} must belong to root or the daemon's user"
        raise CredentialsError(msg)
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        msg = f"credentials file {path} is empty"
        raise CredentialsError(msg)
    return value
