"""Local stand-ins for the providers, implementing their documented request and response
shapes: WhatsApp Cloud API send message, Twilio Messages (SMS), Telegram sendMessage, a
webhook receiver that verifies our HMAC, and a GSM modem answering AT commands on a pty."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from kentongan_cloud.responders.channels.webhook import verify

WA_TOKEN = "EAAG-test-token"
WA_PHONE_ID = "106540352242922"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TG_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


@dataclass
class Received:
    """One request a fake provider accepted."""

    path: str
    headers: dict[str, str]
    body: bytes
    to: str
    text: str
    doc: Any = None


@dataclass
class Script:
    """What the next requests get instead of success: ("status", code) or ("hang", s)."""

    queue: deque[tuple[str, float]] = field(default_factory=deque)

    def fail(self, times: int, status: int = 500) -> None:
        self.queue.extend([("status", float(status))] * times)

    def hang(self, times: int, seconds: float) -> None:
        self.queue.extend([("hang", seconds)] * times)


class FakeProvider:
    """A real HTTP server on 127.0.0.1 that judges requests like the provider would."""

    name = "provider"

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts = 0
        self.script = Script()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with owner._lock:
                    owner.attempts += 1
                    step = owner.script.queue.popleft() if owner.script.queue else None
                if step and step[0] == "hang":
                    owner.release.wait(step[1])
                    self._send(504, b"{}")
                    return
                if step and step[0] == "status":
                    self._send(int(step[1]), json.dumps({"error": "scripted failure"}).encode())
                    return
                with owner.changed:
                    status, answer = owner.handle(self.path, dict(self.headers.items()), body)
                    owner.changed.notify_all()
                self._send(status, answer)

            def _send(self, status: int, answer: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        raise NotImplementedError

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until `count` messages were accepted (or the bound runs out)."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.received) >= count, timeout_s)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.to == address]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _error(status: int, doc: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(doc).encode()


class FakeWhatsApp(FakeProvider):
    """POST /{version}/{phone_number_id}/messages, Bearer token, JSON body."""

    name = "whatsapp"
    invalid_numbers: set[str]

    def __init__(self) -> None:
        self.invalid_numbers = set()
        super().__init__()

    def handle(  # noqa: PLR0911 - one answer per documented error
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if not re.fullmatch(rf"/v\d+\.\d+/{WA_PHONE_ID}/messages", path):
            return _error(404, {"error": {"message": "Unknown path", "code": 803}})
        if headers.get("Authorization") != f"Bearer {WA_TOKEN}":
            return _error(
                401,
                {
                    "error": {
                        "message": "Invalid OAuth access token.",
                        "type": "OAuthException",
                        "code": 190,
                    }
                },
            )
        doc = json.loads(body)
        bad = {
            "error": {
                "message": "(#100) Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "Atest",
            }
        }
        if doc.get("messaging_product") != "whatsapp" or not re.fullmatch(
            r"\d{8,15}", doc.get("to", "")
        ):
            return _error(400, bad)
        if doc["to"] in self.invalid_numbers:
            return _error(
                400,
                {
                    "error": {
                        "message": "Recipient phone number not in allowed list",
                        "code": 131030,
                        "fbtrace_id": "Atest",
                    }
                },
            )
        if doc.get("type") == "text":
            text = doc["text"]["body"]
            if not 0 < len(text) <= 4096:
                return _error(400, bad)
        elif doc.get("type") == "template":
            params = doc["template"]["components"][0]["parameters"]
            text = " | ".join(p["text"] for p in params)
        else:
            return _error(400, bad)
        wamid = f"wamid.HBgN{len(self.received):06d}"
        self.received.append(Received(path, headers, body, "+" + doc["to"], text, doc))
        return 200, json.dumps(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": doc["to"], "wa_id": doc["to"]}],
                "messages": [{"id": wamid}],
            }
        ).encode()


class FakeTwilio(FakeProvider):
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, Basic auth, form body."""

    name = "sms"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return _error(404, {"code": 20404, "message": "not found", "status": 404})
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if headers.get("Authorization") != expected:
            return _error(401, {"code": 20003, "message": "Authenticate", "status": 401})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        to = form.get("To", "")
        if not re.fullmatch(r"\+\d{8,15}", to):
            return _error(
                400,
                {
                    "code": 21211,
                    "status": 400,
                    "message": f"The 'To' number {to} is not a valid phone number.",
                },
            )
        text = form.get("Body", "")
        if not 0 < len(text) <= 1600 or not form.get("From"):
            return _error(
                400, {"code": 21602, "message": "Message body is required.", "status": 400}
            )
        sid = f"SM{len(self.received):032x}"
        self.received.append(Received(path, headers, body, to, text, form))
        return 201, json.dumps(
            {
                "sid": sid,
                "status": "queued",
                "to": to,
                "from": form["From"],
                "body": text,
                "num_segments": str(-(-len(text) // 153)),
                "account_sid": TWILIO_SID,
                "error_code": None,
            }
        ).encode()


class FakeTelegram(FakeProvider):
    """POST /bot{token}/sendMessage, JSON body; answers {"ok": true, "result": Message}."""

    name = "telegram"

    def __init__(self) -> None:
        self.throttled: deque[int] = deque()
        super().__init__()

    def throttle(self, times: int, retry_after: int) -> None:
        """Answer the next requests with flood control (429 and parameters.retry_after)."""
        self.throttled.extend([retry_after] * times)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path != f"/bot{TG_TOKEN}/sendMessage":
            return _error(
                401 if "sendMessage" in path else 404,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )
        if self.throttled:
            wait = self.throttled.popleft()
            return _error(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
            )
        doc = json.loads(body)
        chat_id, text = str(doc.get("chat_id", "")), doc.get("text", "")
        if not chat_id.lstrip("-").isdigit():
            return _error(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        if not 0 < len(text) <= 4096:
            return _error(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
            )
        for row in (doc.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if not str(button.get("url", "")).startswith(("http://", "https://")):
                    return _error(
                        400,
                        {
                            "ok": False,
                            "error_code": 400,
                            "description": "Bad Request: BUTTON_URL_INVALID",
                        },
                    )
        self.received.append(Received(path, headers, body, chat_id, text, doc))
        return 200, json.dumps(
            {
                "ok": True,
                "result": {
                    "message_id": len(self.received),
                    "date": int(time.time()),
                    "chat": {"id": int(chat_id), "type": "private"},
                    "text": text,
                },
            }
        ).encode()


class FakeWebhookReceiver(FakeProvider):
    """A responder system's endpoint: refuses unsigned or badly signed posts with 401."""

    name = "webhook"

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets  # path → secret
        self.refused = 0
        super().__init__()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        secret = self.secrets.get(path)
        if secret is None:
            return 404, b"{}"
        ts = headers.get("X-Kentongan-Timestamp", "")
        sig = headers.get("X-Kentongan-Signature", "")
        if not verify(secret.encode(), ts, body, sig):
            self.refused += 1
            return 401, b'{"error": "bad signature"}'
        key = headers.get("Idempotency-Key", "")
        if any(r.headers.get("Idempotency-Key") == key for r in self.received):
            return 409, b'{"error": "duplicate"}'
        self.received.append(Received(path, headers, body, path, body.decode("utf-8")))
        return 202, b'{"accepted": true}'


class FakeModem:
    """A GSM modem on a pseudo-terminal: echoes commands, answers AT, AT+CMGF, AT+CSCS,
    AT+CMGS (with the "> " prompt and Ctrl-Z), AT+CMGL and AT+CMGD."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.device = os.ttyname(self.slave)
        self.sent: list[tuple[str, str]] = []
        self.inbox: list[tuple[int, str, str]] = []
        self.commands: list[str] = []
        self.fail_sends = 0
        self.text_mode = False
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _write(self, data: bytes) -> None:
        os.write(self.master, data)

    def _run(self) -> None:
        buf = b""
        pending_number: str | None = None
        while not self._stop.is_set():
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            buf += chunk
            if pending_number is not None:
                if b"\x1a" not in buf:
                    continue
                text, buf = buf.split(b"\x1a", 1)
                self._write(text)
                if self.fail_sends:
                    self.fail_sends -= 1
                    self._write(b"\r\n+CMS ERROR: 500\r\n")
                else:
                    self.sent.append((pending_number, text.decode("ascii")))
                    self._write(f"\r\n+CMGS: {len(self.sent)}\r\n\r\nOK\r\n".encode())
                pending_number = None
                continue
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                cmd = line.decode("ascii", "replace").strip()
                if not cmd:
                    continue
                self.commands.append(cmd)
                self._write(line + b"\r")  # echo (ATE1, the factory default)
                pending_number = self._answer(cmd)
                if pending_number is not None:
                    break

    def _answer(self, cmd: str) -> str | None:
        upper = cmd.upper()
        if upper in ("AT", 'AT+CSCS="GSM"'):
            self._write(b"\r\nOK\r\n")
        elif upper == "AT+CMGF=1":
            self.text_mode = True
            self._write(b"\r\nOK\r\n")
        elif upper.startswith("AT+CMGS=") and self.text_mode:
            self._write(b"\r\n> ")
            return cmd.split("=", 1)[1].strip('"')
        elif upper == 'AT+CMGL="REC UNREAD"' and self.text_mode:
            out = "".join(
                f'\r\n+CMGL: {i},"REC UNREAD","{sender}",,"24/05/06,21:05:00+28"\r\n{text}'
                for i, sender, text in self.inbox
            )
            self._write(out.encode() + b"\r\n\r\nOK\r\n")
        elif upper.startswith("AT+CMGD="):
            index = int(upper.split("=", 1)[1])
            self.inbox = [m for m in self.inbox if m[0] != index]
            self._write(b"\r\nOK\r\n")
        else:
            self._write(b"\r\nERROR\r\n")
        return None

    def stop(self) -> None:
        self._stop.set()
        os.close(self.slave)
        os.close(self.master)
