"""Tables of the task feature. Rows are only ever added or updated, never deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class NspTask(SQLModel, table=True):
    """A task as the CP operator wrote it; ``revision`` goes up on every change."""

    __tablename__ = "nsp_task"

    task_id: str = Field(primary_key=True, max_length=63)
    cp_id: str = Field(max_length=63)
    revision: int = 1
    title: str = Field(max_length=200)
    details: str | None = Field(default=None, sa_type=sa.Text)
    due_at: datetime | None = utc_column(nullable=True)
    cancelled: bool = False
    # A delivery: the goods (schemas.GoodsLine dicts) the NSP confirms into its stock ledger.
    goods: list[dict[str, Any]] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = utc_column(index=True)
    created_by: str = Field(max_length=200)
    updated_at: datetime = utc_column()
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )


class NspTaskTarget(SQLModel, table=True):
    """One NSP's copy of a task: what was sent, what the gateway confirmed, done or not."""

    __tablename__ = "nsp_task_target"

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(max_length=63, index=True)
    nsp_id: str = Field(max_length=63, index=True)
    # The exact message for the current revision; re-sends repeat these bytes.
    payload: str = Field(sa_type=sa.Text)
    message_id: str = Field(max_length=26)
    sent_revision: int
    last_sent_at: datetime | None = utc_column(nullable=True)
    send_count: int = 0
    delivered_revision: int = 0
    delivered_at: datetime | None = utc_column(nullable=True)
    done: bool = False
    done_at: datetime | None = utc_column(nullable=True)  # gateway clock
    done_by: str | None = Field(default=None, max_length=100)
    done_note: str | None = Field(default=None, max_length=1000)
    done_received_at: datetime | None = utc_column(nullable=True)  # CP clock
    last_update_seq: int = Field(default=0, sa_type=sa.BigInteger)
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)

    __table_args__ = (sa.UniqueConstraint("task_id", "nsp_id", name="uq_nsp_task_target"),)
