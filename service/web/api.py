"""The picture for dashboards, and GeoJSON exports for GIS teams, in either role."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from noodcore.db import table_of
from noodcore.httpguard import require
from service.auth.roles import READERS
from service.region.picture import region_picture
from service.settings import Role
from service.triage.models import TriageItem
from service.triage.workflow import OPEN_STATES
from service.upstream.events import last_event_id
from service.upstream.picture import Picture, cp_picture
from service.upstream.runtime import Upstream, UpstreamDep

router = APIRouter(prefix="/api/v1", tags=["picture"])

GEOJSON = "application/geo+json"


class PictureOut(Picture):
    last_event_id: int


def build_picture(up: Upstream) -> PictureOut:
    # The id is read first: an event committed while the picture is built is then streamed
    # again (harmless) rather than missed.
    last = last_event_id(up.engine)
    if up.role == Role.REGION:
        pic = region_picture(up.engine, up.settings.cp_id)
    else:
        pic = cp_picture(up.engine, up.config)
    return PictureOut(**pic.model_dump(), last_event_id=last)


@router.get(
    "/picture",
    summary="The current picture: NSPs per CP, open requests, needs, questions, P1 items",
    dependencies=[require(*READERS)],
)
async def picture(up: UpstreamDep) -> PictureOut:
    return await run_in_threadpool(build_picture, up)


def _point(lat: Any, lon: Any) -> dict[str, Any] | None:
    if lat is None or lon is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


@router.get(
    "/geo/nsps.geojson",
    summary="NSPs as a GeoJSON FeatureCollection (unlocated NSPs have a null geometry)",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
    dependencies=[require(*READERS)],
)
async def nsps_geojson(up: UpstreamDep) -> JSONResponse:
    pic = await run_in_threadpool(build_picture, up)
    features = []
    for cp in pic.cps:
        for n in cp.content.nsps:
            props = n.model_dump(mode="json", exclude={"lat", "lon", "gaps"})
            features.append(
                {
                    "type": "Feature",
                    "id": f"{cp.cp_id}/{n.nsp_id}",
                    "geometry": _point(n.lat, n.lon),
                    "properties": {"cp_id": cp.cp_id, **props},
                }
            )
    return _collection(features, pic)


@router.get(
    "/geo/help-requests.geojson",
    summary="Open help and resource requests (P1 items and the most urgent open items) "
    "as GeoJSON; requests with only an address have a null geometry",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
    dependencies=[require(*READERS)],
)
async def help_requests_geojson(up: UpstreamDep) -> JSONResponse:
    pic = await run_in_threadpool(build_picture, up)
    features: dict[str, dict[str, Any]] = {}
    for p in pic.p1_items:
        loc = p.location or {}
        features[p.message_id] = {
            "type": "Feature",
            "id": p.message_id,
            "geometry": _point(loc.get("lat"), loc.get("lon")),
            "properties": {
                "cp_id": p.cp_id,
                "nsp_id": p.nsp_id,
                "kind": p.kind,
                "urgency": "P1",
                "category": p.category,
                "text": p.text,
                "address": loc.get("address"),
                "received_at": p.received_at.isoformat(),
            },
        }
    for cp in pic.cps:
        for item in cp.content.open_items:
            if item.message_id in features:
                continue
            where = item.location
            features[item.message_id] = {
                "type": "Feature",
                "id": item.message_id,
                "geometry": _point(where.lat, where.lon) if where else None,
                "properties": {
                    "cp_id": cp.cp_id,
                    "nsp_id": item.nsp_id,
                    "kind": item.kind,
                    "urgency": item.urgency.value,
                    "category": item.category,
                    "text": item.text,
                    "address": where.address if where else None,
                    "received_at": item.received_at.isoformat(),
                    "reason": item.reason,
                },
            }
    return _collection(list(features.values()), pic)


def _collection(features: list[dict[str, Any]], pic: Picture) -> JSONResponse:
    return JSONResponse(
        {
            "type": "FeatureCollection",
            "generated_at": pic.generated_at.isoformat(),
            "node_id": pic.node_id,
            "features": features,
        },
        media_type=GEOJSON,
    )


@router.get(
    "/geo/incidents.geojson",
    summary="Open incidents (grouped reports) at this CP as GeoJSON; incidents known only by "
    "address have a null geometry",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
    dependencies=[require(*READERS)],
)
def incidents_geojson(up: UpstreamDep) -> JSONResponse:
    item = table_of(TriageItem)
    query = (
        sa.select(item)
        .where(item.c.item_type == "incident")
        .where(item.c.state.in_(OPEN_STATES))
        .where(item.c.merged_into.is_(None))
        .order_by(item.c.id)
    )
    with up.engine.connect() as conn:
        rows = conn.execute(query).all()
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": _point(r.lat, r.lon),
            "properties": {
                "family": r.family,
                "category": r.category,
                "state": r.state,
                "urgency": r.top_class,
                "life_threatening": r.life_threatening,
                "report_count": r.report_count,
                "nsp_ids": r.nsp_ids,
                "address": r.address,
                "description": r.description,
                "first_seen": r.first_seen.isoformat(),
                "last_seen": r.last_seen.isoformat(),
            },
        }
        for r in rows
    ]
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type=GEOJSON)
