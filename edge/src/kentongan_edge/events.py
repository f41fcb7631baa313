"""Building events: identity, ordering and clock facts on every one (DESIGN.md, Clocks)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from kentongan_protocol.payloads import Event, EventKind, EventSource


def new_session_id() -> str:
    """Random per daemon start; a reflashed Pi never reuses one."""
    return uuid.uuid4().hex


class EventFactory:
    """Stamps events with session, boot, per-session seq, monotonic time and clock state.

    `test_mode()` true (maintenance) marks events `status=test`, which page nobody.
    """

    def __init__(
        self,
        *,
        session_id: str,
        boot_id: UUID,
        clock_synced: Callable[[], bool],
        test_mode: Callable[[], bool],
    ) -> None:
        self.session_id = session_id
        self.boot_id = boot_id
        self._clock_synced = clock_synced
        self._test_mode = test_mode
        self.seq = 0

    def make(
        self,
        kind: EventKind,
        input_name: str,
        *,
        source: EventSource = "button",
        incident_type: str | None = None,
        cancels: UUID | None = None,
        value: float | None = None,
        detail: str | None = None,
    ) -> Event:
        seq = self.seq
        self.seq += 1
        return Event(
            event_id=uuid.uuid4(),
            session_id=self.session_id,
            boot_id=self.boot_id,
            seq=seq,
            monotonic_ms=int(time.monotonic() * 1000),
            occurred_at=datetime.now(UTC),
            clock_synced=self._clock_synced(),
            source=source,
            kind=kind,
            input=input_name,
            incident_type=incident_type,
            status="test" if self._test_mode() else "actual",
            cancels=cancels,
            value=value,
            detail=detail,
        )
