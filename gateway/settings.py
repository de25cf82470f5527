"""Configuration of one NSP gateway, read from ``NOODNET_*`` environment variables.

Nothing is read at import time: the environment is consulted when ``GatewaySettings()`` is
instantiated, so tests and the CLI can build settings explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from noodcore.httpserve import HttpServerSettings
from noodcore.mqttconf import BrokerAddress, MqttProtocol, parse_brokers, private_client_id
from noodcore.pagelang import known_timezone
from schemas.bodies import NspFunction
from schemas.common import ID_PATTERN

DEFAULT_DB_PATH = Path("var/gateway-{nsp_id}.db")


class GatewaySettings(HttpServerSettings):
    """Settings of the gateway at one noodsteunpunt (NSP)."""

    model_config = SettingsConfigDict(
        env_prefix="NOODNET_", env_ignore_empty=True, str_strip_whitespace=True
    )

    nsp_id: str = Field(
        pattern=ID_PATTERN,
        description=(
            "Id of this noodsteunpunt as agreed with the CP, e.g. 'oss-de-lievekamp'. "
            "Lowercase letters, digits, '-' and '_'; it appears in MQTT topics."
        ),
    )
    cp_id: str = Field(
        pattern=ID_PATTERN,
        description="Id of the coordination point (CP) this NSP reports to, e.g. 'cp-oss'.",
    )
    db_path: Path = Field(
        default=DEFAULT_DB_PATH,
        description=(
            "SQLite file holding the outbox and received bulletins/tasks. Put it on storage "
            "that survives reboots. '{nsp_id}' is replaced by the NSP id."
        ),
    )
    mqtt_host: str = Field(
        default="127.0.0.1", min_length=1, description="Host name or IP of the CP's broker."
    )
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="TCP port of the broker.")
    mqtt_brokers: str | None = Field(
        default=None,
        description="Brokers in failover order, 'host1:port,host2:port' (e.g. the CP site's, "
        "then the standby site's). When set it replaces mqtt_host/mqtt_port; when the current "
        "broker cannot be reached the gateway tries the next, with backoff.",
    )
    mqtt_username: str | None = Field(
        default=None,
        min_length=1,
        description="Broker user name; empty means the NSP id (what the broker ACLs expect).",
    )
    mqtt_password: SecretStr | None = Field(
        default=None, description="Broker password for this NSP; empty for an open test broker."
    )
    mqtt_protocol: MqttProtocol = Field(
        default=MqttProtocol.V5,
        description="MQTT protocol version: 5 (production) or 3.1.1 (demo fallback broker).",
    )
    mqtt_tls: bool = Field(
        default=False,
        description="Connect to the broker over TLS (on by itself when mqtt_ca_file is set).",
    )
    mqtt_ca_file: Path | None = Field(
        default=None, description="CA certificate(s) that signed the CP broker's certificate."
    )
    mqtt_cert_file: Path | None = Field(
        default=None, description="This NSP's client certificate, when the broker requires one."
    )
    mqtt_key_file: Path | None = Field(
        default=None, description="Key of this NSP's client certificate (keep it 0600)."
    )
    mqtt_keepalive: int = Field(
        default=30,
        ge=5,
        le=65535,
        description=(
            "Seconds between MQTT keepalive pings; also how fast a dead link is noticed and "
            "how soon the broker announces this NSP offline (about 1.5x this value)."
        ),
    )
    http_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address for the local web form and info board; 0.0.0.0 for the NSP Wi-Fi.",
    )
    http_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of the local web API (0: any free port)."
    )
    http_max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Larger HTTP request bodies get 413."
    )
    health_min_free_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="/healthz answers 503 when less than this is free on the database's "
        "file system (reports could soon not be saved).",
    )
    health_write_probe_seconds: float = Field(
        default=30,
        gt=0,
        description="/healthz commits a tiny write at most this often to find out whether "
        "the database still accepts writes.",
    )
    transfer_key: SecretStr | None = Field(
        default=None,
        description="This NSP's key for USB-stick files ('<key id>:<secret>'), from "
        "'noodnet provision nsp'; without it the USB export/import is off (docs/fallback.md).",
    )
    short_code: str | None = Field(
        default=None,
        pattern=r"^[A-Z][A-Z0-9]{1,5}$",
        description="This NSP's short code for radio and SMS, from 'noodnet provision nsp'.",
    )
    relay_after_seconds: float = Field(
        default=120,
        gt=0,
        le=86400,
        description="Show the 'Doorgeven via portofoon' card for an urgent report the CP has "
        "not acknowledged this many seconds after it was made, or as soon as the link has been "
        "down this long (docs/fallback.md).",
    )
    relay_urgencies: str = Field(
        default="P1",
        pattern=r"^(P1|P1,P2|P2,P1)$",
        description="Which urgencies get the radio card: 'P1' or 'P1,P2'.",
    )
    public_board: bool = Field(
        default=False,
        description="Residents' devices may read the bulletins without a token (the info "
        "board); everything else still needs an nsp-staff token.",
    )
    heartbeat_seconds: float = Field(
        default=300,
        gt=0,
        description="Seconds between automatic status heartbeats to the CP.",
    )
    resend_after_seconds: float = Field(
        default=30,
        gt=0,
        description=(
            "While connected, send a report again when the CP has not confirmed it within "
            "this many seconds (the CP ignores copies it already has)."
        ),
    )
    reconnect_min_seconds: float = Field(
        default=1, gt=0, description="First wait before reconnecting to a lost broker."
    )
    reconnect_max_seconds: float = Field(
        default=60,
        gt=0,
        description="Longest wait between reconnect attempts (the wait doubles up to this).",
    )
    clock_offset_seconds: float = Field(
        default=0,
        ge=-366 * 24 * 3600,
        le=366 * 24 * 3600,
        description=(
            "For drills and tests only; 0 in production. Added to this gateway's clock where "
            "it stamps messages (the envelope's sent_at), e.g. -3600 plays a gateway whose "
            "clock is an hour behind: the CP shows the skew, nothing else may change."
        ),
    )
    language: Literal["nl", "en"] = Field(
        default="nl", description="Language of texts shown to staff and residents: nl or en."
    )

    display_name: str | None = Field(
        default=None,
        max_length=120,
        description="Name of the NSP shown on the info board, e.g. 'Bibliotheek Oss'.",
    )
    position_lat: float | None = Field(
        default=None,
        ge=-90,
        le=90,
        description="WGS84 latitude of this NSP: the board lists the nearest facilities from "
        "here (empty: the position the CP registered for this NSP).",
    )
    position_lon: float | None = Field(
        default=None, ge=-180, le=180, description="WGS84 longitude of this NSP."
    )
    address: str | None = Field(
        default=None,
        max_length=200,
        description="Address of the NSP shown on the board, the staff screens and the A4 "
        "printout, e.g. 'Kerkstraat 12, 5341 AB Oss'.",
    )
    opening_hours: str | None = Field(
        default=None,
        max_length=200,
        description="Opening hours shown to residents on the board, e.g. 'elke dag 08:00–22:00' "
        "(one line, written as residents should read it).",
    )
    offers: str | None = Field(
        default=None,
        description="What this NSP offers residents, as function codes (information, "
        "help_requests, neighbourhood_signals, citizen_aid, goods_distribution, "
        "shelter_referral), comma-separated. Empty: what staff last reported in the status "
        "form, else information and help_requests (every NSP's minimum).",
    )
    timezone: str = Field(
        default="Europe/Amsterdam",
        description="Time zone for times on the info board and staff screens (IANA name).",
    )

    @field_validator("offers")
    @classmethod
    def _known_offers(cls, value: str | None) -> str | None:
        # NOODNET_OFFERS=information,help_requests reads better than a JSON list in an env file.
        if value is None:
            return None
        known = {f.value for f in NspFunction}
        parts = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [p for p in parts if p not in known]
        if unknown:
            raise ValueError(
                f"unknown function(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
            )
        return ",".join(parts) or None

    @property
    def offer_list(self) -> list[NspFunction] | None:
        return [NspFunction(p) for p in self.offers.split(",")] if self.offers else None

    @property
    def nsp_name(self) -> str:
        """How pages name this NSP: the display name, else its id (never just 'Noodsteunpunt')."""
        return self.display_name or self.nsp_id

    @field_validator("display_name", "address", "opening_hours")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError(
                "must be one line of plain text (no line breaks or control characters)"
            )
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @model_validator(mode="after")
    def _resolve(self) -> GatewaySettings:
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError(
                f"reconnect_max_seconds ({self.reconnect_max_seconds}) must not be smaller "
                f"than reconnect_min_seconds ({self.reconnect_min_seconds})"
            )
        if (self.position_lat is None) != (self.position_lon is None):
            raise ValueError("position_lat and position_lon must be given together")
        if self.mqtt_brokers is not None:
            try:
                parse_brokers(self.mqtt_brokers, self.mqtt_port)
            except ValueError as exc:
                raise ValueError(f"mqtt_brokers: {exc}") from None
        # The placeholder lets one env file or default serve every NSP.
        resolved = Path(str(self.db_path).replace("{nsp_id}", self.nsp_id)).expanduser()
        self.db_path = resolved
        return self

    @property
    def position(self) -> tuple[float, float] | None:
        if self.position_lat is None or self.position_lon is None:
            return None
        return self.position_lat, self.position_lon

    @property
    def brokers(self) -> list[BrokerAddress]:
        """The brokers in failover order (one: mqtt_host:mqtt_port)."""
        if self.mqtt_brokers:
            return parse_brokers(self.mqtt_brokers, self.mqtt_port)
        return [BrokerAddress(self.mqtt_host, self.mqtt_port)]

    @property
    def broker_username(self) -> str:
        """The user name sent to the broker: the configured one, else the NSP id."""
        return self.mqtt_username or self.nsp_id

    @property
    def mqtt_use_tls(self) -> bool:
        return self.mqtt_tls or self.mqtt_ca_file is not None

    @property
    def client_id(self) -> str:
        """Not guessable without the password (noodcore.mqttconf); the production broker
        replaces it with the username."""
        password = self.mqtt_password.get_secret_value() if self.mqtt_password else None
        return private_client_id(f"gw-{self.nsp_id}", password)
