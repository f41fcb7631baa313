"""`kentongan-provision`: check the provisioning files and generate what comes from them."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from kentongan_protocol.provisioning.broker import (
    DEFAULT_CLOUD_WORKERS,
    TECHNICIAN_USER,
    BrokerLayout,
    cloud_accounts,
    render_acl,
    render_conf,
    render_passwd,
)
from kentongan_protocol.provisioning.bundle import BundleError, write_bundle
from kentongan_protocol.provisioning.schema import write_schemas
from kentongan_protocol.provisioning.secretstore import SecretStore
from kentongan_protocol.provisioning.tree import (
    REVOKED_FILE,
    Provisioning,
    ProvisioningError,
    Revocation,
    RevokedList,
    load_tree,
)

EX_CONFIG = 78


def _load(root: Path) -> Provisioning:
    try:
        return load_tree(root)
    except ProvisioningError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found in {root}", file=sys.stderr)
        raise SystemExit(1) from None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


def write_broker_files(
    prov: Provisioning,
    out: Path,
    store: SecretStore,
    layout: BrokerLayout | None = None,
    *,
    cloud_workers: int = DEFAULT_CLOUD_WORKERS,
) -> list[Path]:
    """mosquitto.conf, acl and passwd for the active gateways, the cloud's accounts
    (`cloud` and `cloud-1` … `cloud-N`) and the technician."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = [*cloud_accounts(cloud_workers), TECHNICIAN_USER]
    accounts += [g.gateway_id for g in prov.active_gateways()]
    passwords = {a: store.get_or_create(a) for a in accounts}
    (out / "mosquitto.conf").write_text(render_conf(layout or BrokerLayout()), encoding="utf-8")
    (out / "acl").write_text(render_acl(prov, cloud_workers=cloud_workers), encoding="utf-8")
    _write_private(out / "passwd", render_passwd(passwords))
    return [out / "mosquitto.conf", out / "acl", out / "passwd"]


def cmd_validate(args: argparse.Namespace) -> int:
    prov = _load(args.config)
    revoked = len(prov.revoked)
    print(
        f"OK: district {prov.district.district.id} with {len(prov.gateways)} gateways "
        f"({revoked} revoked) in {args.config}"
    )
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    prov = _load(args.config)
    store = SecretStore(args.secrets)
    for path in write_broker_files(prov, args.out, store, cloud_workers=args.cloud_workers):
        print(f"wrote {path}")
    print(f"passwords are kept in {args.secrets} (mode 0600); reload the broker with SIGHUP")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    prov = _load(args.config)
    gid = args.gateway
    if gid not in prov.gateways:
        print(f"no gateway {gid!r} in {args.config}", file=sys.stderr)
        return 1
    if gid not in prov.revoked:
        entries = [
            *prov.revoked.values(),
            Revocation(
                gateway_id=gid,
                at=datetime.now(UTC).isoformat(timespec="seconds"),
                reason=args.reason,
            ),
        ]
        text = (
            "# Gateways whose access was withdrawn (stolen or retired Pis). "
            "Written by kentongan-provision revoke.\n"
        )
        text += yaml.safe_dump(
            RevokedList(revoked=entries).model_dump(mode="json"),
            sort_keys=False,
            allow_unicode=True,
        )
        (args.config / REVOKED_FILE).write_text(text, encoding="utf-8")
    store = SecretStore(args.secrets)
    store.forget(gid)
    write_broker_files(load_tree(args.config), args.out, store, cloud_workers=args.cloud_workers)
    print(f"revoked {gid}: removed from {args.out / 'passwd'} and {args.out / 'acl'}")
    if args.reload_pid is not None:
        os.kill(args.reload_pid, signal.SIGHUP)
        print(f"sent SIGHUP to broker pid {args.reload_pid}")
    else:
        print("reload the broker now (docker compose kill -s HUP broker) to refuse it")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    prov = _load(args.config)
    out = args.out or Path(f"bundle-{args.gateway}")
    try:
        written = write_bundle(prov, args.gateway, SecretStore(args.secrets), out, args.ca)
    except BundleError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not (out / "ca.crt").exists():
        print(f"warning: no CA certificate at {args.ca}; TLS on the Pi will fail", file=sys.stderr)
    print(f"copy {out}/ to /etc/kentongan/ on the SD card; the unit goes to /etc/systemd/system/")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    for path in write_schemas(args.config):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kentongan-provision",
        description="Check Kentongan provisioning YAML and generate broker and gateway files.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    p = add("validate", "Report every problem in a firmware_configs/ tree, with file and line.")
    p.add_argument("config", type=Path, nargs="?", default=Path("firmware_configs"))
    p.set_defaults(func=cmd_validate)

    def broker_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            default=Path("firmware_configs"),
            help="provisioning tree (default: firmware_configs)",
        )
        p.add_argument(
            "--out",
            type=Path,
            default=Path("broker"),
            help="where mosquitto.conf, acl and passwd go (default: broker)",
        )
        p.add_argument(
            "--secrets",
            type=Path,
            default=Path("broker/secrets"),
            help="directory of account passwords (default: broker/secrets)",
        )
        p.add_argument(
            "--cloud-workers",
            type=int,
            default=DEFAULT_CLOUD_WORKERS,
            help="cloud worker accounts cloud-1 … cloud-N besides cloud "
            f"(default: {DEFAULT_CLOUD_WORKERS})",
        )

    p = add("broker", "Write the Mosquitto config, ACL and password file.")
    broker_opts(p)
    p.set_defaults(func=cmd_broker)

    p = add("revoke", "Withdraw a gateway's broker access (a stolen or retired Pi).")
    p.add_argument("gateway")
    p.add_argument("--reason", default="", help="why, for the record in revoked.yaml")
    p.add_argument("--reload-pid", type=int, default=None, help="send SIGHUP to this broker pid")
    broker_opts(p)
    p.set_defaults(func=cmd_revoke)

    p = add("bundle", "Write what a technician copies to one gateway's SD card.")
    p.add_argument("gateway")
    p.add_argument("--out", type=Path, default=None, help="directory (default: bundle-GATEWAY)")
    p.add_argument("--config", type=Path, default=Path("firmware_configs"))
    p.add_argument("--secrets", type=Path, default=Path("broker/secrets"))
    p.add_argument(
        "--ca",
        type=Path,
        default=Path("broker/tls/ca.crt"),
        help="CA certificate to include (default: broker/tls/ca.crt)",
    )
    p.set_defaults(func=cmd_bundle)

    p = add("schema", "Regenerate the JSON Schemas editors use to check the YAML.")
    p.add_argument("config", type=Path, nargs="?", default=Path("firmware_configs"))
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except SystemExit as exc:  # a bad tree: already reported line by line
        return int(exc.code or 0)
    return code


if __name__ == "__main__":
    sys.exit(main())
