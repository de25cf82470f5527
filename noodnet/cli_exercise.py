"""``noodnet exercise ...``: open, list, close, export and purge an exercise at the CP (over
its HTTP API, with an operator or admin token), and play a scenario file against the
gateways (over their HTTP APIs). See docs/exercise.md.

Every failure is one line saying what went wrong, exit status 1 (2 for bad arguments).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from noodnet.exercise_play import ScenarioError, demo_scenario, load, load_gateways, play

exercise_app = typer.Typer(
    help="Exercises (oefening): open, close, export, purge at the CP; play a scenario.",
    no_args_is_help=True,
)

CpUrl = Annotated[
    str, typer.Option(envvar="NOODNET_CP_URL", help="The CP service [NOODNET_CP_URL]")
]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="NOODNET_TOKEN",
        help="Operator (admin for purge) token [NOODNET_TOKEN]; use the env var",
    ),
]


def _call(method: str, cp_url: str, token: str | None, path: str, **kw: Any) -> httpx.Response:
    token = token or os.environ.get("NOODNET_TOKEN")
    if not token:
        typer.echo("error: no token: set NOODNET_TOKEN (an operator or admin token)", err=True)
        raise typer.Exit(2)
    try:
        r = httpx.request(
            method,
            cp_url.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            **kw,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: CP not reachable at {cp_url}: {exc}", err=True)
        raise typer.Exit(1) from None
    if r.status_code >= 300:
        try:
            detail = r.json().get("detail")
        except ValueError:
            detail = r.text[:300]
        typer.echo(f"error: HTTP {r.status_code}: {detail}", err=True)
        raise typer.Exit(1)
    return r


def _show(x: dict[str, Any]) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in x["counts"].items() if v)
    typer.echo(f"{x['exercise_id']:<24} {x['state']:<7} {x['name']}  ({counts or 'no data'})")


@exercise_app.command("open")
def open_cmd(
    exercise_id: Annotated[str, typer.Argument(help="e.g. oef-2026-12-stroom")],
    name: Annotated[str, typer.Option(help="Readable name")],
    cp_url: CpUrl = "http://127.0.0.1:8000",
    token: Token = None,
) -> None:
    """Open an exercise at the CP."""
    r = _call(
        "POST", cp_url, token, "/api/v1/exercises", json={"exercise_id": exercise_id, "name": name}
    )
    _show(r.json())


@exercise_app.command("list")
def list_cmd(cp_url: CpUrl = "http://127.0.0.1:8000", token: Token = None) -> None:
    """Every exercise with its state and what it holds."""
    for x in _call("GET", cp_url, token, "/api/v1/exercises").json():
        _show(x)


@exercise_app.command("close")
def close_cmd(
    exercise_id: str, cp_url: CpUrl = "http://127.0.0.1:8000", token: Token = None
) -> None:
    """Close an exercise (what still arrives for it is stored, marked)."""
    _show(_call("POST", cp_url, token, f"/api/v1/exercises/{exercise_id}/close").json())


@exercise_app.command("export")
def export_cmd(
    exercise_id: str,
    out: Annotated[Path, typer.Option(help="File to write")],
    format: Annotated[str, typer.Option(help="json (every table) or csv")] = "json",
    cp_url: CpUrl = "http://127.0.0.1:8000",
    token: Token = None,
) -> None:
    """Write everything the exercise made to a file (before purging it)."""
    if format not in ("json", "csv"):
        typer.echo("error: --format must be json or csv", err=True)
        raise typer.Exit(2)
    r = _call("GET", cp_url, token, f"/api/v1/exercises/{exercise_id}/export?format={format}")
    try:
        out.write_bytes(r.content)
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out} ({len(r.content)} bytes)")


@exercise_app.command("purge")
def purge_cmd(
    exercise_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete (after export)")] = False,
    cp_url: CpUrl = "http://127.0.0.1:8000",
    token: Token = None,
) -> None:
    """Delete everything a closed exercise made at the CP (admin token). Real data stays."""
    if not yes:
        typer.echo("error: purge deletes the exercise's data; export it, then add --yes", err=True)
        raise typer.Exit(2)
    r = _call("POST", cp_url, token, f"/api/v1/exercises/{exercise_id}/purge")
    deleted = r.json()["deleted"]
    typer.echo(f"purged {exercise_id}: " + ", ".join(f"{k} {v}" for k, v in deleted.items() if v))


@exercise_app.command("play")
def play_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (docs/exercise.md)")],
    exercise_id: Annotated[str, typer.Option("--exercise", help="The open exercise's id")],
    gateways: Annotated[
        Path, typer.Option(help='JSON file: {"nsp-id": {"url": ..., "token": staff token}}')
    ],
    speed: Annotated[float, typer.Option(help="2 = twice as fast")] = 1.0,
) -> None:
    """Play a scenario against the gateways' own HTTP APIs, every report marked with the
    exercise, link cuts included."""
    try:
        sc = load(scenario)
        gws = load_gateways(gateways)
        typer.echo(f"playing {sc.name!r}: {len(sc.steps)} steps as exercise {exercise_id}")
        results = play(
            sc,
            gws,
            exercise_id,
            speed,
            on_step=lambda p: typer.echo(
                f"[{p.at:7.1f}s] {p.nsp:<20} {p.what:<17} {'ok' if p.ok else p.detail}"
            ),
        )
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    failed = [r for r in results if not r.ok]
    typer.echo(f"done: {len(results) - len(failed)} ok, {len(failed)} refused")
    raise typer.Exit(1 if failed else 0)


@exercise_app.command("demo-scenario")
def demo_scenario_cmd(
    out: Annotated[Path, typer.Option(help="File to write")],
    nsps: Annotated[int, typer.Option(min=1, max=6)] = 4,
) -> None:
    """Write the demo's scenario as a scenario file (a start for your own)."""
    out.write_text(
        json.dumps(
            demo_scenario(nsps).model_dump(mode="json", exclude_none=True),
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(exercise_app, name="exercise")
