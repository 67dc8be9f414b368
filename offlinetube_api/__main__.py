"""`offlinetube-api` / `python -m offlinetube_api`: start the server or a download worker, manage
API keys, back up the database or rebuild it from the library on disk."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import uvicorn
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from offlinetube_api import __version__
from offlinetube_api.api.auth import is_loopback_host
from offlinetube_api.config import (
    MAX_DOWNLOAD_SLOTS,
    BadSetting,
    Settings,
    redacted,
    redacted_proxy,
    unknown_variables,
)
from offlinetube_api.instance_lock import lock_data_folder
from offlinetube_api.key_command import add_keys_command, manage_keys
from offlinetube_api.library import RebuildReport, rebuild
from offlinetube_api.logs import start_logging
from offlinetube_api.main import create_app
from offlinetube_api.security.key_tables import opened_key_store
from offlinetube_api.server_config import listening_sockets, uvicorn_config
from offlinetube_api.store import open_store
from offlinetube_api.store_upkeep import DatabaseUnusable, backup_database, check_database
from offlinetube_api.worker_command import run_worker
from offlinetube_api.ytdlp_command import add_ytdlp_command, manage_ytdlp

# Named, not __name__: run as `python -m offlinetube_api` this module is `__main__`.
logger = logging.getLogger("offlinetube_api.config")

OPEN_ON_NETWORK = """Refusing to listen on {host} with no API key: anyone on the network could
download, stream and delete. Either create a key first:
    offlinetube-api keys create --scope admin --name me
