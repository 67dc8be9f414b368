"""`offlinetube-api` / `python -m offlinetube_api`: start the server."""

import argparse
import logging

import uvicorn

from offlinetube_api import __version__
from offlinetube_api.config import Settings
from offlinetube_api.main import create_app


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Open event streams would otherwise hold the exit up for as long as they stay open.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="offlinetube-api", description="OfflineTube API server")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the HTTP service (the default)")
    parser.parse_args(argv)
    serve(Settings())


if __name__ == "__main__":
    main()
