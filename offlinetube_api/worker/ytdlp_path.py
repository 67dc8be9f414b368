"""Imported first by the download processes' forkserver (worker/process.py), before yt-dlp:
puts the yt-dlp the service installed (ytdlp_install.py) first on `sys.path`, so the forkserver,
and every download, info and listing process it starts, imports that version and not the
environment's. The folder of versions comes from the environment variable FOLDER_ENV, which the
service sets (process.use_ytdlp_folder); unset, or with no newer version installed there,
nothing changes.

Import-time work on purpose: the forkserver runs nothing of ours but the imports it is given."""

import os
import sys
from pathlib import Path

from offlinetube_api.ytdlp_install import FOLDER_ENV, folder_in_use


def put_installed_first() -> None:
    named = os.environ.get(FOLDER_ENV)
    in_use = folder_in_use(Path(named)) if named else None
    if in_use is not None and str(in_use) not in sys.path:
        sys.path.insert(0, str(in_use))


put_installed_first()
