"""The registry of upward kinds: for each kind its message model, the ingest handlers that
process it and what it causes downward. Adding a kind is one entry here (and its schema);
``tests/test_ingest_isolation.py`` fails when a kind in ``schemas.UP_KINDS`` has no entry, or
an entry names a handler the CP does not install.

Invariants:

* Every stored message is handled by ``store`` (the message row and its NSP's state); the
  batch hooks named in its entry see it, no others. A hook that is not in ``HOOK_NAMES`` (a
  new one nobody registered) sees every kind, so forgetting the registry never loses data.
* ``critical`` messages (P1 help and resource requests) are never dead-lettered because a
  hook failed: they are stored without that hook, and the hook's ``FALLBACKS`` entry (if
  any) puts them in the queue another way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from schemas import UP_MESSAGE_TYPES

if TYPE_CHECKING:  # service.store runs hooks through this module
    from service.store import Accepted, BatchHook, PresenceSeen

# Hooks by short name: the name a dead letter's step and the registry use ("hook:grouping").
# Keys are the hooks' qualified names (a class for callable objects, else the function).
HOOK_NAMES = {
    "ThrottleRecorder": "throttle",
    "GroupingHook": "grouping",
    "record_receipts": "receipts",
    "record_task_updates": "task_updates",
    "record_facility_receipts": "facility_receipts",
    "record_facility_reports": "facility_reports",
    "UpstreamChanges.ingest_hook": "upstream",
    "record_aid": "aid",
    "record_goods": "goods",
}
# Hooks that work on the batch as a whole (counters), not on its messages.
BATCH_HOOKS = frozenset({"throttle"})


def hook_name(hook: BatchHook) -> str:
    explicit = getattr(hook, "hook_name", None)
    if isinstance(explicit, str):
        return explicit
    func = getattr(hook, "__func__", hook)
    qualname = getattr(func, "__qualname__", None) or type(hook).__qualname__
    if not hasattr(func, "__code__"):
        qualname = type(hook).__qualname__  # a callable object: its class names it
    return HOOK_NAMES.get(qualname, qualname)


def _p1(message: Any) -> bool:
    return getattr(message.body, "urgency", None) == "P1"


def _never(_message: Any) -> bool:
    return False


@dataclass(frozen=True)
class KindEntry:
    kind: str
    message_model: type[Any]
    handlers: tuple[str, ...]  # "store" plus the hook names that process this kind
    downward: tuple[str, ...]  # what the CP sends down or up because of it
    critical: Callable[[Any], bool] = _never  # never dead-lettered for a failing hook

    @property
    def body_model(self) -> type[Any]:
        return self.message_model.model_fields["body"].annotation


KINDS: dict[str, KindEntry] = {
    e.kind: e
    for e in (
        KindEntry(
            "help_request",
            UP_MESSAGE_TYPES["help_request"],
            ("store", "grouping", "upstream"),
            ("ack", "state acks (triage)", "p1_item upstream when P1", "summary"),
            critical=_p1,
        ),
        KindEntry(
            "situation_report",
            UP_MESSAGE_TYPES["situation_report"],
            ("store", "grouping", "upstream"),
            ("ack", "state acks (triage)", "summary"),
        ),
        KindEntry(
            "resource_request",
            UP_MESSAGE_TYPES["resource_request"],
            ("store", "grouping", "upstream"),
            ("ack", "state acks (triage)", "p1_item upstream when P1", "summary"),
            critical=_p1,
        ),
        KindEntry(
            "status",
            UP_MESSAGE_TYPES["status"],
            ("store", "upstream"),
            ("ack", "summary on state or power change"),
        ),
        KindEntry(
            "receipt",
            UP_MESSAGE_TYPES["receipt"],
            ("store", "receipts", "upstream"),
            ("ack", "bulletin reach"),
        ),
        KindEntry(
            "task_update",
            UP_MESSAGE_TYPES["task_update"],
            ("store", "task_updates", "upstream"),
            ("ack", "task delivery and done state"),
        ),
        KindEntry(
            "facility_report",
            UP_MESSAGE_TYPES["facility_report"],
            ("store", "facility_reports", "upstream"),
            ("ack", "review list; an accepted one changes the facility on every board"),
        ),
        KindEntry(
            "facility_receipt",
            UP_MESSAGE_TYPES["facility_receipt"],
            ("store", "facility_receipts", "upstream"),
            ("ack", "facility directory reach"),
        ),
        KindEntry(
            "volunteer_roster",
            UP_MESSAGE_TYPES["volunteer_roster"],
            ("store", "aid", "upstream"),
            ("ack", "volunteer counts per NSP (service/aid)", "summary"),
        ),
        KindEntry(
            "assignment_update",
            UP_MESSAGE_TYPES["assignment_update"],
            ("store", "aid", "upstream"),
            ("ack", "assignment delivery and state (service/aid)"),
        ),
        KindEntry(
            "stock_entry",
            UP_MESSAGE_TYPES["stock_entry"],
            ("store", "goods", "upstream"),
            ("ack", "stock ledger, low-stock warning (service/goods)", "summary"),
        ),
    )
}

Fallback = Callable[[Connection, "Accepted", str, str], None]


def _grouping_fallback(conn: Connection, accepted: Accepted, cp_id: str, error: str) -> None:
    from service.triage.grouping import own_item_fallback

    own_item_fallback(conn, accepted, error)


# What puts a critical message where it belongs when its hook failed (hook name → fallback).
FALLBACKS: dict[str, Fallback] = {"grouping": _grouping_fallback}


def entry(kind: str) -> KindEntry | None:
    return KINDS.get(kind)


def is_critical(accepted: Accepted) -> bool:
    e = KINDS.get(accepted.message.kind)
    return e is not None and e.critical(accepted.message)


_KNOWN_HANDLERS = frozenset(h for e in KINDS.values() for h in e.handlers)


def applies(name: str, kind: str) -> bool:
    """Whether the hook called ``name`` processes messages of ``kind``."""
    if name in BATCH_HOOKS:
        return False
    e = KINDS.get(kind)
    if e is None:
        return True
    return name in e.handlers or name not in _KNOWN_HANDLERS


def run_hooks(
    conn: Connection,
    hooks: Sequence[BatchHook],
    new: list[Accepted],
    presences: list[PresenceSeen],
    skip: dict[str, set[str]] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> None:
    """Run every hook on the messages its registry entry gives it (``skip``: message id →
    hook names not to run for that message; "*" → batch hooks not to run at all)."""
    for hook in hooks:
        name = hook_name(hook)
        if skip and name in skip.get("*", ()):
            continue  # a batch hook that failed on its own: the messages go on without it
        if on_step is not None:
            on_step(f"hook:{name}")
        wanted = {k for k in {a.message.kind for a in new} if applies(name, k)}
        mine = [a for a in new if a.message.kind in wanted]
        if skip:
            mine = [a for a in mine if name not in skip.get(a.message.message_id, ())]
        hook(conn, mine, presences)
