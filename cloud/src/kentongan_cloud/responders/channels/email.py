"""E-mail through an SMTP server (smtplib, run off the event loop)."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from kentongan_protocol.provisioning.district import Channel, ChannelType

from kentongan_cloud.responders.errors import PermanentChannelError, TransientChannelError
from kentongan_cloud.responders.messages import chat_text, subject
from kentongan_cloud.responders.models import Content, SendReceipt
from kentongan_cloud.responders.settings import SmtpSettings


class EmailChannel:
    channel_type: ChannelType = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self._s = settings

    def provider_for(self, channel: Channel) -> str:
        return "email"

    def message(self, to: str, content: Content, now: datetime, key: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._s.from_addr
        msg["To"] = to
        msg["Subject"] = subject(content)
        msg["Date"] = format_datetime(now)
        # The same key always makes the same Message-ID: mail systems drop the repeat.
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@kentongan>"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(chat_text(content, now))
        return msg

    def _send(self, msg: EmailMessage, to: str) -> tuple[int, str]:
        s = self._s
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls()
                smtp.ehlo()
            if s.username and s.password:
                smtp.login(s.username, s.password.get_secret_value())
            code, reply = smtp.mail(s.from_addr)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, s.from_addr)
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = smtp.data(msg.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            return code, reply.decode("utf-8", "replace")

    async def send(
        self, channel: Channel, content: Content, *, now: datetime, idempotency_key: str
    ) -> SendReceipt:
        msg = self.message(channel.to, content, now, idempotency_key)
        try:
            code, reply = await asyncio.to_thread(self._send, msg, channel.to)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentChannelError(f"email: recipient refused {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            err = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            cls = PermanentChannelError if exc.smtp_code >= 500 else TransientChannelError
            raise cls(f"email: SMTP {exc.smtp_code}", status=exc.smtp_code, response=err) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientChannelError(f"email: {type(exc).__name__}: {exc}") from exc
        return SendReceipt(
            provider="email", status=code, message_id=msg["Message-ID"], response=reply
        )

    async def aclose(self) -> None:
        return None
