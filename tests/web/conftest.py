"""Chromium for the web app's tests, and the folder their screenshots land in: the
WEBAPP_SCREENSHOTS variable's, else one under pytest's temporary folder, named in the output."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.fixtures.browser import launched_chromium


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("WEBAPP_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("webapp-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nweb app screenshots: {folder}")
    return folder
