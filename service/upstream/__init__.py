"""Up to the crisis organisation: summaries, P1 items, the durable outbox and its forwarder,
and the event log behind the live stream. See docs/upstream.md."""
