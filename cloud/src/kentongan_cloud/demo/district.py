"""The sample district made local: webhooks to the receiver, and the cloud's settings."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

from kentongan_cloud.settings import Settings

WEBHOOK_LINE = re.compile(r'(\{type: webhook, to: ")([^"]+)(")')
SECRET_ENV = re.compile(r"secret_env: (KENTONGAN_[A-Z0-9_]+)")


def prepare_config(source: Path, dest: Path, receiver_url: str) -> dict[str, str]:
    """Copy the district, point its webhooks at the receiver; return the webhook secrets."""
    shutil.copytree(source, dest)
    district = dest / "district.yaml"
    text = district.read_text(encoding="utf-8")
    count = 0

    def local(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"{m.group(1)}{receiver_url}/webhook/{count}{m.group(3)}"

    text = WEBHOOK_LINE.sub(local, text)
    district.write_text(text, encoding="utf-8")
    return {name: secrets.token_urlsafe(24) for name in SECRET_ENV.findall(text)}


def demo_settings(
    config_dir: Path, data_dir: Path, broker_port: int, cloud_password: str, port: int, rx: str
) -> Settings:
    return Settings(
        mode="local",
        config_dir=config_dir,
        data_dir=data_dir,
        mqtt={"port": broker_port, "password": cloud_password},
        fleet={"sweep_interval_s": 1.0},
        outbox={"poll_interval_s": 0.2},
        responders={
            "public_url": f"http://127.0.0.1:{port}",
            "whatsapp": {
                "token": "demo-token",
                "phone_number_id": "6281200000",
                "api_base": f"{rx}/whatsapp",
            },
            "sms": {
                "account_sid": "AC" + "0" * 32,
                "auth_token": "demo-token",
                "from_number": "+6281100000000",
                "api_base": f"{rx}/sms",
            },
            "telegram": {"bot_token": "123456:demo", "api_base": f"{rx}/telegram"},
        },
    )
