"""Responders: routing incidents to the people who must act, on the channels they read,
with one-tap acknowledgement and escalation kept in the database.

The core builds it with `build_responders(engine, district)`, hands `notifier` to its outbox
(it implements `kentongan_cloud.ports.Notifier`), runs `worker.run_forever(stop)` and mounts
`router()` at the root of the public app.
"""

from kentongan_cloud.responders.acks import AckDesk, AckOutcome, ReplyOutcome
from kentongan_cloud.responders.build import Responders, build_channels, build_responders
from kentongan_cloud.responders.clock import Clock, ManualClock, SystemClock
from kentongan_cloud.responders.errors import (
    AckRefusedError,
    ChannelError,
    PermanentChannelError,
    ResponderConfigError,
    ResponderError,
    TransientChannelError,
)
from kentongan_cloud.responders.models import Acknowledgement, DeliveryAttempt, Drill
from kentongan_cloud.responders.service import ResponderService
from kentongan_cloud.responders.settings import ResponderSettings
from kentongan_cloud.responders.worker import DeliveryWorker

__all__ = [
    "AckDesk",
    "AckOutcome",
    "AckRefusedError",
    "Acknowledgement",
    "ChannelError",
    "Clock",
    "DeliveryAttempt",
    "DeliveryWorker",
    "Drill",
    "ManualClock",
    "PermanentChannelError",
    "ReplyOutcome",
    "ResponderConfigError",
    "ResponderError",
    "ResponderService",
    "ResponderSettings",
    "Responders",
    "SystemClock",
    "TransientChannelError",
    "build_channels",
    "build_responders",
]
