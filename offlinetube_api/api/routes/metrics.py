"""GET /metrics: Prometheus's text format, for a key of scope `metrics` or `admin` when keys
are required."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from offlinetube_api.api.deps import DownloadsDep, EventStreamLimitDep, SettingsDep, StoreDep
from offlinetube_api.metrics.service import CONTENT_TYPE, ServiceMetrics, exposition

router = APIRouter(tags=["operations"])


async def get_metrics_of_app(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics_of_app)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def get_metrics(
    metrics: MetricsDep,
    store: StoreDep,
    downloads: DownloadsDep,
    settings: SettingsDep,
    event_streams: EventStreamLimitDep,
) -> Response:
    """Counters of the downloads this process ran and of the requests it answered, and the
    queue, tasks by status, free space and open event streams as they are now. Every name
    starts with `offlinetube_`."""
    await metrics.figures.read(
        store=store,
        downloads=downloads,
        streams_open=event_streams.streams_open,
        downloads_dir=settings.downloads_dir,
    )
    return Response(exposition(metrics.registry), media_type=CONTENT_TYPE)
