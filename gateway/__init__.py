"""NSP gateway: outbox, MQTT link to the CP, local API."""
