"""Logging set-up shared by every command (stdlib logging, one line per event)."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("NOODNET_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # NOODNET_LOG_FORMAT=json: one JSON object per line, with message_id/nsp_id (noodnet/jsonlog.py)
    from noodcore.jsonlog import install

    install(os.environ.get("NOODNET_LOG_FORMAT", "text").lower())
    # paho logs every reconnect attempt at DEBUG only; keep uvicorn's access log readable.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
