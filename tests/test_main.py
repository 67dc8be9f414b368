"""What the app loads by mode: embedded mode never imports the PostgreSQL driver or the job
queue (about 11 MiB of memory for nothing), from the command's first import to a started
service."""

import json
import os
import subprocess
import sys
from pathlib import Path

DISTRIBUTED_ONLY = ("psycopg", "psycopg_pool", "procrastinate")

EMBEDDED_SERVICE = """
import asyncio, json, sys
from pathlib import Path

import offlinetube_api.__main__
from offlinetube_api.config import Settings
from offlinetube_api.main import create_app

root = Path(sys.argv[1])
settings = Settings(
    downloads_dir=root / "downloads", thumbnails_dir=root / "thumbnails", data_dir=root / "data"
)
app = create_app(settings)


async def start_and_stop() -> None:
    async with app.router.lifespan_context(app):
        assert app.state.store is not None


asyncio.run(start_and_stop())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_embedded_mode_never_imports_psycopg_or_procrastinate(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", EMBEDDED_SERVICE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no stray .env
        env={name: value for name, value in os.environ.items() if "OFFLINETUBE_" not in name},
    )

    assert completed.returncode == 0, completed.stderr
    loaded = set(json.loads(completed.stdout))
    assert "offlinetube_api" in loaded  # the list is what it claims to be
    assert loaded.isdisjoint(DISTRIBUTED_ONLY)
    assert (tmp_path / "data" / "offlinetube.sqlite3").is_file()  # it did start
