"""Which JavaScript runtime the service finds: OFFLINETUBE_JS_RUNTIME first, then the deno
package's binary, then `deno` on PATH; none, with a warning, when there is none of those."""

import logging
import sys
from pathlib import Path

import deno
import pytest

from offlinetube_api.js_runtime import (
    NONE_FOUND,
    JsRuntime,
    JsRuntimeSource,
    locate_js_runtime,
)


def _fake_deno(folder: Path, version: str) -> Path:
    """An executable named deno that answers `--version` as Deno does."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "deno"
    fake.write_text(f'#!/bin/sh\necho "deno {version} (stable, release, fake)"\n')
    fake.chmod(0o755)
    return fake


@pytest.fixture
def without_deno_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "deno", None)  # `import deno` raises ImportError


def test_the_setting_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(_fake_deno(tmp_path / "on-path", "1.0.0").parent))
    chosen = _fake_deno(tmp_path / "chosen", "2.0.0")

    found = locate_js_runtime(str(chosen))

    assert found == JsRuntime("deno", str(chosen), JsRuntimeSource.SETTING, "2.0.0")


def test_the_package_comes_before_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(_fake_deno(tmp_path, "1.0.0").parent))

    found = locate_js_runtime(None)

    assert found is not None
    assert (found.path, found.source) == (deno.find_deno_bin(), JsRuntimeSource.PACKAGE)


@pytest.mark.usefixtures("without_deno_package")
def test_path_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _fake_deno(tmp_path, "1.0.0")
    monkeypatch.setenv("PATH", str(tmp_path))

    found = locate_js_runtime(None)

    assert found == JsRuntime("deno", str(on_path), JsRuntimeSource.PATH, "1.0.0")


@pytest.mark.usefixtures("without_deno_package")
def test_none_found_is_none_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with caplog.at_level(logging.WARNING, logger="offlinetube_api.js_runtime"):
        assert locate_js_runtime(None) is None

    assert [r.getMessage() for r in caplog.records] == [NONE_FOUND]


def test_a_binary_that_does_not_answer_as_deno_has_no_version_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="offlinetube_api.js_runtime"):
        found = locate_js_runtime("/bin/true")

    assert found == JsRuntime("deno", "/bin/true", JsRuntimeSource.SETTING, None)
    assert [r.getMessage() for r in caplog.records] == [
        "the JavaScript runtime /bin/true did not answer `--version` as Deno does; yt-dlp may "
        "be unable to use it"
    ]
