"""``noodnet aid``: the retention purge and the removal of a volunteer at a gateway (AVG).

Run on the gateway (the Pi) against its database file, also while the gateway runs: the
changes and the new volunteer counts for the CP are one transaction in the outbox, which
the running gateway sends like any other message. See docs/avg.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

aid_app = typer.Typer(
    help="Citizen aid at a gateway: purge old personal data, remove a volunteer (AVG).",
    no_args_is_help=True,
)

DbPath = Annotated[Path, typer.Option(help="Gateway database file [NOODNET_DB_PATH]")]


def _open(db_path: Path, nsp_id: str) -> object:
    from gateway.outbox import Outbox

    if not db_path.exists():
        typer.echo(f"no gateway database at {db_path}", err=True)
        raise typer.Exit(2)
    return Outbox(db_path, nsp_id)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"--crisis-ended: {value!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@aid_app.command("purge")
def purge(
    db_path: DbPath,
    nsp_id: Annotated[str, typer.Option(help="This gateway's NSP id [NOODNET_NSP_ID]")],
    retention_days: Annotated[
        int, typer.Option(min=0, max=3650, help="Days personal data is kept")
    ] = 30,
    crisis_ended: Annotated[
        str | None,
        typer.Option(
            help="When the crisis ended (YYYY-MM-DD): then everything goes once the retention "
            "after it has passed; without it, whatever is older than the retention goes"
        ),
    ] = None,
) -> None:
    """Delete volunteers, finished help jobs and household codes past the retention."""
    from gateway.aid import AidStore, retention_cutoff
    from gateway.goods import GoodsStore
    from gateway.outbox import Outbox

    outbox = _open(db_path, nsp_id)
    assert isinstance(outbox, Outbox)
    try:
        cutoff = retention_cutoff(datetime.now(UTC), retention_days, _date(crisis_ended))
        if cutoff is None:
            typer.echo("nothing to purge yet: the retention after the crisis has not passed")
            return
        counts = AidStore(outbox).purge(cutoff)
        codes = GoodsStore(outbox).purge_codes(cutoff)
    finally:
        outbox.close()
    typer.echo(
        f"purged {counts['volunteers']} volunteer(s), {counts['assignments']} finished help "
        f"job(s) and {codes} household code record(s) older than {cutoff.isoformat()}"
    )


@aid_app.command("remove")
def remove(
    db_path: DbPath,
    nsp_id: Annotated[str, typer.Option(help="This gateway's NSP id [NOODNET_NSP_ID]")],
    volunteer_id: Annotated[int, typer.Option(min=1, help="The volunteer's local number")],
) -> None:
    """Remove one volunteer with all their data (a request under the AVG)."""
    from gateway.aid import AidError, AidStore
    from gateway.outbox import Outbox

    outbox = _open(db_path, nsp_id)
    assert isinstance(outbox, Outbox)
    try:
        AidStore(outbox).remove(volunteer_id)
    except AidError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        outbox.close()
    typer.echo(f"volunteer {volunteer_id} removed with all their data")
