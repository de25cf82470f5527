"""The CP's ration rules ("max 6 l water per persoon per dag"), enforced at the gateways.

A new set is a new version (``goods_rule_set``, append-only). It is published retained on
every known NSP's ``down/ration_rules`` topic, so a gateway that is offline gets the current
set when it reconnects; the CP publishes all of them again after each of its own
(re)connects (``AssignmentResender``), in case the broker lost its retained store.
"""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas import RationRule, RationRules, RationRulesMessage, new_message_id, topics, utcnow
from service.goods.models import GoodsRuleSet
from service.models import Nsp

log = logging.getLogger(__name__)


class Broker(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class NewRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RationRule] = Field(max_length=50)

    @model_validator(mode="after")
    def _one_per_item(self) -> NewRules:
        items = [r.item for r in self.rules]
        doubled = sorted({i for i in items if items.count(i) > 1})
        if doubled:
            raise ValueError(f"one rule per item; more than one for: {', '.join(doubled)}")
        return self


def current(session: Session) -> RationRules | None:
    row = session.exec(select(GoodsRuleSet).order_by(col(GoodsRuleSet.version).desc())).first()
    if row is None:
        return None
    return RationRules.model_validate({"version": row.version, "rules": row.rules})


def set_rules(session: Session, new: NewRules, actor: str) -> RationRules:
    """Store a new version (validated as the message body: one rule per item)."""
    before = current(session)
    rules = RationRules(version=(before.version if before else 0) + 1, rules=new.rules)
    session.add(
        GoodsRuleSet(
            version=rules.version,
            rules=[r.model_dump(mode="json") for r in rules.rules],
            created_at=utcnow(),
            created_by=actor,
        )
    )
    session.flush()
    return rules


def publish_rules(engine: Engine, cp_id: str, broker: Broker | None) -> int:
    """Publish the current set retained to every NSP the CP knows; returns how many."""
    if broker is None:
        return 0
    with Session(engine) as session:
        rules = current(session)
        nsp_ids = sorted(session.exec(select(Nsp.nsp_id)).all())
    if rules is None:
        return 0
    sent = 0
    for nsp_id in nsp_ids:
        message = RationRulesMessage(
            message_id=new_message_id(), sent_at=utcnow(), cp_id=cp_id, nsp_id=nsp_id, body=rules
        )
        try:
            broker.publish(
                topics.down(cp_id, nsp_id, "ration_rules"),
                message.model_dump_json().encode(),
                qos=1,
                retain=True,
            )
            sent += 1
        except Exception:
            log.exception("ration rules to %s not published; sent again after reconnect", nsp_id)
    return sent
