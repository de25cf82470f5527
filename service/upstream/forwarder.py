"""The forwarder: one thread per upstream target works off that target's outbox in order.

The head of the queue (P1 items first, then summaries, oldest first) is retried until it is
delivered or dead before anything behind it goes: the region then sees items in the order
they happened, and while it is down only one request per backoff step reaches for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from schemas import utcnow
from service.upstream import outbox
from service.upstream.settings import UpstreamSettings

log = logging.getLogger(__name__)

# 4xx answers that can succeed later; every other 4xx means the item itself is refused.
TRANSIENT_4XX = {408, 423, 425, 429}
BATCH = 50


@dataclass
class TargetState:
    """What the API shows about one target's link."""

    target: str
    delivered: int = 0
    failures: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    dead_lettered: int = 0


class TargetForwarder(Worker):
    """One target's worker. A round that fails (database trouble) is retried with backoff by
    ``Worker``; an item whose send fails in any way, even an unexpected exception, is recorded
    on its outbox row and waits its own backoff there. Every target has its own thread, so a
    target that is down or an item that keeps failing holds up no other target."""

    def __init__(
        self, engine: Engine, target: str, settings: UpstreamSettings, sender: str
    ) -> None:
        super().__init__(
            f"forwarder {target}",
            interval=settings.upstream_poll_seconds,
            backoff_base=1.0,
            backoff_cap=30.0,
        )
        self.engine = engine
        self.target = target
        self.settings = settings
        self.sender = sender
        self.state = TargetState(target)
        self._client: httpx.Client | None = None

    def open(self) -> None:
        # trust_env=False: a proxy variable left in the environment must not divert (or
        # silently swallow) what goes to the crisis organisation.
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.settings.upstream_timeout_seconds), trust_env=False
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def step(self) -> float:
        if self._client is None:
            self.open()
        assert self._client is not None
        return self._step(self._client)

    def _step(self, client: httpx.Client) -> float:
        """Send what is due, in order; returns how long to wait before the next step.

        Items go out one by one from the head of the queue; their delivery is recorded for
        up to ``BATCH`` items in one transaction. A crash before that commit only means those
        items go again, and the upstream recognises them by their keys.
        """
        if self.settings.upstream_coalesce_summaries:
            outbox.coalesce_summaries(self.engine, self.target)
        items = outbox.queue_head(self.engine, self.target, BATCH)
        poll = self.settings.upstream_poll_seconds
        if not items:
            return poll
        due_in = (items[0].next_attempt_at - utcnow()).total_seconds()
        if due_in > 0:
            return min(due_in, poll)
        delivered: list[tuple[outbox.OutboxItem, int]] = []
        try:
            for item in items:
                # Behind the head only what has not failed before goes on (an item that did
                # waits its backoff, and a new P1 arriving meanwhile goes ahead of it).
                if self.stopping or item.next_attempt_at > utcnow():
                    break
                code = self._send(client, item)
                if code is None:
                    break
                delivered.append((item, code))
        finally:
            if delivered:
                outbox.mark_delivered(self.engine, delivered)
                self.state.delivered += len(delivered)
                self.state.last_success_at = utcnow()
                self.state.last_error = None
        return 0 if delivered else poll

    def _send(self, client: httpx.Client, item: outbox.OutboxItem) -> int | None:
        """POST one item; the status code when delivered, None when it failed (recorded)."""
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": item.idempotency_key,
            "X-Noodnet-Sender": self.sender,
            "X-Noodnet-Attempt": str(item.attempts + 1),
        }
        if self.settings.upstream_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.upstream_token.get_secret_value()}"
        try:
            response = client.post(self.target, content=item.payload.encode(), headers=headers)
        except Exception as exc:  # not only httpx errors: a bad item must not stop the loop
            self._failed(item, f"{type(exc).__name__}: {exc}", None, permanent=False)
            return None
        code = response.status_code
        if 200 <= code < 300:
            log.info("delivered %s to %s (%d)", item.idempotency_key, self.target, code)
            return code
        permanent = 400 <= code < 500 and code not in TRANSIENT_4XX
        self._failed(item, f"HTTP {code}: {response.text[:1000]}", code, permanent)
        return None

    def _failed(
        self, item: outbox.OutboxItem, error: str, code: int | None, permanent: bool
    ) -> None:
        dead = outbox.mark_failed(
            self.engine,
            item,
            error,
            code,
            permanent,
            self.settings.upstream_retry_base_seconds,
            self.settings.upstream_retry_max_seconds,
        )
        self.state.failures += 1
        self.state.last_failure_at = utcnow()
        self.state.last_error = error
        if dead:
            self.state.dead_lettered += 1
            log.error(
                "upstream dead letter: %s to %s after %d attempts: %s",
                item.idempotency_key,
                self.target,
                item.attempts + 1,
                error,
            )
        else:
            log.warning("sending %s to %s failed: %s", item.idempotency_key, self.target, error)


class Forwarder:
    """All targets' forwarders."""

    def __init__(self, engine: Engine, settings: UpstreamSettings, sender: str) -> None:
        self.targets = {
            t: TargetForwarder(engine, t, settings, sender) for t in settings.upstream_urls
        }

    @property
    def workers(self) -> list[Worker]:
        return list(self.targets.values())

    def start(self) -> None:
        for f in self.targets.values():
            f.start()

    def stop(self) -> None:
        for f in self.targets.values():
            f.signal_stop()
        for f in self.targets.values():
            f.join()

    def wake(self) -> None:
        for f in self.targets.values():
            f.wake()
