"""NSP gateway: durable outbox, MQTT link to the CP broker, local HTTP API.

Entry points: ``gateway.settings.GatewaySettings``, ``gateway.api.create_app(settings)`` and
``gateway.api.run(settings)``. Kept import-free so ``gateway.settings`` loads without FastAPI
or paho.
"""
