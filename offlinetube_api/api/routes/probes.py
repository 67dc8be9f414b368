"""Probes for Docker and Kubernetes: `/healthz`, the process answers; `/readyz`, it can do its
work. Open, as probes carry no key; neither shows library content (see readiness.py)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from offlinetube_api.api.deps import DownloadSlotsDep, SettingsDep, StoreDep
from offlinetube_api.readiness import readiness
from offlinetube_api.schemas import Liveness, Readiness

router = APIRouter(tags=["health"])


# HEAD too (what uptime monitors send by default), answered like GET without the body; left
# out of the schema, where a second operation would need an id of its own.
@router.head("/healthz", include_in_schema=False, response_model=None)
@router.get("/healthz", response_model=Liveness)
async def get_liveness() -> Liveness:
    """The process answers HTTP; nothing else is checked (a liveness probe)."""
    return Liveness()


@router.head("/readyz", include_in_schema=False, response_model=None)
@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A check fails; `failing` names it."}},
)
async def get_readiness(
    store: StoreDep, settings: SettingsDep, slots: DownloadSlotsDep
) -> Readiness | JSONResponse:
    """The database answers, a download process can start, the downloads folder takes a
    write and keeps more than OFFLINETUBE_MIN_FREE_BYTES free (a readiness probe). An API-only
    replica checks the database and the folder's writes only: it runs no download."""
    answer = Readiness.from_checks(await readiness(store, settings, runs_downloads=slots > 0))
    if answer.failing:
        return JSONResponse(answer.model_dump(mode="json"), status_code=503)
    return answer
