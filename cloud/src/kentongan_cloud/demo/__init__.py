"""`kentongan-demo`: the whole network on one machine with embedded defaults.

Mosquitto with the generated configuration of the sample district, the cloud (SQLite in a
work directory, local mode, the HTTP API on uvicorn, MQTT intake, outbox, responders) and
every gateway of the district as a virtual gateway (the real edge daemon on mock pins).
A short scenario plays and prints its timeline; then the console stays open until Ctrl-C.

Notifications go to a receiver of our own on 127.0.0.1 that answers like the providers
(WhatsApp Cloud API, Twilio, Telegram, the agencies' webhooks), so every message the
responders send is captured and printed.
"""

from kentongan_cloud.demo.cli import main
from kentongan_cloud.demo.district import prepare_config
from kentongan_cloud.demo.receiver import Receiver

__all__ = ["Receiver", "main", "prepare_config"]
