"""Incident annotations in Grafana: the only module of ours that imports grafana-client.

Best effort and never blocking: `annotate()` starts the HTTP request as a background task
and returns at once; a Grafana that is down, slow or refusing costs a counted, logged failure
and nothing else. The idempotency key suppresses repeats (an outbox retry) in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from grafana_client.api import AsyncGrafanaApi

from kentongan_cloud.ports import Annotation

_LOGGER = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
ANNOTATION_TAG = "kentongan"
"""Every annotation carries this tag; the dashboards' annotation query selects it."""


@dataclass(frozen=True, slots=True)
class AnnotationStats:
    """Counters since start."""

    sent: int
    failed: int
    duplicates: int
    dropped: int
    pending: int


class GrafanaAnnotations:
    """An `AnnotationSink` posting to Grafana's `POST /api/annotations` (organisation-wide)."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout_s: float = 5.0,
        max_pending: int = 100,
        remember_keys: int = 10_000,
        tags: Sequence[str] = (ANNOTATION_TAG,),
    ) -> None:
        self._api = AsyncGrafanaApi.from_url(url, credential=token, timeout=timeout_s)
        self._tags = list(tags)
        self._max_pending = max_pending
        self._remember = remember_keys
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[asyncio.Task[None], str] = {}
        self._sent = self._failed = self._duplicates = self._dropped = 0

    async def annotate(self, annotation: Annotation, idempotency_key: str) -> None:
        """Start posting the annotation and return at once; never raises for Grafana's sake."""
        if idempotency_key in self._keys or idempotency_key in self._pending.values():
            self._duplicates += 1
            return
        if len(self._pending) >= self._max_pending:
            self._dropped += 1
            _LOGGER.warning("Grafana annotation dropped: %d already pending", len(self._pending))
            return
        task = asyncio.get_running_loop().create_task(self._post(annotation, idempotency_key))
        self._pending[task] = idempotency_key
        task.add_done_callback(self._pending.pop)

    async def _post(self, annotation: Annotation, key: str) -> None:
        tags = list(dict.fromkeys([*self._tags, *annotation.tags]))
        try:
            await self._api.annotations.add_annotation(
                time_from=(annotation.time - _EPOCH) // _MS, tags=tags, text=annotation.text
            )
        except Exception as exc:  # best effort: any failure is counted and logged
            self._failed += 1
            _LOGGER.warning("Grafana annotation failed: %s", str(exc)[:200])
            return
        self._sent += 1
        self._keys[key] = None
        while len(self._keys) > self._remember:
            self._keys.popitem(last=False)

    def stats(self) -> AnnotationStats:
        return AnnotationStats(
            sent=self._sent,
            failed=self._failed,
            duplicates=self._duplicates,
            dropped=self._dropped,
            pending=len(self._pending),
        )

    async def aclose(self, timeout_s: float = 5.0) -> AnnotationStats:
        """Give pending annotations `timeout_s` to finish, cancel the rest, close the session."""
        pending = list(self._pending)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._api.client.s.close()
        return self.stats()
