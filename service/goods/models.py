"""Tables of scarce goods at the CP: every NSP's ledger entries as the NSP sent them (rows are
only added: the ledger is the sum of its entries), and the CP's ration rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class GoodsEntry(SQLModel, table=True):
    """One ledger entry of one NSP (``stock_entry``), unique per NSP and entry number."""

    __tablename__ = "goods_entry"

    id: int | None = Field(default=None, primary_key=True)
    nsp_id: str = Field(max_length=63, index=True)
    entry_no: int = Field(sa_type=sa.BigInteger)
    item: str = Field(max_length=40, index=True)
    unit: str = Field(max_length=30)
    type: str = Field(max_length=16)
    quantity: float
    at: datetime = utc_column()  # gateway clock
    received_at: datetime = utc_column()
    by: str | None = Field(default=None, max_length=100)
    households: int | None = None
    household_size: int | None = None
    task_id: str | None = Field(default=None, max_length=63)
    counterpart: str | None = Field(default=None, max_length=200)
    on_hand_after: float = 0.0
    message_id: str = Field(max_length=26)

    __table_args__ = (sa.UniqueConstraint("nsp_id", "entry_no", name="uq_goods_entry_no"),)


class GoodsRuleSet(SQLModel, table=True):
    """A version of the CP's ration rules; the highest version is in force (append-only)."""

    __tablename__ = "goods_rule_set"

    version: int = Field(primary_key=True)
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = utc_column()
    created_by: str = Field(max_length=200)
