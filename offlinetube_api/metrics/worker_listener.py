"""The HTTP listener of `offlinetube-api worker` when OFFLINETUBE_METRICS_PORT is set: its own
GET /metrics (the downloads this worker ran) and GET /healthz, on OFFLINETUBE_HOST. A worker
serves nothing else, so this is all a Prometheus server or a container probe can ask it.

/metrics takes the same keys as the API replicas (scope `metrics` or `admin`, by the same
rules: OFFLINETUBE_AUTH, the keys in the shared database, a network address)."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI, Response
from prometheus_client import CollectorRegistry

from offlinetube_api.api.auth import AuthPolicy, require
from offlinetube_api.api.routes.probes import get_liveness
from offlinetube_api.config import Settings
from offlinetube_api.errors import install_error_handlers
from offlinetube_api.metrics.service import CONTENT_TYPE, exposition
from offlinetube_api.security.keys import Scope
from offlinetube_api.server_config import listening_sockets

PORT_VARIABLE = "OFFLINETUBE_METRICS_PORT"


def metrics_sockets(settings: Settings) -> list[socket.socket]:
    """Bound before the worker starts, so a busy port stops it at once (PortUnavailable,
    naming OFFLINETUBE_METRICS_PORT); none when the setting is unset."""
    if settings.metrics_port is None:
        return []
    return listening_sockets(settings, port=settings.metrics_port, port_variable=PORT_VARIABLE)


def listener_app(registry: CollectorRegistry, auth: AuthPolicy) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.auth = auth
    install_error_handlers(app)

    async def get_metrics() -> Response:
        return Response(exposition(registry), media_type=CONTENT_TYPE)

    app.add_api_route("/metrics", get_metrics, dependencies=[Depends(require(Scope.METRICS))])
    app.add_api_route("/healthz", get_liveness)
    return app


@asynccontextmanager
async def serving(sockets: list[socket.socket], app: FastAPI) -> AsyncIterator[None]:
    """Serves `app` on `sockets` (none: nothing) until the block ends. uvicorn's own signal
    handling is left out (its `serve` would take SIGTERM from the worker), and so is its
    logging set-up and access log: a scrape every few seconds is not news."""
    if not sockets:
        yield
        return
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=sockets)
    loop = asyncio.create_task(server.main_loop(), name="metrics-listener")
    try:
        yield
    finally:
        server.should_exit = True
        await loop
        await server.shutdown(sockets=sockets)
