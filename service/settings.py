"""CP service configuration: flags and ``NOODNET_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from noodcore.httpserve import HttpServerSettings
from noodcore.mqttconf import BrokerAddress, MqttProtocol, parse_brokers, private_client_id
from noodcore.pagelang import known_timezone
from schemas.common import ID_PATTERN


class Role(StrEnum):
    CP = "cp"
    REGION = "region"


class ServiceSettings(HttpServerSettings):
    """Settings of one CP (or region) service instance."""

    model_config = SettingsConfigDict(env_prefix="NOODNET_", extra="ignore")

    role: Role = Field(default=Role.CP, description="'cp' serves NSPs; 'region' aggregates CPs.")
    cp_id: str = Field(
        default="cp-demo", pattern=ID_PATTERN, description="Id of this coordination point."
    )
    database_url: str = Field(
        default="sqlite:///var/noodnet-cp.db",
        description="SQLAlchemy URL. SQLite (WAL) by default; "
        "PostgreSQL in production: postgresql+psycopg://user@host/db",
    )
    mqtt_enabled: bool = Field(default=True, description="Connect to the CP's MQTT broker.")
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    mqtt_brokers: str | None = Field(
        default=None,
        description="Brokers in failover order, 'host1:port,host2:port' (this site's, then "
        "the other site's); replaces mqtt_host/mqtt_port when set. See deploy/standby.md.",
    )
    mqtt_username: str | None = Field(default=None, description="Broker username of the service.")
    mqtt_password: str | None = Field(default=None, description="Broker password of the service.")
    mqtt_client_id: str | None = Field(
        default=None,
        description="MQTT client id; fixed per instance so the broker keeps its session "
        "(default: noodnet-cp-{cp_id}, plus a suffix derived from the broker password so it "
        "cannot be guessed). The production broker replaces it with the username anyway.",
    )
    mqtt_protocol: MqttProtocol = Field(
        default=MqttProtocol.V5,
        description="MQTT protocol version: 5 (production) or 3.1.1 (demo fallback broker).",
    )
    mqtt_keepalive: int = Field(default=30, ge=5, le=3600)
    mqtt_tls: bool = Field(
        default=False,
        description="Connect to the broker over TLS (on by itself when mqtt_ca_file is set).",
    )
    mqtt_ca_file: Path | None = Field(
        default=None, description="CA certificate(s) that signed the broker's certificate."
    )
    mqtt_cert_file: Path | None = Field(
        default=None, description="Client certificate, when the broker requires one."
    )
    mqtt_key_file: Path | None = Field(default=None, description="Key of the client certificate.")
    mqtt_session_expiry_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How long the broker queues messages for the service while it is down.",
    )
    max_payload_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Larger MQTT/HTTP messages are dead-lettered."
    )
    ingest_batch_size: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="Messages committed per transaction (at most; a batch takes what is queued).",
    )
    ingest_batch_target_ms: float = Field(
        default=300,
        ge=0,
        le=10_000,
        description="A batch takes no more messages than the worker stores in this time at "
        "its measured rate (a P1 arriving meanwhile waits for the batch); 0 = count only.",
    )
    ingest_batch_wait_ms: float = Field(
        default=20, ge=0, le=5000, description="How long to wait to fill a batch."
    )
    silent_after_seconds: int = Field(
        default=900, ge=30, description="An NSP not heard from for this long counts as silent."
    )
    bulletin_stale_after_seconds: int = Field(
        default=1800,
        ge=10,
        description="A targeted NSP still without the current bulletin version after this "
        "long is flagged stale in the reach view.",
    )
    sms_inbox_dir: Path | None = Field(
        default=None,
        description="gammu-smsd's inbox directory (files service, inboxformat=standard): "
        "each received SMS holding a short form is entered like a radio relay, channel 'sms' "
        "(docs/fallback.md). Unset: no SMS.",
    )
    task_resend_seconds: float = Field(
        default=300,
        gt=0,
        description="Send a task again to an online NSP that has not confirmed it after this long.",
    )
    cap_sender: str | None = Field(
        default=None,
        pattern=r"^[^\s,<&]+$",
        description="CAP <sender> of exported alerts (default: urn:noodnet:{cp_id}).",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(
        default=8080, ge=0, le=65535, description="HTTP API port (0: any free port)."
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Larger HTTP request bodies get 413."
    )
    auth_anonymous_read: bool = Field(
        default=False,
        description="Requests without a token may read what the viewer role may read "
        "(for the demo or a closed crisis-room network). Writes always need a token.",
    )
    basemap_mbtiles: str | None = Field(
        default=None,
        description="Path of an MBTiles file (raster tiles: png, jpg or webp) the region "
        "provides; the dashboard shows it under its map. Without it: the built-in sketch.",
    )
    auth_token_days: float = Field(
        default=90, gt=0, le=3660, description="Default lifetime of a new API token, in days."
    )
    rate_limit_per_second: float = Field(
        default=2.0,
        ge=0,
        description="Messages per second one NSP may send at full priority (0 = no limit).",
    )
    rate_limit_burst: int = Field(
        default=600,
        ge=1,
        description="Messages one NSP may send at once at full priority (a reconnect backlog).",
    )
    rate_limit_park_max: int = Field(
        default=500,
        ge=1,
        description="Messages of one NSP parked over its limit before further ones are "
        "deferred (the gateway sends them again).",
    )
    rate_limit_overflow_batch: int = Field(
        default=20, ge=1, description="Parked messages stored per ingest batch at most."
    )
    timezone: str = Field(
        default="Europe/Amsterdam",
        description="Time zone for every time the console and the dashboard show (IANA name); "
        "the same as the gateways', so a board and the crisis room read the same clock.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @model_validator(mode="after")
    def _check_brokers(self) -> ServiceSettings:
        if self.mqtt_brokers is not None:
            try:
                parse_brokers(self.mqtt_brokers, self.mqtt_port)
            except ValueError as exc:
                raise ValueError(f"mqtt_brokers: {exc}") from None
        return self

    @property
    def brokers(self) -> list[BrokerAddress]:
        """The brokers in failover order (one: mqtt_host:mqtt_port)."""
        if self.mqtt_brokers:
            return parse_brokers(self.mqtt_brokers, self.mqtt_port)
        return [BrokerAddress(self.mqtt_host, self.mqtt_port)]

    @property
    def mqtt_use_tls(self) -> bool:
        return self.mqtt_tls or self.mqtt_ca_file is not None

    @property
    def cap_sender_id(self) -> str:
        return self.cap_sender or f"urn:noodnet:{self.cp_id}"

    @property
    def client_id(self) -> str:
        return self.mqtt_client_id or private_client_id(
            f"noodnet-cp-{self.cp_id}", self.mqtt_password
        )
