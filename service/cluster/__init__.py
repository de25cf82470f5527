"""Several CP processes on one PostgreSQL database: a standby that takes over the single-active
workers (``leader``), ingest processes behind an MQTT 5 shared subscription, and grouping
decisions serialised across them (``grouping_sync``). See deploy/standby.md and
docs/scaling.md."""
