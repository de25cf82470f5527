"""Code the CP service, the gateway and the CLI share: HTTP access rules and sign-in, page
language, the database engine and UTC column type, token checks, the MQTT client factory,
backoff and the background worker base.

Invariant (kept by the ``import-linter`` contracts in pyproject.toml, run by ``dev.py test``):
nothing here imports ``service``, ``gateway`` or ``noodnet`` (the CLI). Shared code that
needed one of them would tie the gateway, which runs alone on a Pi, to the CP, or the other
way round.
"""
