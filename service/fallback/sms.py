"""SMS: short forms received by gammu-smsd, entered like a radio relay (channel ``sms``).

gammu-smsd (Debian package, files service) writes every received SMS as one file
``IN<date>_<time>_<serial>_<sender>_<part>.txt`` into its inbox directory
(``settings.sms_inbox_dir``). ``SmsInbox`` picks them up and puts each through
``service.fallback.relay.submit`` — the same path as the console form: strict decode, the
NSP from its short code, the normal ingest, reconciliation with the original by (NSP, seq).

Invariants:

* A file is moved out of the inbox only after its outcome is committed: ``done/`` when
  stored (or already known), ``refused/`` with a dead letter (step ``sms``, the Dutch reason,
  the raw bytes) when the text is not a valid short form, so an operator sees a garbled SMS
  instead of it vanishing. A database that is down leaves the file where it is; the worker
  retries it (``noodcore.worker.ItemGuard``) and the other files go on.
* The sender's number is recorded as the "operator" of the relay (``sms +316...``). Anyone
  can send an SMS: the check code catches garbling, not forgery, so an SMS report is marked
  as such in the channel history and on the queue, like a call from an unknown number.
"""

from __future__ import annotations

import logging
import os
import re
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from schemas import shortform as sf
from schemas import utcnow
from service.fallback import relay
from service.ingest import IngestWorker
from service.store import Rejected, write_dead_letters

log = logging.getLogger(__name__)

_NAME = re.compile(r"^IN\d{8}_\d{6}_\d{2}_(?P<sender>[^_]{1,40})_\d{2}\.txt$")
MAX_SMS_FILE_BYTES = 4096  # one SMS is at most 160 characters; a concatenated one a few more


def sender_of(name: str) -> str | None:
    m = _NAME.match(name)
    return m["sender"] if m else None


class SmsInbox(Worker):
    """Polls gammu-smsd's inbox directory and enters every SMS (see the module)."""

    def __init__(
        self, engine: Engine, ingest: IngestWorker, inbox: Path, interval: float = 1.0
    ) -> None:
        super().__init__("sms inbox", interval=interval, backoff_cap=30.0)
        self.engine = engine
        self.ingest = ingest
        self.inbox = inbox
        self.done = inbox / "done"
        self.refused = inbox / "refused"
        self.entered_total = 0
        self.refused_total = 0

    def open(self) -> None:
        self.done.mkdir(parents=True, exist_ok=True)
        self.refused.mkdir(parents=True, exist_ok=True)

    def step(self) -> float | None:
        for path in sorted(self.inbox.glob("IN*.txt")):
            self.items.run(path.name, partial(self.enter, path))
        return None

    def enter(self, path: Path) -> str:
        """Enter one SMS file; returns "stored", "known" or "refused"."""
        sender = sender_of(path.name) or "?"
        raw = path.read_bytes()
        reason: str | None = None
        if len(raw) > MAX_SMS_FILE_BYTES:
            reason = f"sms te lang: {len(raw)} bytes"
        else:
            try:
                text = raw.decode("utf-8")
                outcome = relay.submit(self.engine, self.ingest, text, "sms", f"sms {sender}")
            except UnicodeDecodeError:
                reason = "sms is geen UTF-8-tekst (gammu-smsd: inboxformat = standard)"
            except (sf.ShortFormError, relay.RelayError) as exc:
                reason = exc.nl
        if reason is not None:
            with self.engine.begin() as conn:
                write_dead_letters(
                    conn,
                    [
                        Rejected(
                            reason=f"sms van {sender}: {reason}",
                            received_at=utcnow(),
                            transport="sms",
                            payload=raw,
                            topic=None,
                            step="sms",
                        )
                    ],
                )
            os.replace(path, self.refused / path.name)
            self.refused_total += 1
            log.warning("SMS %s from %s refused: %s", path.name, sender, reason)
            return "refused"
        os.replace(path, self.done / path.name)
        self.entered_total += 1
        return "stored" if outcome.new else "known"
