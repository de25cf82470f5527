"""Wiring of the CP's access layer into the app: token verifier, anonymous reading, the
body size limit and the access rules in the OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from noodcore.httpguard import BodySizeLimit, Identity, Role, allow_every_method, document_access
from schemas.transfer import MAX_FILE_BYTES
from service.auth.tokens import DatabaseTokenVerifier
from service.settings import ServiceSettings

USB_IMPORT_PATH = "/api/v1/fallback/usb/import"  # service.fallback.api
ANONYMOUS = Identity(name="anonymous", role=Role.VIEWER)


def install(app: FastAPI, settings: ServiceSettings) -> None:
    """At app creation: middleware and documentation."""
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.http_max_body_bytes,
        # A USB stick carries a whole outbox; it is checked as a whole before it is stored.
        by_path={USB_IMPORT_PATH: MAX_FILE_BYTES},
    )
    document_access(app)
    allow_every_method(app)


def start(app: FastAPI, settings: ServiceSettings, engine: Engine) -> None:
    """In the lifespan, once the database is there."""
    app.state.token_verifier = DatabaseTokenVerifier(engine)
    app.state.anonymous_identity = ANONYMOUS if settings.auth_anonymous_read else None
