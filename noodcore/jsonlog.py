"""Structured logs: one JSON object per line (``NOODNET_LOG_FORMAT=json``), and the message id
and NSP id on every line that concerns a message.

Invariant: a line about a message carries ``message_id`` and ``nsp_id`` as fields, whether the
code passed them (``log.info(..., extra={"nsp_id": n})``) or a caller set them for a stretch of
work (``with log_context(message_id=m, nsp_id=n): ...``, a contextvar, so threads and asyncio
tasks each keep their own). A log collector can then follow one report through gateway and CP
by its id. The text format stays the default for a person reading a terminal; it shows the ids
too, at the end of the line, when there are any.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# Never mutated: log_context sets a new dict, so the shared empty default stays empty.
_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "noodnet_log_context", default=_EMPTY
)
FIELDS = ("message_id", "nsp_id")
# Ids true for the whole process (a gateway serves one NSP): on every line of every thread.
_process: dict[str, str] = {}


def set_process_ids(**ids: str) -> None:
    """E.g. ``set_process_ids(nsp_id=...)`` in a gateway: every line names its NSP."""
    _process.update({k: v for k, v in ids.items() if k in FIELDS and v})


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Put ``message_id`` / ``nsp_id`` on every log line inside the block."""
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise ValueError(f"log_context takes {', '.join(FIELDS)}, not {sorted(unknown)}")
    merged = {**_context.get(), **{k: v for k, v in ids.items() if v}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the context's ids onto each record (an explicit ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in {**_process, **_context.get()}.items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        for key in FIELDS:
            if not hasattr(record, key):
                setattr(record, key, None)
        ids = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k))
        record.ids = f" [{ids}]" if ids else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s%(ids)s"


def install(fmt: str = "text", root: logging.Logger | None = None) -> None:
    """Give the root logger's handlers the context filter and the chosen format."""
    root = root or logging.getLogger()
    bad = fmt not in ("text", "json")
    for handler in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    if bad:
        # A typo in the configuration must not keep a gateway from starting.
        logging.getLogger(__name__).error(
            "NOODNET_LOG_FORMAT=%r is not 'text' or 'json'; logging as text", fmt
        )
