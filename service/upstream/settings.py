"""Settings of the path upward: summaries, the forwarder and its upstream peers.

Read from the same ``NOODNET_*`` environment as ``ServiceSettings``; kept in their own class so
this feature's knobs live next to its code.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Where a Noodnet region instance accepts items; appended to an upstream URL without a path.
REGION_ITEMS_PATH = "/api/v1/region/items"


class UpstreamSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOODNET_", extra="ignore")

    upstream_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated upstream URLs (region or crisis system). A URL without a "
        f"path gets {REGION_ITEMS_PATH}. Empty: nothing is forwarded, summaries are still made.",
    )
    upstream_token: SecretStr | None = Field(
        default=None,
        description="Bearer token with role 'cp', issued by the upstream (region) service; "
        "sent with every forwarded item.",
    )
    upstream_timeout_seconds: float = Field(default=10, gt=0, le=300)
    upstream_retry_base_seconds: float = Field(
        default=1, gt=0, le=3600, description="First retry delay; doubles per failed attempt."
    )
    upstream_retry_max_seconds: float = Field(
        default=300, gt=0, le=86_400, description="Longest delay between two attempts."
    )
    upstream_give_up_seconds: float = Field(
        default=48 * 3600,
        gt=0,
        description="An item still failing this long after it was queued (or retried by an "
        "operator) goes to the upstream dead letters.",
    )
    upstream_coalesce_summaries: bool = Field(
        default=True,
        description="Send only the newest of several waiting summaries; older ones are kept "
        "and marked superseded.",
    )
    upstream_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often the forwarder looks for new items."
    )
    summary_interval_seconds: float = Field(
        default=300,
        ge=0,
        description="Scheduled summary every this many seconds; 0 = only on change and on request.",
    )
    summary_min_interval_seconds: float = Field(
        default=2,
        ge=0,
        description="A change makes a summary at once, but during a burst (many P1s) at most "
        "one per this many seconds, carrying every trigger since.",
    )
    watch_interval_seconds: float = Field(
        default=5, gt=0, le=3600, description="How often NSPs are checked for going silent."
    )
    low_power_hours: float = Field(
        default=4, ge=0, description="An NSP off grid with fewer hours of power left is low."
    )
    summary_max_items: int = Field(
        default=50, ge=1, le=1000, description="Open items and resource needs per summary."
    )
    information_window_hours: float = Field(
        default=24, gt=0, description="Questions and rumours from this window are counted."
    )

    @field_validator("upstream_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @field_validator("upstream_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        out = []
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an http(s) URL: {url!r}")
            if parts.path in ("", "/"):
                url = url.rstrip("/") + REGION_ITEMS_PATH
            out.append(url)
        if len(set(out)) != len(out):
            raise ValueError("an upstream URL is listed twice")
        return out
