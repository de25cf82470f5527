"""``noodnet``: one command line for every component.

Every option can also be given as a ``NOODNET_*`` environment variable (flags win); see
``noodnet cp --help`` and ``noodnet gateway --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from noodcore.logs import setup_logging

app = typer.Typer(
    help="Noodnet: message backbone between noodsteunpunten (NSP) and coordination points (CP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings(cls: type[Any], **flags: Any) -> Any:
    """Build settings from env + flags, turning validation errors into a clear exit."""
    try:
        return cls(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(settings)'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        typer.echo("invalid configuration:\n" + "\n".join(lines), err=True)
        raise typer.Exit(2) from None


MqttHost = Annotated[str | None, typer.Option(help="MQTT broker host [NOODNET_MQTT_HOST]")]
MqttPort = Annotated[int | None, typer.Option(help="MQTT broker port [NOODNET_MQTT_PORT]")]
MqttUser = Annotated[str | None, typer.Option(help="Broker username [NOODNET_MQTT_USERNAME]")]
MqttPass = Annotated[
    str | None, typer.Option(help="Broker password [NOODNET_MQTT_PASSWORD]; prefer the env var")
]
HttpHost = Annotated[str | None, typer.Option(help="HTTP listen address [NOODNET_HTTP_HOST]")]
HttpPort = Annotated[int | None, typer.Option(help="HTTP listen port [NOODNET_HTTP_PORT]")]
CpId = Annotated[str | None, typer.Option(help="Coordination point id [NOODNET_CP_ID]")]
UpstreamUrls = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated upstream URLs to forward summaries and P1 items to "
        "[NOODNET_UPSTREAM_URLS]"
    ),
]


@app.command()
def cp(
    cp_id: CpId = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL [NOODNET_DATABASE_URL]; default sqlite:///var/noodnet-cp.db, "
            "production e.g. postgresql+psycopg://noodnet@db/noodnet"
        ),
    ] = None,
    mqtt_host: MqttHost = None,
    mqtt_port: MqttPort = None,
    mqtt_username: MqttUser = None,
    mqtt_password: MqttPass = None,
    http_host: HttpHost = None,
    http_port: HttpPort = None,
    upstream_urls: UpstreamUrls = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
) -> None:
    """Run the CP service: MQTT ingest, store, REST API (docs at /docs), crisis-room
    dashboard (/dashboard), summaries and P1 items forwarded to --upstream-urls."""
    from service.app import run
    from service.settings import ServiceSettings
    from service.upstream.settings import UpstreamSettings

    setup_logging(log_level)
    run(
        _settings(
            ServiceSettings,
            cp_id=cp_id,
            database_url=database_url,
            mqtt_host=mqtt_host,
            mqtt_port=mqtt_port,
            mqtt_username=mqtt_username,
            mqtt_password=mqtt_password,
            http_host=http_host,
            http_port=http_port,
        ),
        _settings(UpstreamSettings, upstream_urls=upstream_urls),
    )


@app.command()
def region(
    region_id: Annotated[
        str | None, typer.Option(help="Id of this region [NOODNET_CP_ID]; e.g. vr-brabant-noord")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL [NOODNET_DATABASE_URL]; default var/noodnet-region.db"),
    ] = None,
    http_host: HttpHost = None,
    http_port: HttpPort = None,
    upstream_urls: UpstreamUrls = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
) -> None:
    """Run the service in region role: the upstream for several CPs (and itself forwarding to
    a national level with --upstream-urls). Dashboard at /dashboard."""
    import os

    from service.app import run
    from service.settings import Role, ServiceSettings
    from service.upstream.settings import UpstreamSettings

    setup_logging(log_level)
    settings = _settings(
        ServiceSettings,
        role=Role.REGION,
        cp_id=region_id or os.environ.get("NOODNET_CP_ID") or "region",
        database_url=database_url
        or os.environ.get("NOODNET_DATABASE_URL")
        or "sqlite:///var/noodnet-region.db",
        mqtt_enabled=os.environ.get("NOODNET_MQTT_ENABLED", "false"),
        http_host=http_host,
        http_port=http_port,
    )
    run(settings, _settings(UpstreamSettings, upstream_urls=upstream_urls))


@app.command()
def gateway(
    nsp_id: Annotated[
        str | None, typer.Option(help="This NSP's id [NOODNET_NSP_ID] (required)")
    ] = None,
    cp_id: CpId = None,
    db_path: Annotated[
        Path | None, typer.Option(help="Outbox SQLite file [NOODNET_DB_PATH]")
    ] = None,
    mqtt_host: MqttHost = None,
    mqtt_port: MqttPort = None,
    mqtt_username: MqttUser = None,
    mqtt_password: MqttPass = None,
    http_host: HttpHost = None,
    http_port: HttpPort = None,
    heartbeat_seconds: Annotated[
        float | None, typer.Option(help="Status heartbeat interval [NOODNET_HEARTBEAT_SECONDS]")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING")] = None,
) -> None:
    """Run an NSP gateway: durable outbox, MQTT link to the CP, local staff API."""
    from gateway.api import run
    from gateway.settings import GatewaySettings

    setup_logging(log_level)
    run(
        _settings(
            GatewaySettings,
            nsp_id=nsp_id,
            cp_id=cp_id,
            db_path=db_path,
            mqtt_host=mqtt_host,
            mqtt_port=mqtt_port,
            mqtt_username=mqtt_username,
            mqtt_password=mqtt_password,
            http_host=http_host,
            http_port=http_port,
            heartbeat_seconds=heartbeat_seconds,
        )
    )


@app.command()
def demo(
    gateways: Annotated[int, typer.Option(min=1, max=12, help="Simulated NSPs")] = 4,
    http_port: Annotated[
        int, typer.Option(min=0, max=65535, help="CP service port (0 = pick a free one)")
    ] = 8080,
    mqtt_port: Annotated[int, typer.Option(help="Broker port (0 = pick a free one)")] = 0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C)")
    ] = None,
    speed: Annotated[float, typer.Option(min=0.1, max=100, help="Scenario speed-up")] = 1.0,
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its data")] = Path("var/demo"),
    broker: Annotated[
        str,
        typer.Option(
            help="auto: Mosquitto if installed, else the embedded amqtt broker; "
            "or force 'mosquitto' / 'amqtt'"
        ),
    ] = "auto",
    link_cut_at: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds after the start at which the demo cuts the link and shows the radio "
            "card (docs/fallback.md); 0 = never",
        ),
    ] = 40.0,
) -> None:
    """Everything on one machine: broker, CP service, simulated gateways, outage scenario."""
    from noodnet.demo import run_demo

    setup_logging("WARNING")
    raise typer.Exit(
        run_demo(
            gateways=gateways,
            http_port=http_port,
            mqtt_port=mqtt_port,
            duration=duration,
            speed=speed,
            workdir=workdir,
            broker_kind=broker,
            link_cut_at=link_cut_at or None,
        )
    )


gazetteer_app = typer.Typer(
    help="The CP area's gazetteer (streets, house numbers, towns, named places).",
    no_args_is_help=True,
)
app.add_typer(gazetteer_app, name="gazetteer")


@gazetteer_app.command("import")
def gazetteer_import(
    addresses: Annotated[
        Path | None,
        typer.Option(
            help="Flat BAG address extract, CSV: openbareruimte;huisnummer;huisletter;"
            "huisnummertoevoeging;postcode;woonplaats;gemeente;lat;lon (or x;y in RD)"
        ),
    ] = None,
    places: Annotated[
        Path | None,
        typer.Option(help="Named places, CSV: naam;soort;woonplaats;lat;lon;alias (a|b)"),
    ] = None,
    region: Annotated[
        str, typer.Option(help="Name of this set; a re-import replaces the set of that name")
    ] = "default",
    database_url: Annotated[
        str | None, typer.Option(help="The CP database [NOODNET_DATABASE_URL]")
    ] = None,
) -> None:
    """Load (or replace) a region's gazetteer into the CP database. Bad rows are reported
    with their line number and skipped; the rest is imported. A running CP picks the new
    set up within half a minute."""
    from service.db import make_engine, migrate
    from service.gazetteer.importer import GazetteerFileError, import_gazetteer
    from service.settings import ServiceSettings

    if addresses is None and places is None:
        typer.echo("give --addresses and/or --places", err=True)
        raise typer.Exit(2)
    settings = _settings(ServiceSettings, database_url=database_url)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        report = import_gazetteer(engine, region, addresses, places)
    except GazetteerFileError as exc:
        typer.echo(f"gazetteer not imported: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    for line in report.errors[:200]:
        typer.echo(f"skipped {line}", err=True)
    if len(report.errors) > 200:
        typer.echo(f"... and {len(report.errors) - 200} more bad rows", err=True)
    typer.echo(
        f"gazetteer {region!r}: {report.addresses} addresses, {report.places} places imported, "
        f"{len(report.errors)} bad rows skipped (generation {report.generation})"
    )


def _add_auth_commands() -> None:
    from noodnet.cli_auth import provision_app, screen_app, staff_app, token_app

    app.add_typer(token_app, name="token")
    app.add_typer(staff_app, name="staff-token")
    app.add_typer(screen_app, name="staff-screen")
    app.add_typer(provision_app, name="provision")

    from noodnet.cli_usb import usb_app

    app.add_typer(usb_app, name="usb")

    from noodnet.cli_aid import aid_app

    app.add_typer(aid_app, name="aid")  # retention purge, volunteer removal (docs/avg.md)


_add_auth_commands()


def _add_ops_commands() -> None:
    from noodnet.cli_ops import register

    register(app)  # backup cp|gateway, restore cp, db-check (noodnet/cli_ops.py)


_add_ops_commands()


def _add_exercise_commands() -> None:
    from noodnet.cli_exercise import register

    register(app)  # exercise open|list|close|export|purge|play (noodnet/cli_exercise.py)


_add_exercise_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
