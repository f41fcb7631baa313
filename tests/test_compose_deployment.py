"""The deployment's shape, as Debian's docker-compose resolves docker-compose.yml: only the
proxy and the broker's TLS listener are public, the proxy runs the committed Caddyfile for the
domain, Grafana is closed to strangers and served under /grafana/, every image tag is pinned,
the cloud image runs as a user, the long-running cloud services have healthchecks, and the
simulator profile runs `kentongan-edge fleet` with options it accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from kentongan_edge.cli import _parser as edge_parser
from kentongan_testkit.caddy import CADDYFILE
from kentongan_testkit.compose import compose_config, real_values, resolved
from kentongan_testkit.dashboards import REPO

Services = dict[str, dict[str, Any]]
DOCKERFILE = REPO / "cloud" / "Dockerfile"
FULL_VERSION = re.compile(r"^\d+\.\d+\.\d+")
# PostgreSQL's releases are MAJOR.MINOR: its tag is complete without a third part.
TWO_PART = re.compile(r"^postgres:\d+\.\d+$")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    doc = resolved(tmp_path_factory.mktemp("compose"), real_values(), "--profile", "simulator")
    found: Services = doc["services"]
    return found


def published(service: dict[str, Any]) -> set[int]:
    out = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.add(int(port["published"]))
        else:  # "HOST:CONTAINER[/proto]"
            out.add(int(str(port).split(":")[0]))
    return out


def binds(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the service's bind mounts."""
    out = {}
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            if v.get("type") == "bind":
                out[v["target"]] = v["source"]
        else:
            source, target = str(v).split(":")[:2]
            out[target] = source
    return out


def test_only_the_proxy_and_the_brokers_tls_listener_are_public(services: Services) -> None:
    public = {name: published(s) for name, s in services.items() if published(s)}
    assert public == {"proxy": {80, 443}, "broker": {8883}}
    assert [str(p) for p in services["cloud"].get("expose", [])] == ["8000"]
    assert [str(p) for p in services["grafana"].get("expose", [])] == ["3000"]


def test_the_proxy_runs_the_committed_caddyfile_for_the_domain(services: Services) -> None:
    proxy = services["proxy"]
    assert binds(proxy)["/etc/caddy/Caddyfile"].endswith("/cloud/deploy/Caddyfile")
    text = CADDYFILE.read_text(encoding="utf-8")
    required = set(re.findall(r"\{\$([A-Z0-9_]+)\}", text))  # no default in the file
    assert required == {"KENTONGAN_DOMAIN", "KENTONGAN_PROXY_TLS"}
    env = proxy["environment"]
    assert required <= set(env)
    domain = real_values()["KENTONGAN_DOMAIN"]
    assert env["KENTONGAN_DOMAIN"] == domain
    # The links in responders' messages and Grafana's own links use the proxy's name.
    cloud_env = services["cloud"]["environment"]
    assert cloud_env["KENTONGAN_RESPONDERS__PUBLIC_URL"] == f"https://{domain}"
    assert cloud_env["FORWARDED_ALLOW_IPS"] == "*"
    assert services["grafana"]["environment"]["GF_SERVER_ROOT_URL"] == (
        f"https://{domain}/grafana/"
    )


def test_grafana_is_closed_to_strangers(services: Services) -> None:
    env = services["grafana"]["environment"]
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_AUTO_ASSIGN_ORG_ROLE"] == "Viewer"
    assert env["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == real_values()["KENTONGAN_GRAFANA_ADMIN_PASSWORD"]
    mounts = binds(services["grafana"])
    assert mounts["/etc/grafana/provisioning"].endswith("/dashboards/provisioning")


@pytest.mark.parametrize(
    "missing", ["KENTONGAN_DOMAIN", "KENTONGAN_PROXY_TLS", "KENTONGAN_GRAFANA_ADMIN_PASSWORD"]
)
def test_compose_refuses_to_start_without(missing: str, tmp_path: Path) -> None:
    env = {k: v for k, v in real_values().items() if k != missing}
    done = compose_config(tmp_path, env)
    assert done.returncode != 0
    assert missing in done.stderr


def test_every_image_tag_is_pinned(services: Services) -> None:
    for name, service in services.items():
        image = service["image"]
        _, _, tag = image.rpartition(":")
        pinned = FULL_VERSION.match(tag) or TWO_PART.match(image)
        assert pinned, f"{name}: {image} (pin the full release)"
    version = re.search(
        r'^version = "([^"]+)"', (REPO / "cloud" / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert version is not None
    built = {n for n, s in services.items() if "build" in s}
    assert built == {"cloud", "worker", "simulator"}
    for name in built:
        assert services[name]["image"] == f"kentongan-cloud:{version.group(1)}"
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert bases
    for base in bases:
        assert FULL_VERSION.match(base.rpartition(":")[2]), base


def test_the_cloud_image_runs_as_a_user() -> None:
    users = re.findall(r"^USER (\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")


def test_cloud_and_worker_have_healthchecks(services: Services) -> None:
    for name in ("cloud", "worker"):
        check = services[name]["healthcheck"]
        assert not check.get("disable"), name
        assert check["test"][:3] == ["CMD", "python", "-c"], name  # the image has no curl


def test_the_simulator_profile_runs_the_fleet(services: Services) -> None:
    sim = services["simulator"]
    assert sim["profiles"] == ["simulator"]
    assert sim["command"][:2] == ["kentongan-edge", "fleet"]
    args = edge_parser().parse_args(sim["command"][1:])
    values = real_values()
    assert args.count == int(values["KENTONGAN_SIMULATOR_POSTS"])
    assert args.duty_every == float(values["KENTONGAN_SIMULATOR_DUTY_EVERY_S"])
    assert args.panic_every == float(values["KENTONGAN_SIMULATOR_PANIC_EVERY_S"])
    assert (args.host, args.port) == ("broker", 1883)
    mounts = binds(sim)
    assert mounts[str(args.config_dir)].endswith("/firmware_configs")
    assert mounts[str(args.secrets)].endswith("/broker/secrets")
    assert set(sim["depends_on"]) == {"broker", "cloud"}
