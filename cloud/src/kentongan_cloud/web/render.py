"""Jinja2 templates (autoescaped) and the static files that ship with the package."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
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


_env.filters["wib"] = wib


def page(name: str, status_code: int = 200, /, **context: object) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
