"""A local stand-in for the messaging providers and the agencies' webhooks: it answers as
they do and keeps every message, for the scenario to print."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from kentongan_cloud.demo.errors import DemoError


@dataclass(frozen=True)
class Delivered:
    channel: str
    to: str
    text: str
    idempotency_key: str | None
    at: float


@dataclass
class Receiver:
    """Answers like WhatsApp, Twilio, Telegram and the agencies' webhooks; keeps each message."""

    messages: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            msg = "the receiver is not running"
            raise DemoError(msg)
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def snapshot(self) -> list[Delivered]:
        with self.lock:
            return list(self.messages)

    def _keep(self, msg: Delivered) -> None:
        with self.lock:
            self.messages.append(msg)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key")
                path = self.path
                answer: dict[str, Any] = {}
                status = 200
                if path.startswith("/whatsapp/"):
                    doc = json.loads(body or b"{}")
                    text = str((doc.get("text") or {}).get("body") or doc.get("template", ""))
                    receiver._keep(Delivered("whatsapp", str(doc.get("to")), text, key, _now()))
                    answer = {"messages": [{"id": "wamid.demo" + secrets.token_hex(6)}]}
                elif path.startswith("/sms/"):
                    form = parse_qs(body.decode())
                    to = form.get("To", [""])[0]
                    receiver._keep(Delivered("sms", to, form.get("Body", [""])[0], key, _now()))
                    answer = {"sid": "SM" + secrets.token_hex(16), "status": "queued"}
                    status = 201
                elif path.startswith("/telegram/"):
                    doc = json.loads(body or b"{}")
                    chat = str(doc.get("chat_id"))
                    receiver._keep(Delivered("telegram", chat, str(doc.get("text")), key, _now()))
                    answer = {"ok": True, "result": {"message_id": len(receiver.messages)}}
                else:
                    receiver._keep(
                        Delivered("webhook", path, body.decode(errors="replace"), key, _now())
                    )
                    status = 202
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _now() -> float:
    return time.monotonic()
