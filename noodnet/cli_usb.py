"""``noodnet usb``: carry reports and answers on a USB stick when the link is gone.

At the NSP (on the gateway machine, with the gateway's database and its transfer key):

    noodnet usb gateway-export --db-path var/gw.db --nsp-id oss-centrum --cp-id cp-oss /media/stick
    noodnet usb gateway-import --db-path var/gw.db --nsp-id oss-centrum --cp-id cp-oss FILE

At the CP (through the running CP service, so imported reports take the normal ingest path):

    noodnet usb cp-import FILE [--nsp-id oss-centrum]
    noodnet usb cp-export oss-centrum /media/stick

The transfer key comes from ``NOODNET_TRANSFER_KEY`` (the gateway env file written by
``noodnet provision nsp``); the CP's operator token from ``NOODNET_TOKEN``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from schemas.transfer import TransferError, TransferKey, file_name

usb_app = typer.Typer(help="USB-stick transfer between an NSP gateway and its CP.")

DbPath = Annotated[
    Path, typer.Option(envvar="NOODNET_DB_PATH", help="Gateway database file [NOODNET_DB_PATH]")
]
NspIdOpt = Annotated[
    str, typer.Option(envvar="NOODNET_NSP_ID", help="This NSP's id [NOODNET_NSP_ID]")
]
CpIdOpt = Annotated[str, typer.Option(envvar="NOODNET_CP_ID", help="The CP's id [NOODNET_CP_ID]")]
KeyOpt = Annotated[
    str | None,
    typer.Option(help="Transfer key [NOODNET_TRANSFER_KEY]; prefer the env var"),
]
CpUrl = Annotated[str, typer.Option(help="CP service URL")]
TokenOpt = Annotated[
    str | None, typer.Option(help="Operator API token [NOODNET_TOKEN]; prefer the env var")
]


def _env(value: str | None, name: str, what: str) -> str:
    value = value or os.environ.get(name)
    if not value:
        typer.echo(f"{what} is needed: --{name.lower()[8:].replace('_', '-')} or {name}", err=True)
        raise typer.Exit(2)
    return value


def _key(value: str | None) -> TransferKey:
    try:
        return TransferKey.parse(_env(value, "NOODNET_TRANSFER_KEY", "the transfer key"))
    except ValueError as exc:
        typer.echo(f"invalid transfer key: {exc}", err=True)
        raise typer.Exit(2) from None


def _gateway_db(db_path: Path, nsp_id: str) -> Path:
    """The existing gateway database (never a new, empty one by a typo)."""
    path = Path(str(db_path).replace("{nsp_id}", nsp_id)).expanduser()
    if not path.is_file():
        typer.echo(f"no gateway database at {path}", err=True)
        raise typer.Exit(2)
    return path


def _target(out: Path, name: str) -> Path:
    return out / name if out.is_dir() else out


def _write(path: Path, data: bytes) -> None:
    """Write and fsync, so the file is on the stick before the volunteer pulls it."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from None


@usb_app.command("gateway-export")
def gateway_export(
    out: Annotated[Path, typer.Argument(help="Directory (e.g. the stick) or file to write")],
    db_path: DbPath,
    nsp_id: NspIdOpt,
    cp_id: CpIdOpt,
    key: KeyOpt = None,
) -> None:
    """Write every report the CP has not acknowledged to one signed file."""
    from gateway.outbox import Outbox
    from gateway.usb import export_outbox

    transfer_key = _key(key)
    outbox = Outbox(_gateway_db(db_path, nsp_id), nsp_id)
    try:
        data, n = export_outbox(outbox, cp_id, transfer_key)
    finally:
        outbox.close()
    target = _target(out, file_name("up", nsp_id))
    _write(target, data)
    typer.echo(f"{n} unacknowledged messages written to {target}")


@usb_app.command("gateway-import")
def gateway_import(
    file: Annotated[Path, typer.Argument(help="The file from the CP")],
    db_path: DbPath,
    nsp_id: NspIdOpt,
    cp_id: CpIdOpt,
    key: KeyOpt = None,
) -> None:
    """Apply the CP's acks, tasks and bulletins from a signed file (refused if not ours)."""
    from gateway.inbox import Inbox
    from gateway.outbox import Outbox
    from gateway.usb import import_file

    transfer_key = _key(key)
    data = _read(file)
    outbox = Outbox(_gateway_db(db_path, nsp_id), nsp_id)
    try:
        result = import_file(outbox, Inbox(outbox), cp_id, transfer_key, data)
    except TransferError as exc:
        typer.echo(f"bestand geweigerd, niets opgeslagen: {exc.nl}\n(refused: {exc.en})", err=True)
        raise typer.Exit(1) from None
    finally:
        outbox.close()
    typer.echo(
        f"{result.messages} messages: {result.applied} applied, {result.unchanged} already "
        f"known, {result.unknown_acks} acks for unknown messages"
    )


def _client(cp_url: str, token: str | None) -> httpx.Client:
    return httpx.Client(
        base_url=cp_url.rstrip("/"),
        headers={"Authorization": f"Bearer {_env(token, 'NOODNET_TOKEN', 'an operator token')}"},
        timeout=300,
    )


@usb_app.command("cp-import")
def cp_import(
    file: Annotated[Path, typer.Argument(help="The file from the NSP's stick")],
    nsp_id: Annotated[
        str | None, typer.Option(help="Refuse the file unless it is this NSP's")
    ] = None,
    cp_url: CpUrl = "http://127.0.0.1:8080",
    token: TokenOpt = None,
) -> None:
    """Import a gateway's file into the running CP (each report counted once)."""
    data = _read(file)
    with _client(cp_url, token) as client:
        r = client.post(
            "/api/v1/fallback/usb/import",
            content=data,
            params={"nsp_id": nsp_id} if nsp_id else None,
            headers={"Content-Type": "application/json"},
        )
    if r.status_code == 422:
        detail = r.json()["detail"][0]
        nl = detail.get("ctx", {}).get("nl", "")
        typer.echo(
            f"bestand geweigerd, niets opgeslagen: {nl}\n(refused: {detail['msg']})", err=True
        )
        raise typer.Exit(1)
    if not r.is_success:
        typer.echo(f"the CP service answered {r.status_code}: {r.text}", err=True)
        raise typer.Exit(1)
    body = r.json()
    typer.echo(
        f"NSP {body['nsp_id']}: {body['messages']} messages, {body['stored']} new, "
        f"{body['duplicates']} already stored"
    )


@usb_app.command("cp-export")
def cp_export(
    nsp_id: Annotated[str, typer.Argument(help="The NSP the stick goes to")],
    out: Annotated[Path, typer.Argument(help="Directory (e.g. the stick) or file to write")],
    cp_url: CpUrl = "http://127.0.0.1:8080",
    token: TokenOpt = None,
) -> None:
    """Write acks, tasks and bulletins for one NSP to a file signed for it."""
    with _client(cp_url, token) as client:
        r = client.get(f"/api/v1/fallback/usb/export/{nsp_id}")
    if not r.is_success:
        typer.echo(f"the CP service answered {r.status_code}: {r.text}", err=True)
        raise typer.Exit(1)
    target = _target(out, file_name("down", nsp_id))
    _write(target, r.content)
    typer.echo(f"written to {target} ({r.headers.get('x-noodnet-counts', '')})")
