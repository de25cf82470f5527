"""Triage at the CP: incidents from near-duplicate reports, a priority queue, operator workflow.

Along the data's path:

    ingest transaction ── grouping.GroupingHook ──▶ triage_report / triage_item (models.py)
                                                    using normalise.py (addresses, Dutch text)
    GET /api/v1/queue ── priority.py (score + reasons, deterministic given "now")
    operator actions ── workflow.py (states, merge, split, audit) ──▶ acks.py (durable
                        ack outbox) ──▶ MQTT ``down/ack`` to every contributing gateway
"""
