"""The service's app as granian runs it (`granian --interface asgi --factory
bench.granian_app:app`), for issue 16's comparison of HTTP servers: the same settings from the
same OFFLINETUBE_* variables and the same app as `offlinetube-api serve`, without what that
command adds around uvicorn (the guarded HTTP protocol's header timeout and per-client
connection cap, the pre-bound sockets, the data folder's lock). Measurement only: nothing of
the service runs under granian."""

from fastapi import FastAPI

from offlinetube_api.config import Settings
from offlinetube_api.logs import start_logging
from offlinetube_api.main import create_app


def app() -> FastAPI:
    settings = Settings()
    settings.create_folders()
    start_logging(settings)
    return create_app(settings)
