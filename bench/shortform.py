"""How well realistic reports fit the short form (one SMS, one LoRa packet, one read-out).

    .venv/bin/python bench/shortform.py            # table
    .venv/bin/python bench/shortform.py --json

Reports: the demo scenario's (``noodnet.scenario.events`` for all its NSPs, without the
repeated status heartbeats' copies counted twice: every event is one report) and the
labelled grouping benchmark data (``bench/data/*.jsonl``). Each is turned into its short
form with a 4-character NSP code and a 4-digit sequence number (a long-running NSP; both
make the head longer, so the numbers are on the safe side).

Columns, per source and kind:

* ``whole SMS`` — share whose short form carries every field and the whole description
  (nothing cut) within one SMS (160 GSM-7 characters). The short form itself is always one
  SMS: what does not fit is cut and marked '..'.
* ``whole LoRa`` — the same within one LoRa packet (200 bytes): the share that would be
  whole if the form used a packet's full size (the canonical form stays at 160, so one
  text works on every channel).
* ``desc median`` — median length of the canonical description (or note) before cutting,
  ``kept median`` — median characters of it in the short form, ``kept %`` — median share.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noodnet.scenario import NSPS, events
from schemas import shortform as sf

DATA = Path(__file__).resolve().parent / "data"
CODE = "OSRW"
SEQ = 1234


def scenario_reports() -> Iterator[tuple[str, dict[str, Any]]]:
    for ev in events(len(NSPS)):
        yield ev.kind, ev.body


def jsonl_reports(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open() as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                yield rec["kind"], rec["body"]


def _text_of(kind: str, body: dict[str, Any]) -> str:
    raw = body.get("description") if kind in ("help_request", "situation_report") else None
    return sf.canonical_text(raw or body.get("note") or "")


def measure(reports: Iterator[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    rows: dict[str, list[tuple[bool, bool, int, int]]] = {}
    for kind, body in reports:
        if kind not in sf.KIND_CODES:
            continue
        full = _text_of(kind, body)
        sms = sf.to_short(kind, body, CODE, SEQ)
        lora = sf.to_short(kind, body, CODE, SEQ, max_chars=sf.LORA_MAX_BYTES)
        text = sf.encode(sms)
        assert sf.decode(text) == sms
        assert len(text) <= sf.MAX_CHARS and len(text.encode("ascii")) <= sf.LORA_MAX_BYTES

        item = sf.canonical_text(body["item"]) if "item" in body else None

        def whole(r: sf.ShortReport, item: str | None = item) -> bool:
            return not r.text_truncated and not r.address_truncated and r.item == item

        kept = len(sms.text.removesuffix(sf.TRUNCATED))
        for key in (kind, "all"):
            rows.setdefault(key, []).append((whole(sms), whole(lora), len(full), kept))
    out: dict[str, dict[str, Any]] = {}
    for key, items in rows.items():
        n = len(items)
        with_text = [(f, k) for _, _, f, k in items if f > 0]
        out[key] = {
            "n": n,
            "whole_sms": sum(s for s, _, _, _ in items) / n,
            "whole_lora": sum(lo for _, lo, _, _ in items) / n,
            "desc_median": statistics.median(f for f, _ in with_text) if with_text else 0,
            "kept_median": statistics.median(k for _, k in with_text) if with_text else 0,
            "kept_share_median": (
                statistics.median(k / f for f, k in with_text) if with_text else 1.0
            ),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    sources = {"demo scenario": measure(scenario_reports())}
    for path in sorted(DATA.glob("*.jsonl")):
        sources[path.name] = measure(jsonl_reports(path))
    if args.json:
        print(json.dumps(sources, indent=2))
        return 0
    header = (
        f"{'source':<24}{'kind':<18}{'n':>5}{'whole SMS':>11}{'whole LoRa':>12}"
        f"{'desc median':>13}{'kept median':>13}{'kept %':>8}"
    )
    print(header)
    print("-" * len(header))
    for source, kinds in sources.items():
        for kind in [*sorted(k for k in kinds if k != "all"), "all"]:
            m = kinds[kind]
            print(
                f"{source:<24}{kind:<18}{m['n']:>5}{m['whole_sms']:>10.0%} {m['whole_lora']:>11.0%}"
                f"{m['desc_median']:>13.0f}{m['kept_median']:>13.0f}"
                f"{m['kept_share_median']:>8.0%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
