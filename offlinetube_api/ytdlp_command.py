"""`offlinetube-api ytdlp status|update`: the yt-dlp version downloads use, and its update
into the data folder (ytdlp_install.py), as GET /api/admin/ytdlp and POST
/api/admin/ytdlp/update do. A service running on the same data folder starts its next
download with the new version; its running ones finish on theirs."""

import argparse
import sys

from offlinetube_api.config import Settings
from offlinetube_api.ytdlp_install import (
    Channel,
    UpdateFailed,
    installed_version,
    status,
    update,
    ytdlp_folder,
)


def add_ytdlp_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`ytdlp status|update` on the command line's subcommands."""
    ytdlp = commands.add_parser("ytdlp", help="show or update the yt-dlp downloads use")
    actions = ytdlp.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="the version in use and the newest on the index")
    updating = actions.add_parser("update", help="install the newest yt-dlp into the data folder")
    updating.add_argument(
        "--nightly",
        action="store_const",
        const=Channel.NIGHTLY,
        default=Channel.STABLE,
        dest="channel",
        help="the newest nightly build rather than the newest release",
    )


def manage_ytdlp(settings: Settings, args: argparse.Namespace) -> None:
    """Prints the answer; a failed update says why on stderr, with exit code 1."""
    folder = ytdlp_folder(settings.data_dir)
    if args.action == "status":
        found = status(folder, settings.ytdlp_index)
        print(f"yt-dlp {found.installed} ({found.folder or 'the service environment'})")
        print(f"newest {found.newest}" if found.newest else f"newest unknown: {found.newest_error}")
        return
    previous = installed_version(folder)
    try:
        installed = update(folder, index=settings.ytdlp_index, channel=args.channel)
    except UpdateFailed as exc:
        sys.exit(f"yt-dlp not updated, {previous} stays in use: {exc}")
    print(f"yt-dlp {installed} installed (was {previous}); new downloads use it")
