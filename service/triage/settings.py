"""Triage thresholds and weights: configuration (``NOODNET_TRIAGE_*``), with tested defaults.

The grouping defaults were tuned on data sets generated with seeds 10-19 by
bench/gen_dedup_data.py and on the tuning half of the blind evaluation set
(bench/data/blind/*/tune.jsonl), and checked on the committed ``bench/data/dedup_oss*.jsonl``
(seeds 1 and 2) and the blind set's held-out half (bench/dedup_quality.py, docs/triage.md).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOODNET_TRIAGE_", extra="ignore")

    # -- grouping ------------------------------------------------------------------------
    grouping: bool = Field(
        default=True,
        description="Place reports in incidents at ingest. Off only to measure what grouping "
        "costs (bench/ingest.py); a CP needs it on, or reports get no queue item.",
    )
    grouping_process: bool = Field(
        # On since 2026-12-04: a reconnect backlog on PostgreSQL kept a new P1 waiting more
        # than 2 s with grouping at ingest (bench/backlog.py), and one core cannot group a
        # dense backlog as fast as the broker delivers it (bench/ingest.py); docs/scaling.md.
        default=True,
        description="Group in a process of its own, after the ack (service/triage/grouper.py): "
        "ingest stores, forwards P1s upward and acks without waiting for grouping, and the "
        "second CPU core groups, P1s first. A report shows in the queue when it is grouped "
        "(normally within a second; readyz, the console banner and the metrics show how many "
        "wait). false: group inside the ingest transaction (one process, one core).",
    )
    grouping_batch: int = Field(
        default=500,
        ge=1,
        le=5000,
        description="Reports the grouping process places per transaction at most.",
    )
    grouping_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="How often the grouping process looks for queued reports when nobody "
        "woke it (another ingest process of a shared subscription queued them).",
    )
    radius_m: float = Field(
        # Two map picks of one spot are each some tens of metres off, so they lie well
        # within 150 m of each other; further apart, two reports in a town centre are about
        # different houses. 300 m let the same kind of incident two streets away group.
        default=200,
        gt=0,
        le=300,
        description="Reports with coordinates further apart than this are different incidents.",
    )
    window_minutes: float = Field(
        default=120,
        gt=0,
        le=24 * 60,
        description="A report joins an incident only if a member report came in this close "
        "in time (CP receive time), so the same place hours later is a new incident.",
    )
    area_window_minutes: float = Field(
        # A question or rumour comes back all day, from every NSP, and the information desk
        # gives one answer a day (a bulletin): the same topic on the same local day is one
        # item (see area_zone); the next day it is news again.
        default=24 * 60,
        gt=0,
        le=24 * 60,
        description="The window for area-wide signals (rumours, information needs, public "
        "mood): the same question or rumour again within this time and on the same local "
        "day (area_zone) is the same item.",
    )
    area_zone: str = Field(
        default="Europe/Amsterdam",
        description="The time zone whose calendar day bounds an area-wide item.",
    )
    match_threshold: float = Field(
        default=0.62,
        ge=0,
        le=1,
        description="Minimum combined location/text score to join an incident.",
    )
    link_threshold: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="A report that also matches a second open item this well, and names its "
        "street and house number, links the two as possible duplicates (for the operator to "
        "merge).",
    )
    location_weight: float = Field(default=0.6, ge=0, le=1, description="Rest is text weight.")
    min_location_score: float = Field(
        default=0.45, ge=0, le=1, description="Below this, locations say 'different place'."
    )
    min_text_score: float = Field(
        default=0.45, ge=0, le=1, description="Below this, descriptions say 'something else'."
    )
    min_text_score_same_address: float = Field(
        default=0.2, ge=0, le=1, description="min_text_score for the same street and number."
    )
    at_nsp_location_score: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="The location score of two reports of one NSP that both give the NSP's "
        "own address (or no other place): near, never the same address, so the text "
        "must agree as for any other nearby pair.",
    )
    area_topic_score: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="The match score of two area-wide signals (questions, rumours, public "
        "mood) about the same topic; it ranks them among other candidates.",
    )
    unknown_location_text_score: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Without comparable locations (area-wide reports) only this text "
        "similarity groups reports.",
    )

    gazetteer_dir: str | None = Field(
        default=None,
        description="A directory with gazetteer_addresses.csv (and gazetteer_places.csv) "
        "imported at start when the CP database holds no gazetteer yet (a region normally "
        "loads its own with `noodnet gazetteer import`; this is for demos and benchmarks).",
    )

    # -- priority ------------------------------------------------------------------------
    aging_points_per_hour: float = Field(
        default=250,
        ge=0,
        description="Waiting time raises the score by this much per hour, so nothing starves "
        "(a class step is 1000 points: a P3 item waiting 4 hours ranks like a fresh P2).",
    )
    fuel_hours_threshold: float = Field(
        default=2,
        ge=0,
        description="An NSP on generator or battery with fewer hours of power left raises "
        "its resource requests.",
    )

    # -- state acks to the gateways----------------------------------------------------------------
    ack_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often queued state acks are looked for."
    )
