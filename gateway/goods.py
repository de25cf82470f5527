"""Scarce goods at the NSP: the stock ledger, hand-outs without personal data, ration rules
from the CP, and confirming a delivery into the ledger.

Invariants, and why:

* The ledger is append-only: every change is an entry (received, handed out, transferred,
  written off) numbered gap-free (``entry_no``); the balance of an item is
  received − handed out − transferred − written off. Each entry and its ``stock_entry``
  message are written in one transaction, so the CP's copy (rebuilt from the messages, which
  the outbox delivers exactly once in effect) balances the same as this one, across link
  cuts and power cuts.
* Stock cannot go below zero: an outflow larger than what is on hand is refused, with the
  amount on hand in the reason.
* A hand-out names no person: a number of households and their size. Under a CP ration rule
  an optional household code stops double collection on the same local day; the code stays
  here (``household_draw``) and is purged with the aid data.
* Confirming a delivery writes its receipt entries and marks the task done in one
  transaction, and only once per task.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.inbox import StoreOutcome
from gateway.models import TaskProgressRow, TaskRow
from gateway.nspf_models import HouseholdDrawRow, RationRulesRow, StockEntryRow
from gateway.outbox import Outbox, Transaction
from schemas import (
    EntryType,
    RationRule,
    RationRules,
    RationRulesMessage,
    StockEntry,
    Task,
    TaskState,
    TaskUpdate,
    utcnow,
)

log = logging.getLogger(__name__)

# Items staff pick from (code → default unit); any other code can be typed.
ITEMS: dict[str, str] = {
    "drinkwater": "liter",
    "voedselpakket": "pakket",
    "dekens": "stuks",
    "batterijen": "stuks",
    "babyvoeding": "pak",
    "medicijnen": "doos",
}
OUTFLOWS = (EntryType.HANDED_OUT, EntryType.TRANSFERRED, EntryType.WRITTEN_OFF)
EPSILON = 1e-9


class GoodsError(ValueError):
    """Refused with a reason staff can act on; ``key`` names the text on the staff pages."""

    status_code = 409

    def __init__(self, key: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.values = values


class GoodsNotFound(GoodsError):
    status_code = 404


@dataclass(frozen=True)
class StockLine:
    item: str
    unit: str
    received: float
    handed_out: float
    transferred: float
    written_off: float
    on_hand: float
    entries: int
    persons_handed_out: int


class GoodsStore:
    def __init__(self, outbox: Outbox, timezone: str = "Europe/Amsterdam") -> None:
        self._outbox = outbox
        self._engine = outbox.engine
        self._tz = ZoneInfo(timezone)

    # ------------------------------------------------------------------ ledger

    @staticmethod
    def _on_hand(session: Session, item: str, unit: str) -> float:
        total = 0.0
        for t, q in session.exec(
            select(StockEntryRow.type, func.sum(StockEntryRow.quantity))
            .where(StockEntryRow.item == item)
            .where(StockEntryRow.unit == unit)
            .group_by(StockEntryRow.type)
        ).all():
            total += q if t == EntryType.RECEIVED.value else -q
        return total

    def _append(
        self,
        tx: Transaction,
        entry_type: EntryType,
        item: str,
        unit: str,
        quantity: float,
        by: str | None = None,
        households: int | None = None,
        household_size: int | None = None,
        task_id: str | None = None,
        counterpart: str | None = None,
        note: str | None = None,
    ) -> StockEntry:
        session = tx.session
        on_hand = self._on_hand(session, item, unit)
        after = on_hand + quantity if entry_type == EntryType.RECEIVED else on_hand - quantity
        if after < -EPSILON:
            raise GoodsError(
                "goods_not_enough",
                f"only {on_hand:g} {unit} {item} on hand",
                on_hand=f"{on_hand:g}",
                unit=unit,
                item=item,
            )
        last = session.exec(select(func.max(StockEntryRow.entry_no))).one()
        entry = StockEntry(
            entry_no=(last or 0) + 1,
            item=item,
            unit=unit,
            type=entry_type,
            quantity=quantity,
            at=utcnow(),
            by=by or None,
            households=households,
            household_size=household_size,
            task_id=task_id,
            counterpart=counterpart or None,
            on_hand_after=round(max(after, 0.0), 6),
            note=note or None,
        )
        session.add(
            StockEntryRow(
                entry_no=entry.entry_no,
                item=entry.item,
                unit=entry.unit,
                type=entry.type.value,
                quantity=entry.quantity,
                at=entry.at,
                by=entry.by,
                households=entry.households,
                household_size=entry.household_size,
                task_id=entry.task_id,
                counterpart=entry.counterpart,
                on_hand_after=entry.on_hand_after,
                note=entry.note,
            )
        )
        session.flush()
        self._outbox.enqueue_in(tx, "stock_entry", entry)
        return entry

    def record(
        self,
        entry_type: EntryType,
        item: str,
        unit: str,
        quantity: float,
        by: str | None = None,
        counterpart: str | None = None,
        note: str | None = None,
    ) -> StockEntry:
        """Receive, transfer or write off stock (hand-outs: ``hand_out``)."""
        if entry_type == EntryType.HANDED_OUT:
            raise GoodsError("goods_use_handout", "record hand-outs with hand_out")
        self._check(item, unit, quantity)
        with self._outbox.write() as tx:
            return self._append(
                tx, entry_type, item, unit, quantity, by=by, counterpart=counterpart, note=note
            )

    def hand_out(
        self,
        item: str,
        unit: str,
        quantity: float,
        household_size: int,
        households: int = 1,
        household_code: str | None = None,
        by: str | None = None,
    ) -> StockEntry:
        """Record a hand-out (no personal data); a ration rule of the CP is enforced here."""
        self._check(item, unit, quantity)
        if not 1 <= household_size <= 30 or not 1 <= households <= 10_000:
            raise GoodsError("goods_bad_household", "household size 1-30, households 1-10000")
        code = (household_code or "").strip().upper() or None
        if code is not None and (len(code) > 40 or not code.isprintable()):
            raise GoodsError("goods_bad_code", "a household code has at most 40 characters")
        now = utcnow()
        day = now.astimezone(self._tz).date().isoformat()
        with self._outbox.write() as tx:
            rule = self._rule(tx.session, item)
            if rule is not None and rule.unit == unit:
                per_day = rule.max_per_person_per_day
                limit = per_day * household_size * households
                if quantity > limit + EPSILON:
                    raise GoodsError(
                        "goods_over_ration",
                        f"at most {limit:g} {unit} for {household_size * households} person(s)",
                        limit=f"{limit:g}",
                        unit=unit,
                        persons=household_size * households,
                    )
                if code is not None:
                    had = (
                        tx.session.exec(
                            select(func.sum(HouseholdDrawRow.quantity))
                            .where(HouseholdDrawRow.code == code)
                            .where(HouseholdDrawRow.item == item)
                            .where(HouseholdDrawRow.day == day)
                        ).one()
                        or 0.0
                    )
                    allowed = per_day * household_size
                    if had + quantity > allowed + EPSILON:
                        raise GoodsError(
                            "goods_already_collected",
                            f"household {code} already collected {had:g} {unit} today "
                            f"(at most {allowed:g})",
                            code=code,
                            had=f"{had:g}",
                            allowed=f"{allowed:g}",
                            unit=unit,
                        )
            entry = self._append(
                tx,
                EntryType.HANDED_OUT,
                item,
                unit,
                quantity,
                by=by,
                households=households,
                household_size=household_size,
            )
            if code is not None:
                tx.session.add(
                    HouseholdDrawRow(
                        code=code,
                        item=item,
                        day=day,
                        quantity=quantity,
                        entry_no=entry.entry_no,
                        at=now,
                    )
                )
        return entry

    def receive_delivery(
        self, task_id: str, quantities: list[float] | None = None, by: str | None = None
    ) -> list[StockEntry]:
        """Confirm a delivery (a task with goods): receipt entries + task done, once."""
        with self._outbox.write() as tx:
            row = tx.session.get(TaskRow, task_id)
            if row is None:
                raise GoodsNotFound("task_unknown", f"no task {task_id!r}")
            task = Task.model_validate_json(row.body)
            if not task.goods:
                raise GoodsError("goods_not_delivery", "this task brings no goods")
            if task.cancelled:
                raise GoodsError("task_cancelled_error", "the CP cancelled this delivery")
            seen = tx.session.exec(
                select(StockEntryRow.entry_no).where(StockEntryRow.task_id == task_id)
            ).first()
            if seen is not None:
                raise GoodsError("goods_already_received", "this delivery is already confirmed")
            amounts = quantities or [g.quantity for g in task.goods]
            if len(amounts) != len(task.goods):
                raise GoodsError("goods_bad_quantities", "one quantity per line of the delivery")
            entries = []
            for line, qty in zip(task.goods, amounts, strict=True):
                if qty < 0 or qty > 1_000_000:
                    raise GoodsError("goods_bad_quantity", "a quantity of 0 to 1000000")
                if qty > 0:
                    entries.append(
                        self._append(
                            tx,
                            EntryType.RECEIVED,
                            line.item,
                            line.unit,
                            qty,
                            by=by,
                            task_id=task_id,
                            counterpart="CP",
                        )
                    )
            now = utcnow()
            progress = tx.session.get(TaskProgressRow, task_id) or TaskProgressRow(
                task_id=task_id, updated_at=now
            )
            progress.done = True
            progress.done_at = now
            progress.done_by = by
            progress.updated_at = now
            tx.session.add(progress)
            self._outbox.enqueue_in(
                tx,
                "task_update",
                TaskUpdate(
                    task_id=task_id,
                    revision=task.revision,
                    state=TaskState.DONE,
                    at=now,
                    by=by,
                    note=f"ontvangen: {len(entries)} regel(s)",
                ),
            )
        return entries

    @staticmethod
    def _check(item: str, unit: str, quantity: float) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", item):
            raise GoodsError("goods_bad_item", "item: lowercase letters, digits, - and _")
        if not 1 <= len(unit) <= 30 or not unit.isprintable():
            raise GoodsError("goods_bad_unit", "unit: 1 to 30 characters")
        if not 0 < quantity <= 1_000_000:
            raise GoodsError("goods_bad_quantity", "a quantity above 0, at most 1000000")

    # ------------------------------------------------------------------ views

    def stock(self) -> list[StockLine]:
        with Session(self._engine) as session:
            rows = session.exec(select(StockEntryRow).order_by(col(StockEntryRow.entry_no))).all()
        lines: dict[tuple[str, str], dict[str, float]] = {}
        for r in rows:
            d = lines.setdefault((r.item, r.unit), {"n": 0, "persons": 0})
            d[r.type] = d.get(r.type, 0.0) + r.quantity
            d["n"] += 1
            if r.type == EntryType.HANDED_OUT.value:
                d["persons"] += (r.households or 1) * (r.household_size or 1)
        out = []
        for (item, unit), d in sorted(lines.items()):
            rec, ho = d.get("received", 0.0), d.get("handed_out", 0.0)
            tr, wo = d.get("transferred", 0.0), d.get("written_off", 0.0)
            out.append(
                StockLine(
                    item=item,
                    unit=unit,
                    received=rec,
                    handed_out=ho,
                    transferred=tr,
                    written_off=wo,
                    on_hand=round(rec - ho - tr - wo, 6),
                    entries=int(d["n"]),
                    persons_handed_out=int(d["persons"]),
                )
            )
        return out

    def entries(self, limit: int = 100) -> list[StockEntry]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(StockEntryRow).order_by(col(StockEntryRow.entry_no).desc()).limit(limit)
            ).all()
        return [
            StockEntry.model_validate(
                {k: v for k, v in r.model_dump().items() if v is not None or k == "on_hand_after"}
            )
            for r in rows
        ]

    def deliveries(self) -> list[tuple[Task, bool]]:
        """Tasks with goods, and whether their receipt is confirmed."""
        with Session(self._engine) as session:
            rows = session.exec(select(TaskRow).order_by(col(TaskRow.received_at).desc())).all()
            confirmed = set(
                session.exec(
                    select(StockEntryRow.task_id).where(col(StockEntryRow.task_id).is_not(None))
                ).all()
            )
            progress = {p.task_id: p.done for p in session.exec(select(TaskProgressRow)).all()}
        out = []
        for r in rows:
            task = Task.model_validate_json(r.body)
            if task.goods:
                out.append((task, r.task_id in confirmed or progress.get(r.task_id, False)))
        return out

    # ------------------------------------------------------------------ ration rules

    def store_rules(self, message: RationRulesMessage) -> StoreOutcome:
        with self._outbox.write() as tx:
            row = tx.session.get(RationRulesRow, 1)
            if row is not None and row.version >= message.body.version:
                return (
                    StoreOutcome.SAME
                    if row.version == message.body.version
                    else (StoreOutcome.OLDER)
                )
            row = row or RationRulesRow(
                id=1, version=0, body="", cp_message_id=message.message_id, received_at=utcnow()
            )
            row.version = message.body.version
            row.body = message.body.model_dump_json()
            row.cp_message_id = message.message_id
            row.received_at = utcnow()
            tx.session.add(row)
        log.info("ration rules version %s stored", message.body.version)
        return StoreOutcome.NEW

    def rules(self) -> RationRules | None:
        with Session(self._engine) as session:
            row = session.get(RationRulesRow, 1)
        return RationRules.model_validate_json(row.body) if row is not None else None

    def _rule(self, session: Session, item: str) -> RationRule | None:
        row = session.get(RationRulesRow, 1)
        if row is None:
            return None
        for r in RationRules.model_validate_json(row.body).rules:
            if r.item == item:
                return r
        return None

    def purge_codes(self, older_than: datetime) -> int:
        with self._outbox.write() as tx:
            rows = tx.session.exec(
                select(HouseholdDrawRow).where(col(HouseholdDrawRow.at) < older_than)
            ).all()
            for r in rows:
                tx.session.delete(r)
        return len(rows)
