"""Staff download the outbox for a USB stick and upload the CP's file (gateway/usb.py).

Off (409) until the gateway has its transfer key (``NOODNET_TRANSFER_KEY``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gateway.auth import STAFF
from gateway.runtime import GatewayRuntime
from gateway.usb import export_outbox, import_file
from noodcore.httpguard import require
from schemas.transfer import MAX_FILE_BYTES, TransferError, TransferKey, file_name

IMPORT_PATH = "/api/v1/usb/import"
router = APIRouter(prefix="/api/v1/usb", tags=["usb"])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
_NO_KEY: dict[int | str, dict[str, Any]] = {
    409: {"description": "No transfer key configured (NOODNET_TRANSFER_KEY)."}
}


def _key(rt: GatewayRuntime) -> TransferKey:
    secret = rt.settings.transfer_key
    if secret is None:
        raise HTTPException(409, detail="no transfer key configured (NOODNET_TRANSFER_KEY)")
    try:
        return TransferKey.parse(secret.get_secret_value())
    except ValueError as exc:
        raise HTTPException(409, detail=f"NOODNET_TRANSFER_KEY is invalid: {exc}") from exc


class UsbImportOut(BaseModel):
    file_id: str
    messages: int
    applied: int
    unchanged: int
    unknown_acks: int


@router.get(
    "/export",
    summary="The unacknowledged outbox as one signed file for a USB stick",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The file."}, **_NO_KEY},
    dependencies=[require(*STAFF)],
)
async def usb_export(rt: Runtime) -> Response:
    key = _key(rt)
    data, n = await run_in_threadpool(export_outbox, rt.outbox, rt.settings.cp_id, key)
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{file_name("up", rt.settings.nsp_id)}"'
            ),
            "X-Noodnet-Messages": str(n),
        },
    )


@router.post(
    "/import",
    summary="Apply the CP's file from a USB stick (acks, tasks, bulletins)",
    response_model=UsbImportOut,
    responses={
        422: {"description": "Refused as a whole, nothing changed ('ctx.nl': Dutch reason)."},
        413: {"description": "File too large."},
        **_NO_KEY,
    },
    dependencies=[require(*STAFF)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def usb_import(request: Request, rt: Runtime) -> UsbImportOut:
    key = _key(rt)
    data = await request.body()
    if len(data) > MAX_FILE_BYTES:
        raise HTTPException(413, detail=f"file larger than {MAX_FILE_BYTES} bytes")
    try:
        result = await run_in_threadpool(
            import_file, rt.outbox, rt.inbox, rt.settings.cp_id, key, data
        )
    except TransferError as exc:
        raise RequestValidationError(
            [
                {
                    "type": f"refused.{exc.code}",
                    "loc": ("body",),
                    "msg": exc.en,
                    "input": None,
                    "ctx": {"code": exc.code, "nl": exc.nl},
                }
            ]
        ) from exc
    return UsbImportOut(**result.__dict__)
