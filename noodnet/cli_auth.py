"""``noodnet token``, ``noodnet staff-token`` and ``noodnet provision``: credentials from the
command line (the first admin token has to come from somewhere: the database itself)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from noodcore.httpguard import Role

token_app = typer.Typer(help="API tokens of the CP service (written straight to its database).")
staff_app = typer.Typer(help="Tokens for the gateway's local API (in the gateway's database).")
provision_app = typer.Typer(help="Give an NSP its identity at the CP and the broker, or revoke it.")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="CP database [NOODNET_DATABASE_URL]; default as for 'noodnet cp'"),
]
DbPath = Annotated[Path, typer.Option(help="Gateway database file [NOODNET_DB_PATH]")]


def _cp_engine(database_url: str | None) -> Engine:
    from service.db import make_engine, migrate
    from service.settings import ServiceSettings

    url = database_url or ServiceSettings().database_url
    engine = make_engine(url)
    migrate(engine)
    return engine


def _role(value: str) -> Role:
    from noodcore.httpguard import Role

    try:
        return Role(value)
    except ValueError:
        typer.echo(f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from None


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who holds it; named in audit trails")],
    role: Annotated[str, typer.Option(help="gateway, operator, viewer or admin")],
    nsp_id: Annotated[str | None, typer.Option(help="NSP of a gateway token")] = None,
    days: Annotated[float, typer.Option(min=0.001, help="Lifetime in days")] = 90,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a token; prints the secret once."""
    from service.auth.tokens import TokenError, create_token_cli

    engine = _cp_engine(database_url)
    try:
        issued = create_token_cli(
            engine, name=name, role=_role(role), expires_in=timedelta(days=days), nsp_id=nsp_id
        )
    except TokenError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"token {issued.row.id} for {name} ({role}), valid until {issued.row.expires_at}:")
    typer.echo(issued.token)


@token_app.command("list")
def token_list(database_url: DatabaseUrl = None) -> None:
    from sqlmodel import Session, select

    from service.auth.models import ApiToken

    engine = _cp_engine(database_url)
    with Session(engine) as session:
        for t in session.exec(select(ApiToken).order_by(ApiToken.id)).all():  # type: ignore[arg-type]
            state = (
                f"revoked {t.revoked_at:%Y-%m-%d}"
                if t.revoked_at
                else f"until {t.expires_at:%Y-%m-%d}"
            )
            typer.echo(
                f"{t.id:>5}  {t.hint}…  {t.role:<9} {t.name:<24} {t.nsp_id or '':<20} {state}"
            )
    engine.dispose()


@token_app.command("revoke")
def token_revoke(token_id: int, database_url: DatabaseUrl = None) -> None:
    from sqlmodel import Session

    from service.auth.tokens import TokenError, revoke_token

    engine = _cp_engine(database_url)
    try:
        with Session(engine) as session:
            revoke_token(session, token_id, "cli")
            session.commit()
    except (LookupError, TokenError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"token {token_id} revoked")


@staff_app.command("create")
def staff_create(
    name: Annotated[str, typer.Option(help="Who holds it (staff member or screen)")],
    db_path: DbPath,
    role: Annotated[str, typer.Option(help="nsp-staff, or viewer for an info-board screen")] = (
        "nsp-staff"
    ),
    days: Annotated[float, typer.Option(min=0.001, help="Lifetime in days")] = 30,
) -> None:
    from gateway import auth

    engine = auth.open_engine(db_path)
    try:
        issued = auth.issue(engine, name, _role(role), timedelta(days=days))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"token {issued.id} for {name} ({role}), valid until {issued.expires_at}:")
    typer.echo(issued.token)


@staff_app.command("list")
def staff_list(db_path: DbPath) -> None:
    from gateway import auth

    engine = auth.open_engine(db_path)
    for t in auth.list_tokens(engine):
        state = (
            f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else f"until {t.expires_at:%Y-%m-%d}"
        )
        typer.echo(f"{t.id:>5}  {t.hint}…  {t.role:<9} {t.name:<24} {state}")
    engine.dispose()


@staff_app.command("revoke")
def staff_revoke(token_id: int, db_path: DbPath) -> None:
    from gateway import auth

    engine = auth.open_engine(db_path)
    ok = auth.revoke(engine, token_id)
    engine.dispose()
    if not ok:
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")


