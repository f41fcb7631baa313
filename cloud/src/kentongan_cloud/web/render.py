"""Jinja2 templates (autoescaped) and the static files that ship with the package."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
ICONS_DIR = STATIC_DIR / "icons"
WIB = ZoneInfo("Asia/Jakarta")

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def wib(at: datetime | None) -> str:
    """A time as people in the district read it (WIB)."""
    return "" if at is None else at.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


@cache
def icon(name: str) -> Markup:
    """An incident type's icon as inline SVG (static/icons/<type>.svg): drawn by the browser
    itself, so it shows on phones without an emoji font and costs no extra request. Types
    without their own drawing get the generic one."""
    path = ICONS_DIR / f"{name}.svg"
    if not re.fullmatch(r"[a-z0-9_]{1,40}", name) or not path.is_file():
        path = ICONS_DIR / "lain.svg"
    return Markup(path.read_text(encoding="utf-8").strip())  # noqa: S704 - our own files


_env.filters["wib"] = wib
_env.globals["icon"] = icon


def page(name: str, status_code: int = 200, /, **context: object) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
