"""How much anyone may send the CP: per-NSP rate limits at ingest (a flooding NSP is
throttled and flagged, the others are not affected)."""
