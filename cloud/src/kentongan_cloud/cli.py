"""`kentongan-cloud`: serve the API, run workers, create users, prepare the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import cast

import uvicorn

from kentongan_cloud import heap
from kentongan_cloud.api.accounts import InvalidAccountError, check_account, describe
from kentongan_cloud.api.app import create_app
from kentongan_cloud.api.auth import ROLES, hash_password
from kentongan_cloud.clock import SystemClock
from kentongan_cloud.domain.sites import build_directory
from kentongan_cloud.errors import ConfigError
from kentongan_cloud.outbox.worker import Sinks
from kentongan_cloud.records import UserAuditEntry, UserRecord
from kentongan_cloud.runtime import CloudRuntime, load_provisioning
from kentongan_cloud.settings import Settings, load_settings
from kentongan_cloud.store.db import Database

_LOGGER = logging.getLogger("kentongan_cloud")
EX_CONFIG = 78


def _load_sinks(spec: str | None, settings: Settings) -> Sinks | None:
    """`module:function` returning Sinks, replacing the ones built from the settings
    (responders, InfluxDB, Grafana); None: build those."""
    if not spec:
        return None
    module, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        msg = f"--sinks {spec!r}: {exc}"
        raise ConfigError(msg) from exc
    sinks = cast(Callable[[Settings], Sinks], factory)(settings)
    if not isinstance(sinks, Sinks):
        msg = f"--sinks {spec!r} did not return Sinks"
        raise ConfigError(msg)
    return sinks


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _worker(settings: Settings, sinks: Sinks | None) -> None:
    async with CloudRuntime(settings, sinks=sinks):
        heap.settle()
        _LOGGER.info("worker running; stop with SIGTERM")
        await _until_signal()


async def _serve(
    settings: Settings, host: str, port: int, with_worker: bool, sinks: Sinks | None
) -> None:
    rt = CloudRuntime(
        settings, sinks=sinks, mqtt=with_worker, outbox=with_worker, sweeper=with_worker
    )
    await rt.start()
    try:
        config = uvicorn.Config(create_app(settings, runtime=rt), host=host, port=port)
        heap.settle()
        await uvicorn.Server(config).serve()
    finally:
        await rt.stop()


async def _init_db(settings: Settings) -> None:
    prov = load_provisioning(settings)
    if not settings.database.url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with db.transaction() as tx:
            await tx.fleet.sync(build_directory(prov), prov.gateways.keys())
    finally:
        await db.close()
    print(f"database ready: {len(prov.gateways)} gateways in the registry")


async def _create_user(settings: Settings, user: UserRecord) -> bool:
    if not settings.database.url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    now = SystemClock().now()
    try:
        await db.migrate()
        async with db.transaction() as tx:
            created = await tx.users.upsert(user, now)
            action = "create" if created else "replace"
            # The command line has no login: the audit names the machine's user instead.
            actor = f"cli:{getpass.getuser()}"
            await tx.users.audit(UserAuditEntry(now, actor, action, user.username, describe(user)))
            return created
    finally:
        await db.close()


def _new_user(args: argparse.Namespace, settings: Settings) -> UserRecord:
    """The account asked for, checked against the provisioning files before any password."""
    try:
        check_account(load_provisioning(settings), args.role, args.gateway, args.agency)
    except InvalidAccountError as exc:
        raise ConfigError(str(exc)) from exc
    return UserRecord(
        args.username, hash_password(_password(args)), args.role, args.gateway, True, args.agency
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("KENTONGAN_NEW_PASSWORD")
    if env:
        return env
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        msg = "the passwords differ"
        raise ConfigError(msg)
    return first


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kentongan-cloud",
        description="Kentongan command centre. Settings come from KENTONGAN_* environment "
        "variables (e.g. KENTONGAN_DATABASE__URL, KENTONGAN_MQTT__PASSWORD, KENTONGAN_MODE).",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API (and, with --worker, the intake)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run MQTT intake, outbox and fleet sweep (default: on in local mode)",
    )
    serve.add_argument("--sinks", help="MODULE:FUNCTION returning the outbox sinks")
    worker = sub.add_parser("worker", help="MQTT intake, outbox delivery and fleet sweep")
    worker.add_argument("--sinks", help="MODULE:FUNCTION returning the outbox sinks")
    user = sub.add_parser("create-user", help="create or reset an account")
    user.add_argument("username")
    user.add_argument(
        "--role",
        choices=ROLES,
        required=True,
        help="admin manages accounts (and does what operators and technicians do); "
        "a responder sees only its agency's incidents",
    )
    user.add_argument("--gateway", help="the post of a guard (role guard)")
    user.add_argument("--agency", help="a responder's agency: an agency id of the district file")
    user.add_argument("--password-stdin", action="store_true", help="read the password")
    sub.add_parser("init-db", help="create the tables and sync the gateway registry")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        if args.command == "serve":
            with_worker = args.worker if args.worker is not None else settings.mode == "local"
            sinks = _load_sinks(args.sinks, settings)
            asyncio.run(_serve(settings, args.host, args.port, with_worker, sinks))
        elif args.command == "worker":
            asyncio.run(_worker(settings, _load_sinks(args.sinks, settings)))
        elif args.command == "create-user":
            created = asyncio.run(_create_user(settings, _new_user(args, settings)))
            print(f"user {args.username} ({args.role}) {'created' if created else 'updated'}")
        elif args.command == "init-db":
            asyncio.run(_init_db(settings))
    except ConfigError as exc:
        print(f"kentongan-cloud: {exc}", file=sys.stderr)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
