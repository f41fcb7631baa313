"""SMS through a GSM modem on a serial port, for districts without an SMS provider.

Text mode AT commands (3GPP TS 27.005): AT, AT+CMGF=1, AT+CSCS="GSM", then per part
AT+CMGS="<number>" → "> " prompt → text + Ctrl-Z → "+CMGS: <ref>" and OK. Replies are read
with AT+CMGL="REC UNREAD" and deleted with AT+CMGD. One conversation with the modem at a
time; the serial I/O runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import serial
from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.channels.sms_http import e164
from kentongan_cloud.responders.errors import TransientChannelError
from kentongan_cloud.responders.messages import gsm7, sms_parts, sms_text
from kentongan_cloud.responders.models import Content, SendReceipt
from kentongan_cloud.responders.settings import ModemSettings

CTRL_Z = b"\x1a"
_FINAL = re.compile(rb"(?:^|\r\n)(OK|ERROR|\+CMS ERROR: ?\d+|\+CME ERROR: ?[^\r\n]+)\r\n")
_CMGL = re.compile(r'^\+CMGL: (\d+),"[^"]*","([^"]*)"')


@dataclass(frozen=True)
class InboundSms:
    sender: str
    text: str


class ModemError(TransientChannelError):
    """The modem answered ERROR or did not answer in time."""


class Modem:
    """A conversation with one modem; callers hold `lock` for a whole exchange."""

    def __init__(self, settings: ModemSettings) -> None:
        self._s = settings
        self.lock = threading.Lock()
        self.transcript: list[str] = []

    def _open(self) -> serial.Serial:
        try:
            return serial.serial_for_url(self._s.device, baudrate=self._s.baud, timeout=0.2)
        except (serial.SerialException, OSError) as exc:
            raise ModemError(f"modem: cannot open {self._s.device}: {exc}") from exc

    def _read_until(self, port: serial.Serial, done: re.Pattern[bytes] | bytes) -> bytes:
        deadline = time.monotonic() + self._s.timeout_s
        buf = b""
        while time.monotonic() < deadline:
            buf += port.read(port.in_waiting or 1)
            if isinstance(done, bytes) and buf.endswith(done):
                return buf
            if not isinstance(done, bytes) and done.search(buf):
                return buf
            if b"ERROR" in buf and buf.endswith(b"\r\n"):
                break
        self.transcript.append(buf.decode("ascii", "replace"))
        answer = buf.decode("ascii", "replace").strip() or "no answer"
        raise ModemError(f"modem: {answer}", response=answer)

    def command(self, port: serial.Serial, cmd: str) -> str:
        port.write(cmd.encode("ascii") + b"\r")
        answer = self._read_until(port, _FINAL).decode("ascii", "replace")
        self.transcript.append(f"{cmd} -> {answer.strip()}")
        if not answer.rstrip().endswith("OK"):
            raise ModemError(f"modem: {cmd} answered {answer.strip()}", response=answer.strip())
        return answer

    def _prepare(self, port: serial.Serial) -> None:
        port.reset_input_buffer()
        self.command(port, "AT")
        self.command(port, "AT+CMGF=1")
        self.command(port, 'AT+CSCS="GSM"')

    def send_sms(self, number: str, parts: list[str]) -> list[str]:
        """Send each part as one SMS; returns the modem's message references."""
        refs: list[str] = []
        with self.lock, self._open() as port:
            self._prepare(port)
            for part in parts:
                port.write(f'AT+CMGS="{number}"\r'.encode("ascii"))
                self._read_until(port, b"> ")
                port.write(part.encode("ascii", "replace") + CTRL_Z)
                answer = self._read_until(port, _FINAL).decode("ascii", "replace")
                self.transcript.append(f"CMGS {number} -> {answer.strip()}")
                match = re.search(r"\+CMGS: ?(\d+)", answer)
                if not match or not answer.rstrip().endswith("OK"):
                    raise ModemError(
                        f"modem: send failed: {answer.strip()}", response=answer.strip()
                    )
                refs.append(match.group(1))
        return refs

    def read_unread(self) -> list[InboundSms]:
        """Unread SMS in the modem, deleted once read."""
        with self.lock, self._open() as port:
            self._prepare(port)
            answer = self.command(port, 'AT+CMGL="REC UNREAD"')
            found: list[tuple[str, InboundSms]] = []
            lines = answer.replace("\r\n", "\n").split("\n")
            for i, line in enumerate(lines):
                match = _CMGL.match(line)
                if match and i + 1 < len(lines):
                    found.append((match.group(1), InboundSms(match.group(2), lines[i + 1].strip())))
            for index, _ in found:
                self.command(port, f"AT+CMGD={index}")
        return [sms for _, sms in found]


class ModemSmsChannel:
    channel_type: ChannelType = "sms_modem"

    def __init__(self, settings: ModemSettings) -> None:
        self._s = settings
        self.modem = Modem(settings)

    def provider_for(self, channel: Channel) -> str:
        return "sms_modem"

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        parts = sms_parts(sms_text(content, now), self._s.max_parts)
        refs = await asyncio.to_thread(self.modem.send_sms, e164(channel.to), parts)
        return SendReceipt(
            provider="sms_modem",
            message_id=",".join(refs),
            response=f"+CMGS: {', '.join(refs)} ({len(parts)} SMS)",
        )

    async def reply(self, number: str, text: str) -> None:
        """A one-part answer to an SMS that came in."""
        await asyncio.to_thread(self.modem.send_sms, e164(number), sms_parts(gsm7(text), 1))

    async def read_replies(self) -> list[InboundSms]:
        return await asyncio.to_thread(self.modem.read_unread)

    async def aclose(self) -> None:
        return None