or, to run open on purpose, set OFFLINETUBE_AUTH=off."""

DAMAGED_DATABASE = """{problem}. Restore a backup over it (made with \
`offlinetube-api backup <file>`), or move it aside and run `offlinetube-api rebuild` to restore \
the library from the files in {downloads}."""


def _refuse_unusable_database(settings: Settings) -> None:
    """One line and exit code 2, instead of a service that starts and then fails every write."""
    try:
        check_database(settings.database_path)
    except DatabaseUnusable as exc:
        print(
            DAMAGED_DATABASE.format(problem=exc, downloads=settings.downloads_dir), file=sys.stderr
        )
        sys.exit(2)


WORKERS_NEED_DATABASE = """--workers sets the download slots of a process among others on a
shared database (OFFLINETUBE_DATABASE_URL=postgresql://...); without one, the service runs
OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS downloads itself."""


def start_process(settings: Settings) -> None:
    """What a long-running process (`serve`, `worker`) sets up first: its logging, and a
    umask under which nothing it makes is writable by every user, even after `umask 000`."""
    start_logging(settings)
    for line in unknown_variables(os.environ):
        logger.warning(line)
    os.umask(os.umask(0) | 0o002)


def serve(settings: Settings, workers: int | None = None) -> None:
    """`workers`: download slots of this process in distributed mode (0: API only). Raises
    BadSetting (an unusable folder, a busy port) before anything starts."""
    if workers is not None and not settings.distributed:
        print(WORKERS_NEED_DATABASE, file=sys.stderr)
        sys.exit(2)
    settings.create_folders()
    lock_data_folder(settings.data_dir, shared=settings.distributed)
    listeners = listening_sockets(settings)
    start_process(settings)
    if not settings.distributed:  # the SQLite database is embedded mode's
        _refuse_unusable_database(settings)
    if settings.auth is None and not is_loopback_host(settings.host) and not _any_key(settings):
        print(OPEN_ON_NETWORK.format(host=settings.host), file=sys.stderr)
        sys.exit(2)
    app = create_app(settings, download_slots=workers)
    uvicorn.Server(uvicorn_config(app, settings)).run(sockets=listeners)


def _any_key(settings: Settings) -> bool:
    async def look() -> bool:
        async with opened_key_store(settings) as keys:
            return bool(await keys.active())

    return asyncio.run(look())


BACKUP_IS_PG_DUMP = (
    "offlinetube-api backup copies embedded mode's SQLite file; in distributed mode the "
    "library's database is PostgreSQL at {url}: back it up with pg_dump"
)


def backup(settings: Settings, target: Path) -> None:
    if settings.database_url is not None:
        url = redacted(settings.database_url.get_secret_value())
        print(BACKUP_IS_PG_DUMP.format(url=url), file=sys.stderr)
        sys.exit(2)
    try:
        tasks = backup_database(settings.database_path, target)
    except (DatabaseUnusable, ValueError) as exc:
        sys.exit(str(exc))
    print(f"backed up {tasks} tasks from {settings.database_path} to {target}")


async def _rebuild(settings: Settings) -> RebuildReport:
    store = open_store(settings, announce=lambda: None)  # no service of this process listens
    await store.open()
    try:
        return await rebuild(
            store, downloads_dir=settings.downloads_dir, thumbnails_dir=settings.thumbnails_dir
        )
    finally:
        await store.close()


def rebuild_library(settings: Settings) -> None:
    """Into the store `settings` name: the SQLite file of the data folder, or PostgreSQL."""
    # A running service would race it: a removal in flight could be restored from its sidecar.
    # Held alone in distributed mode too, so replicas and workers sharing this data folder (as
    # compose.distributed.yaml's do) must stop first; those on other hosts the README asks to stop.
    settings.create_folders()
    lock_data_folder(settings.data_dir)
    if settings.database_url is None:
        _refuse_unusable_database(settings)
        database = str(settings.database_path)
    else:
        database = redacted(settings.database_url.get_secret_value())
    report = asyncio.run(_rebuild(settings))
    for reason in report.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    print(
        f"restored {len(report.restored)} tasks from {settings.downloads_dir}; "
        f"{report.already_known} were already in {database}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="offlinetube-api", description="OfflineTube API server")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the HTTP service (the default)")
    serve.add_argument(
        "--workers",
        type=_slots(0),
        metavar="N",
        help="distributed mode: downloads this process runs at once, 0 for an API-only replica "
        "(default: OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS)",
    )
    worker = commands.add_parser(
        "worker", help="distributed mode: run downloads for the shared database, without HTTP"
    )
    worker.add_argument(
        "--concurrency",
        type=_slots(1),
        metavar="N",
        help="downloads at once (default: OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS)",
    )
    add_keys_command(commands)
    add_ytdlp_command(commands)
    backup = commands.add_parser(
        "backup", help="copy the database to a file, safely while the service runs"
    )
    backup.add_argument("file", type=Path, help="where the copy goes (replaced if it exists)")
    commands.add_parser(
        "rebuild", help="restore finished tasks missing from the database from the files on disk"
    )
    return parser


def _slots(lowest: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `lowest` to MAX_DOWNLOAD_SLOTS."""

    def slots(text: str) -> int:
        if not text.isdigit() or not lowest <= int(text) <= MAX_DOWNLOAD_SLOTS:
            raise argparse.ArgumentTypeError(
                f"a whole number from {lowest} to {MAX_DOWNLOAD_SLOTS}"
            )
        return int(text)

    return slots


def _settings() -> Settings:
    """A bad setting stops the service with one line per setting, naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        refuse_settings([_bad_setting(error) for error in exc.errors()])


def _bad_setting(error: ErrorDetails) -> str:
    # The rest of `loc` is a place inside the value (an item of a list), not part of the name.
    name = f"OFFLINETUBE_{str(error['loc'][0]).upper()}"
    given = error["input"]
    if name == "OFFLINETUBE_DATABASE_URL" and isinstance(given, str):
        given = redacted(given)
    elif name == "OFFLINETUBE_PROXY" and isinstance(given, str):
        given = redacted_proxy(given)
    return f"{name}: {error['msg']} (got {given!r})"


def refuse_settings(lines: list[str]) -> NoReturn:
    """The end of a start with bad settings: `lines` (one per setting) on stderr, exit code 2,
    like the command line's other refusals."""
    print("\n".join(lines), file=sys.stderr)
    sys.exit(2)


def _refuse_unreachable_database(settings: Settings) -> None:
    """Distributed mode: a database address PostgreSQL does not answer at (a wrong port or
    host, a database that does not exist, a wrong password) is a bad setting, told in one line
    within seconds, rather than a traceback once the connection pool gives up."""
    assert settings.database_url is not None
    # Loaded here: the embedded service never imports psycopg.
    from offlinetube_api.store.postgres import DatabaseUnreachable, check_reachable

    url = settings.database_url.get_secret_value()
    try:
        asyncio.run(check_reachable(url))
    except DatabaseUnreachable as exc:
        refuse_settings(
            [f"OFFLINETUBE_DATABASE_URL: cannot connect: {exc} (got {redacted(url)!r})"]
        )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = _settings()
    try:
        _run(args, settings)
    except BadSetting as refused:
        refuse_settings([str(refused)])


def _run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "backup":
        backup(settings, args.file)
        return
    if args.command == "ytdlp":  # touches the data folder only, never the database
        manage_ytdlp(settings, args)
        return
    if settings.distributed:
        _refuse_unreachable_database(settings)
    if args.command == "keys":
        manage_keys(settings, args)
    elif args.command == "rebuild":
        rebuild_library(settings)
    elif args.command == "worker":
        start_process(settings)
        run_worker(settings, args.concurrency)
    else:
        serve(settings, getattr(args, "workers", None))


if __name__ == "__main__":
    main()
