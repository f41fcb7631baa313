"""Settings of the cloud service, read from the environment (`KENTONGAN_…`, `__` nests).

Local mode runs with embedded defaults: a SQLite file in the data directory and Mosquitto on
127.0.0.1. Production mode refuses every placeholder secret, so a forgotten variable stops
the service at start instead of running with a password everyone knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from kentongan_protocol.ids import Id
from kentongan_protocol.payloads import MAX_COMMAND_EXPIRY_S
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from kentongan_cloud.errors import ConfigError
from kentongan_cloud.responders.settings import ResponderSettings

PLACEHOLDER_SECRET = "change-me-local-only"  # noqa: S105 - the known placeholder refused below
"""Default of every secret: fine on a laptop, refused in production."""
EXAMPLE_PREFIX = "replace-with"
"""How every value in .env.example starts: refused in production too."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(Section):
    """The cloud's connection to the district broker."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: Id = "cloud"
    password: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    tls: bool = False
    ca_file: Path | None = None
    share_group: Id = "cloud"
    keepalive_s: Annotated[int, Field(ge=5, le=60)] = 10
    # The broker keeps the session (and queues events) this long while every worker is down.
    session_expiry_s: Annotated[int, Field(ge=60)] = 14 * 86400
    receive_maximum: Annotated[int, Field(ge=20, le=65535)] = 1000
    command_expiry_s: Annotated[int, Field(ge=5, le=MAX_COMMAND_EXPIRY_S)] = MAX_COMMAND_EXPIRY_S


class DatabaseSettings(Section):
    """Where incidents live: a SQLite file by default, PostgreSQL by URL."""

    url: str | None = None
    echo: bool = False


class IntakeSettings(Section):
    max_batch: Annotated[int, Field(ge=1, le=5000)] = 500


class FleetSettings(Section):
    """When a silent gateway counts as offline, and when a technician hears of it."""

    heartbeat_factor: Annotated[float, Field(ge=1.5, le=10)] = 2.5
    offline_alert_after_min: Annotated[float, Field(ge=0, le=1440)] = 10.0
    # A power, tamper or siren alarm that clears and comes back (a flapping battery sensor, a
    # box lid opened and closed) tells the technicians again only after this long; 0: always.
    realert_after_min: Annotated[float, Field(ge=0, le=10080)] = 60.0
    sweep_interval_s: Annotated[float, Field(gt=0, le=60)] = 2.0


class OutboxSettings(Section):
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    batch: Annotated[int, Field(ge=1, le=1000)] = 200
    lease_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 30
    backoff_max_s: Annotated[float, Field(ge=1, le=3600)] = 300.0


class ApiSettings(Section):
    session_ttl_h: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0
    # None: secure cookies in production, plain HTTP allowed in local mode.
    cookie_secure: bool | None = None
    cap_sender: Annotated[str, Field(min_length=3, max_length=200)] = "kentongan@localhost"


class InfluxSettings(Section):
    """The InfluxDB 2.x bucket the time series go to; absent URL: no points are written."""

    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] | None = None
    token: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    org: Annotated[str, Field(min_length=1, max_length=100)] = "kentongan"
    bucket: Annotated[str, Field(min_length=1, max_length=100)] = "kentongan"
    # Where points wait while InfluxDB is down (bounded); default: in the data directory.
    spool_path: Path | None = None
    spool_max_points: Annotated[int, Field(ge=1000)] = 2_000_000
    batch_size: Annotated[int, Field(ge=1, le=50_000)] = 1000
    flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value == "" else value


class GrafanaSettings(Section):
    """Grafana for incident annotations (a service-account token); absent URL: none sent."""

    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] | None = None
    token: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        # docker compose passes an unset ${VAR:-} as an empty string.
        return None if value == "" else value


LOCAL_PUBLIC_URL = "http://127.0.0.1:8080"
"""Where acknowledgement links point in local mode unless KENTONGAN_RESPONDERS__PUBLIC_URL."""


class Settings(BaseSettings):
    """Everything the cloud service reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="KENTONGAN_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mode: Literal["local", "production"] = "local"
    config_dir: Path = Path("firmware_configs")
    data_dir: Path = Path("var")
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # Residents' names and phone numbers are erased after this many days (UU PDP).
    retention_days: Annotated[float, Field(gt=0, le=3650)] = 90.0
    mqtt: MqttSettings = MqttSettings()
    database: DatabaseSettings = DatabaseSettings()
    intake: IntakeSettings = IntakeSettings()
    fleet: FleetSettings = FleetSettings()
    outbox: OutboxSettings = OutboxSettings()
    api: ApiSettings = ApiSettings()
    influx: InfluxSettings = InfluxSettings()
    grafana: GrafanaSettings = GrafanaSettings()
    # Notifications to responders. Local mode: on by default, links to LOCAL_PUBLIC_URL and
    # a placeholder link secret; production: on when KENTONGAN_RESPONDERS__PUBLIC_URL and
    # KENTONGAN_RESPONDERS__ACK_SECRET (32+ random characters) are set.
    responders: ResponderSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _local_responders(cls, data: object) -> object:
        if not isinstance(data, dict) or data.get("mode", "local") != "local":
            return data
        section = data.get("responders")
        if section is None:
            section = {}
        if isinstance(section, dict):
            section = {
                "public_url": LOCAL_PUBLIC_URL,
                "ack_secret": PLACEHOLDER_SECRET,
                "local_mode": True,
            } | section
        return data | {"responders": section}

    @model_validator(mode="after")
    def _no_placeholder_in_production(self) -> Settings:
        if self.mode != "production":
            return self
        if self.responders is not None and self.responders.local_mode:
            msg = "KENTONGAN_RESPONDERS__LOCAL_MODE is for local mode only"
            raise ValueError(msg)
        secrets = {
            "KENTONGAN_SECRET_KEY": self.secret_key,
            "KENTONGAN_MQTT__PASSWORD": self.mqtt.password,
        }
        if self.influx.url:
            secrets["KENTONGAN_INFLUX__TOKEN"] = self.influx.token
        if self.grafana.url:
            secrets["KENTONGAN_GRAFANA__TOKEN"] = self.grafana.token
        if self.responders is not None:
            secrets["KENTONGAN_RESPONDERS__ACK_SECRET"] = self.responders.ack_secret
        for env, value in secrets.items():
            raw = value.get_secret_value()
            if raw == PLACEHOLDER_SECRET or len(raw) < 12 or raw.startswith(EXAMPLE_PREFIX):
                msg = f"{env} is a placeholder or shorter than 12 characters; set a real secret"
                raise ValueError(msg)
        return self

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{self.data_dir / 'kentongan.db'}"

    @property
    def cookie_secure(self) -> bool:
        if self.api.cookie_secure is not None:
            return self.api.cookie_secure
        return self.mode == "production"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = "__".join(str(p) for p in err["loc"]).upper()
            lines.append(f"KENTONGAN_{where}: {err['msg']}" if where else err["msg"])
        msg = "invalid settings: " + "; ".join(lines)
        raise ConfigError(msg) from exc
