"""The lab of the multi-host tests, made once per test module (a network of six hosts, a
PostgreSQL cluster and the fixture site take a few seconds)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.lab import Lab, lab


@pytest.fixture(scope="module")
def lan(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab(media_dir, tmp_path_factory.mktemp("lab")) as made:
        yield made
