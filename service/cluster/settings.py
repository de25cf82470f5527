"""Settings of a CP process that shares its database with other CP processes."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.common import ID_PATTERN


def _default_instance() -> str:
    host = socket.gethostname().lower()
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in host).strip("-_")
    return (cleaned or "cp")[:40]


class ClusterSettings(BaseSettings):
    """Standby and shared-subscription settings (``NOODNET_*``); all off by default: one CP
    process per database, as before."""

    model_config = SettingsConfigDict(env_prefix="NOODNET_", extra="ignore")

    ha_leader_lock: bool = Field(
        default=False,
        description="Run the single-active workers (MQTT subscription, upstream forwarder, "
        "schedulers) only while holding the CP's PostgreSQL advisory lock: a second process "
        "with this set waits as a standby and takes over when the active one dies. No effect "
        "on SQLite (there is no standby there).",
    )
    ha_check_seconds: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="How often a standby tries the lock, and the active checks its lock "
        "connection (takeover time is at most about this plus the database noticing the "
        "dead session).",
    )
    ingest_shared: bool = Field(
        default=False,
        description="Every process runs ingest behind an MQTT 5 shared subscription "
        "($share/<group>/...); needs PostgreSQL and MQTT 5. The other single-active workers "
        "still run in the lock holder only.",
    )
    ingest_shared_group: str = Field(
        default="noodnet-cp", pattern=ID_PATTERN, description="Shared subscription group name."
    )
    instance_id: str = Field(
        default_factory=_default_instance,
        pattern=ID_PATTERN,
        description="Name of this process among the CP's processes: suffix of its MQTT client "
        "id in shared mode (stable across restarts, so the broker keeps its session). "
        "Default: the host name.",
    )