CpUrl = Annotated[str, typer.Option(help="CP service URL")]
AdminToken = Annotated[
    str | None, typer.Option(help="Admin API token [NOODNET_ADMIN_TOKEN]; prefer the env var")
]
PasswdFileOpt = Annotated[Path, typer.Option(help="Mosquitto password file")]
PidFile = Annotated[
    Path | None, typer.Option(help="Mosquitto pid file: send SIGHUP to reload its files")
]
ReloadCommand = Annotated[
    str | None,
    typer.Option(help="Command that reloads the broker, e.g. 'systemctl reload mosquitto'"),
]


def _admin_token(token: str | None) -> str:
    token = token or os.environ.get("NOODNET_ADMIN_TOKEN")
    if not token:
        typer.echo("an admin token is needed: --admin-token or NOODNET_ADMIN_TOKEN", err=True)
        raise typer.Exit(2)
    return token


@provision_app.command("nsp")
def provision_nsp(
    nsp_id: Annotated[str, typer.Argument(help="The NSP id (lowercase, digits, - and _)")],
    name: Annotated[str, typer.Option(help="Name of the place, e.g. 'Bibliotheek Oss'")],
    address: Annotated[str | None, typer.Option(help="Street address")] = None,
    lat: Annotated[float | None, typer.Option(help="WGS84 latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="WGS84 longitude")] = None,
    short_code: Annotated[
        str | None,
        typer.Option(help="Short code for radio/SMS (2-6 letters/digits); default: proposed"),
    ] = None,
    cp_url: CpUrl = "http://127.0.0.1:8080",
    admin_token: AdminToken = None,
    passwd_file: PasswdFileOpt = Path("/etc/mosquitto/noodnet.passwd"),
    broker_host: Annotated[str, typer.Option(help="Broker address as the gateway sees it")] = (
        "127.0.0.1"
    ),
    broker_port: Annotated[int, typer.Option(help="Broker port as the gateway sees it")] = 1883,
    ca_file: Annotated[str | None, typer.Option(help="CA file path on the gateway (TLS)")] = None,
    cert_file: Annotated[str | None, typer.Option(help="Client cert path on the gateway")] = None,
    key_file: Annotated[str | None, typer.Option(help="Client key path on the gateway")] = None,
    pid_file: PidFile = None,
    reload_command: ReloadCommand = None,
    env_out: Annotated[
        Path | None, typer.Option(help="Also write the gateway env file here (mode 0600)")
    ] = None,
) -> None:
    """Register the NSP at the CP, create its broker identity and print its gateway env file."""
    import re

    from noodnet import provision
    from schemas.common import ID_PATTERN

    if not re.match(ID_PATTERN, nsp_id):
        typer.echo(f"invalid NSP id {nsp_id!r}: lowercase letters, digits, - and _", err=True)
        raise typer.Exit(2)
    client = provision.ServiceClient(cp_url, _admin_token(admin_token))
    try:
        registration = {"name": name, "address": address, "lat": lat, "lon": lon}
        nsp = client.register(nsp_id, {k: v for k, v in registration.items() if v is not None})
        fallback = client.setup_fallback(nsp_id, short_code)
    except provision.ProvisionError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    password = provision.new_password()
    provision.PasswdFile(passwd_file).set(nsp_id, password)
    reloaded = provision.reload_broker(pid_file, reload_command)
    env = provision.GatewayEnv(
        nsp_id=nsp_id,
        cp_id=nsp["cp_id"],
        mqtt_host=broker_host,
        mqtt_port=broker_port,
        mqtt_password=password,
        mqtt_ca_file=ca_file,
        mqtt_cert_file=cert_file,
        mqtt_key_file=key_file,
        short_code=fallback["short_code"],
        transfer_key=fallback["transfer_key"],
    ).render()
    if env_out is not None:
        env_out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(env_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(env)
    typer.echo(f"NSP {nsp_id} registered at {cp_url} (CP {nsp['cp_id']})", err=True)
    typer.echo(f"broker identity '{nsp_id}' written to {passwd_file}; {reloaded}", err=True)
    typer.echo(
        f"short code {fallback['short_code']}, new transfer key {fallback['key_id']} "
        "(USB-stick files signed with an older key are refused from now on)",
        err=True,
    )
    typer.echo("ACL (pattern rules, username = NSP id) grants:", err=True)
    for line in provision.acl_entries(nsp["cp_id"], nsp_id):
        typer.echo(f"  {line}", err=True)
    typer.echo(f"gateway env file{f' (written to {env_out})' if env_out else ''}:", err=True)
    typer.echo(env, nl=False)


@provision_app.command("revoke")
def provision_revoke(
    nsp_id: Annotated[str, typer.Argument(help="The NSP id")],
    cp_url: CpUrl = "http://127.0.0.1:8080",
    admin_token: AdminToken = None,
    passwd_file: PasswdFileOpt = Path("/etc/mosquitto/noodnet.passwd"),
    pid_file: PidFile = None,
    reload_command: ReloadCommand = None,
) -> None:
    """Remove the NSP's broker identity (its connection is dropped) and its API tokens."""
    from noodnet import provision

    removed = provision.PasswdFile(passwd_file).remove(nsp_id)
    reloaded = provision.reload_broker(pid_file, reload_command)
    typer.echo(
        f"broker identity '{nsp_id}' {'removed from' if removed else 'was not in'} "
        f"{passwd_file}; {reloaded}"
    )
    client = provision.ServiceClient(cp_url, _admin_token(admin_token))
    try:
        result = client.revoke(nsp_id)
    except provision.ProvisionError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    typer.echo(f"API tokens revoked at the CP: {result['revoked_token_ids'] or 'none'}")


screen_app = typer.Typer(
    help="Staff screens of the gateway: pair once with a one-time code, then a PIN per shift."
)


def _screen_engine(db_path: Path) -> Engine:
    from gateway import auth, screens

    engine = auth.open_engine(db_path)
    screens.ensure_table(engine)
    return engine


@screen_app.command("pair")
def screen_pair(
    name: Annotated[str, typer.Option(help="Name of the screen, e.g. 'Balie 1'")],
    db_path: DbPath,
    pin: Annotated[
        str | None, typer.Option(help="PIN of the first shift (4-8 digits); or set it later")
    ] = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 7, help="Shift length")] = 12,
    url: Annotated[
        str | None, typer.Option(help="The gateway's address as screens reach it, for the QR")
    ] = None,
) -> None:
    """Make a one-time pairing code (valid 15 minutes) and show it, with a QR code."""
    from gateway import screens

    engine = _screen_engine(db_path)
    try:
        pairing = screens.create(engine, name, pin, timedelta(hours=hours))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(
        f"screen {pairing.screen_id} '{name}': pairing code (valid until "
        f"{pairing.expires_at:%H:%M} UTC, once):"
    )
    typer.echo(f"    {screens.format_code(pairing.code)}")
    if url:
        import segno

        link = f"{url.rstrip('/')}{screens.PAIR_PATH}?code={pairing.code}"
        typer.echo(f"or open {link}")
        segno.make(link, error="m").terminal(compact=True)


@screen_app.command("pin")
def screen_pin(
    screen_id: int,
    db_path: DbPath,
    pin: Annotated[str, typer.Option(prompt=True, hide_input=True, help="4-8 digits")],
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 7, help="Shift length")] = 12,
) -> None:
    """Set the PIN of the next shift (the old one stops working)."""
    from gateway import screens

    engine = _screen_engine(db_path)
    try:
        until = screens.set_pin(engine, screen_id, pin, timedelta(hours=hours))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"PIN of screen {screen_id} set, valid until {until:%Y-%m-%d %H:%M} UTC")


@screen_app.command("list")
def screen_list(db_path: DbPath) -> None:
    from gateway import screens

    engine = _screen_engine(db_path)
    for s in screens.list_screens(engine):
        state = (
            f"revoked {s.revoked_at:%Y-%m-%d}"
            if s.revoked_at
            else "paired"
            if s.paired_at
            else "waiting for pairing"
        )
        typer.echo(f"{s.id:>5}  {s.name:<24} {state}")
    engine.dispose()


@screen_app.command("revoke")
def screen_revoke(screen_id: int, db_path: DbPath) -> None:
    """Unpair a screen (lost or stolen) and sign out every shift on it."""
    from gateway import screens

    engine = _screen_engine(db_path)
    ok = screens.revoke(engine, screen_id)
    engine.dispose()
    if not ok:
        typer.echo(f"no active screen {screen_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"screen {screen_id} revoked; its sign-ins are ended")
