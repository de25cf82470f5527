"""Generate the committed JSON Schema files from the models: ``python -m schemas.generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.envelope import (
    DOWN_ADAPTER,
    UP_ADAPTER,
    UP_MESSAGE_TYPES,
    AckBatchMessage,
    AckMessage,
    AssignmentMessage,
    BulletinMessage,
    FacilitiesMessage,
    Presence,
    RationRulesMessage,
    ResendMessage,
    TaskMessage,
)
from schemas.upstream import UPSTREAM_ADAPTER, SummaryUpstream, UrgentItemUpstream

OUT_DIR = Path(__file__).parent / "json"

# The upward kinds are envelope.UP_MESSAGE_TYPES (one list: a new kind gets its schema file
# by being parseable), then the downward messages, presence and the upstream ones.
MODELS: dict[str, type[BaseModel]] = {
    **UP_MESSAGE_TYPES,
    "ack": AckMessage,
    "ack_batch": AckBatchMessage,
    "bulletin": BulletinMessage,
    "task": TaskMessage,
    "resend": ResendMessage,
    "facilities": FacilitiesMessage,
    "assignment": AssignmentMessage,
    "ration_rules": RationRulesMessage,
    "presence": Presence,
    "summary": SummaryUpstream,
    "p1_item": UrgentItemUpstream,
}


def render() -> dict[str, str]:
    """File name → JSON text for every schema."""
    out: dict[str, str] = {}
    docs: dict[str, dict[str, Any]] = {
        name: model.model_json_schema() for name, model in MODELS.items()
    }
    adapters: dict[str, TypeAdapter[Any]] = {
        "up": UP_ADAPTER,
        "down": DOWN_ADAPTER,
        "upstream": UPSTREAM_ADAPTER,
    }
    for name, adapter in adapters.items():
        docs[name] = adapter.json_schema()
    for name, doc in docs.items():
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"noodnet/v1/{name}.schema.json",
            **doc,
        }
        out[f"{name}.schema.json"] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    check = "--check" in args
    OUT_DIR.mkdir(exist_ok=True)
    stale = []
    for fname, text in render().items():
        path = OUT_DIR / fname
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(fname)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale JSON Schema files (run python -m schemas.generate):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
