"""``noodnet backup ...``, ``noodnet restore cp`` and ``noodnet db-check``: operations commands.

Every failure is one line saying what to do, and exit status 1 (2 for bad arguments).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from noodcore.backup import BackupError, backup_cp, restore_cp, sqlite_backup, sqlite_restore

backup_app = typer.Typer(help="Back up the CP's database or a gateway's outbox while it runs.")
restore_app = typer.Typer(help="Put a backup in place (the service stopped).")

DbUrl = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy URL [NOODNET_DATABASE_URL]; default sqlite:///var/noodnet-cp.db"),
]


def _url(database_url: str | None) -> str:
    return database_url or os.environ.get("NOODNET_DATABASE_URL") or "sqlite:///var/noodnet-cp.db"


def _fail(exc: BackupError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@backup_app.command("cp")
def backup_cp_cmd(
    to: Annotated[Path, typer.Option(help="Backup file, or a directory for a timestamped name")],
    database_url: DbUrl = None,
) -> None:
    """SQLite: online backup API (the service may keep running). PostgreSQL: pg_dump -Fc."""
    try:
        info = backup_cp(_url(database_url), to)
    except BackupError as exc:
        raise _fail(exc) from None
    typer.echo(f"backup written: {info.describe()}")


@backup_app.command("gateway")
def backup_gateway_cmd(
    to: Annotated[
        Path, typer.Option(help="Directory (e.g. the USB stick, /media/usb) or a new file name")
    ],
    db_path: Annotated[
        Path | None, typer.Option(help="Outbox SQLite file [NOODNET_DB_PATH]")
    ] = None,
    nsp_id: Annotated[
        str | None, typer.Option(help="NSP id for the file name [NOODNET_NSP_ID]")
    ] = None,
) -> None:
    """Online backup of the gateway's outbox (reports, acks, bulletins, tasks) while it runs."""
    path = db_path or Path(os.environ.get("NOODNET_DB_PATH", "var/noodnet-gateway.db"))
    nsp = nsp_id or os.environ.get("NOODNET_NSP_ID") or "gateway"
    try:
        info = sqlite_backup(path, to, prefix=f"noodnet-gw-{nsp}")
    except BackupError as exc:
        raise _fail(exc) from None
    outbox = info.tables.get("outbox", 0)
    typer.echo(f"backup written: {info.describe()} (outbox rows: {outbox})")


@restore_app.command("cp")
def restore_cp_cmd(
    from_: Annotated[Path, typer.Option("--from", help="A file made by 'noodnet backup cp'")],
    database_url: DbUrl = None,
    force: Annotated[
        bool, typer.Option(help="Replace an existing database (SQLite: moved aside, not deleted)")
    ] = False,
) -> None:
    """Restore the CP's database; gateways then re-send what the backup missed (see
    docs/operations.md)."""
    try:
        info = restore_cp(from_, _url(database_url), force)
    except BackupError as exc:
        raise _fail(exc) from None
    typer.echo(f"restored: {info.describe()}; start the service, gateways fill the gaps")


@restore_app.command("gateway")
def restore_gateway_cmd(
    from_: Annotated[Path, typer.Option("--from", help="A file made by 'noodnet backup gateway'")],
    db_path: Annotated[
        Path | None, typer.Option(help="Outbox SQLite file [NOODNET_DB_PATH]")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file (moved aside)")] = False,
) -> None:
    """Put a gateway's outbox back (the gateway stopped): its sequence numbering continues."""
    path = db_path or Path(os.environ.get("NOODNET_DB_PATH", "var/noodnet-gateway.db"))
    try:
        info = sqlite_restore(from_, path, force)
    except BackupError as exc:
        raise _fail(exc) from None
    typer.echo(f"restored: {info.describe()}")


def db_check(database_url: DbUrl = None) -> None:
    """Does the CP's database match the code (alembic check)? Exit 1 with the differences."""
    import importlib

    from sqlmodel import SQLModel

    from noodnet.schemadrift import describe, diff
    from service.db import make_engine

    for module in (
        "service.auth.models",
        "service.bulletins.models",
        "service.limits.models",
        "service.models",
        "service.region.models",
        "service.tasks.models",
        "service.triage.models",
        "service.upstream.models",
    ):
        importlib.import_module(module)
    engine = make_engine(_url(database_url))
    try:
        problems = describe(diff(engine, SQLModel.metadata))
    finally:
        engine.dispose()
    if problems:
        typer.echo("the database differs from the models:\n  " + "\n  ".join(problems), err=True)
        raise typer.Exit(1)
    typer.echo("database schema matches the models")


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.add_typer(restore_app, name="restore")
    app.command("db-check")(db_check)
