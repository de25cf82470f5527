"""Swagger UI (``/docs``) and ReDoc (``/redoc``) served from assets shipped in a Python
package, on the CP and on the gateway.

Invariant: the documentation pages load nothing from another host. FastAPI's own pages pull
Swagger UI and ReDoc from a CDN (and ReDoc a Google font); in a blackout there is no internet,
so ``/docs`` was a blank page. The JavaScript and CSS come from the ``fastapi-offline`` wheel
(``fastapi_offline/static``: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js), a
pinned PyPI dependency, so they are installed and upgraded like any other code instead of
being copied into this repository. We use only its files, not its ``FastAPIOffline`` factory:
our routes must carry an access rule (``public()``) like every other route, and the assets
are served from a fixed list of names, never a directory listing.

Apps create ``FastAPI(docs_url=None, redoc_url=None)`` and call ``install(app)``.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

from noodcore.httpguard import public

ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# The browser holds the pages to this host as well: ReDoc's bundle shows a logo from its
# maker's CDN in the sidebar, which this policy stops before any request is made (the image
# hides itself when it cannot load). Inline script and style: the pages FastAPI writes.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def _held(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CSP
    return response


def install(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and their assets to ``app``."""
    if app.docs_url or app.redoc_url:
        raise ValueError("create the app with docs_url=None, redoc_url=None")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _held(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} – API",
                oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
                swagger_js_url=f"{root}{ASSET_PREFIX}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSET_PREFIX}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSET_PREFIX}/favicon.png",
            )
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _held(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} – API",
                redoc_js_url=f"{root}{ASSET_PREFIX}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSET_PREFIX}/favicon.png",
                with_google_fonts=False,
            )
        )

    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(404, detail=f"no documentation asset {name}")
        return FileResponse(
            ASSET_DIR / name,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    rule = [public()]
    for path, endpoint in (
        (DOCS_PATH, swagger),
        (OAUTH2_REDIRECT_PATH, oauth2_redirect),
        (REDOC_PATH, redoc),
    ):
        app.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            response_class=HTMLResponse,
            include_in_schema=False,
            dependencies=rule,
        )
    app.add_api_route(
        f"{ASSET_PREFIX}/{{name}}",
        asset,
        methods=["GET"],
        include_in_schema=False,
        dependencies=rule,
    )
