"""Tables of the CP's processes working on one database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class GroupingLog(SQLModel, table=True):
    """One row per grouping transaction (or operator change) of any CP process, numbered
    under the grouping lock: how the other processes learn which reports their in-memory
    window misses (``service.cluster.grouping_sync``). Old rows are pruned."""

    __tablename__ = "cluster_grouping_log"

    gen: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    writer: str = Field(max_length=80)
    # The reports the transaction placed; None: an operator changed items (reload all).
    message_ids: list[str] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    written_at: datetime = utc_column()
