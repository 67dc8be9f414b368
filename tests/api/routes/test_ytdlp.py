"""yt-dlp updates without a shell: GET /api/admin/ytdlp, POST /api/admin/ytdlp/update and
`offlinetube-api ytdlp status|update`, installing from a folder of wheels the test builds
(`OFFLINETUBE_YTDLP_INDEX`, pip's --no-index --find-links), never from PyPI. The next download
runs on the new version while one that was running finishes on the old; a failed update leaves
the old one in use."""

from importlib.metadata import version
from pathlib import Path

import pytest

from offlinetube_api.security.keys import Scope
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.keys import create_key
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite
from tests.fixtures.ytdlp_wheels import (
    BROKEN_VERSION,
    NEWER_VERSION,
    TEST_USER_AGENT,
    broken_wheel,
    newer_wheel,
)

ENVIRONMENT_VERSION = version("yt-dlp")
# pip installs a copy of yt-dlp (some 1,000 files) and imports it: a minute or more on a
# loaded machine (5 s of CPU), as building the wheel first does.
UPDATE_WAIT_S = 300.0
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="session")
def newer_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("newer-wheels")
    newer_wheel(tmp_path_factory.mktemp("build"), wheels)
    return wheels


@pytest.fixture(scope="session")
def broken_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("broken-wheels")
    broken_wheel(tmp_path_factory.mktemp("build"), wheels)
    return wheels


def test_update_serves_the_next_download_while_a_running_one_finishes(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy, newer_wheels: Path
) -> None:
    service = make_service(proxy=proxy.url, ytdlp_index=str(newer_wheels))
    running_video = site.url("/media/clip.mp4?held=1")
    proxy.hold("held=1")
    running = service.download(site.page_url(video=running_video, title="running"))["id"]
    wait_until(lambda: running_video in proxy.requests, what="the running download's video")

    updated = service.client.post("/api/admin/ytdlp/update", timeout=UPDATE_WAIT_S)

    assert updated.status_code == 200, updated.text
    assert updated.json() == {"previous": ENVIRONMENT_VERSION, "installed": NEWER_VERSION}
    after = service.client.get("/api/admin/ytdlp", timeout=UPDATE_WAIT_S).json()
    assert (after["installed"], after["newest"], after["newest_error"]) == (
        NEWER_VERSION,
        NEWER_VERSION,
        None,
    )
    assert after["folder"] == str((service.settings.data_dir / "yt-dlp" / NEWER_VERSION).resolve())
    assert service.client.get("/api/health").json()["yt_dlp_version"] == NEWER_VERSION

    next_page = site.page_url(video=site.url("/media/clip.mp4"), title="next")
    assert service.download_and_wait(next_page)["status"] == "completed"
    assert proxy.user_agents[next_page] == TEST_USER_AGENT
    assert service.task(running)["status"] == "downloading"

    proxy.release()
    finished = service.wait_for_status(running, "completed")
    # One attempt, its video asked for once: the process that started on the old version.
    assert (finished["attempts"], proxy.requests.count(running_video)) == (1, 1)
    assert proxy.user_agents[running_video] not in ("", TEST_USER_AGENT)


@pytest.mark.stores("sqlite")
def test_a_failed_update_leaves_the_old_version_in_use(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy, broken_wheels: Path
) -> None:
    service = make_service(proxy=proxy.url, ytdlp_index=str(broken_wheels))

    refused = service.client.post(
        "/api/admin/ytdlp/update", json={"channel": "stable"}, timeout=UPDATE_WAIT_S
    )

    assert refused.status_code == 502
    assert refused.json() == {
        "detail": "the yt-dlp pip installed does not import: ImportError: a broken build"
    }
    status = service.client.get("/api/admin/ytdlp", timeout=UPDATE_WAIT_S).json()
    assert status == {
        "installed": ENVIRONMENT_VERSION,
        "folder": None,
        "newest": BROKEN_VERSION,
        "newest_error": None,
    }
    page = site.page_url(video=site.url("/media/clip.mp4"))
    assert service.download_and_wait(page)["status"] == "completed"
    assert proxy.user_agents[page] != TEST_USER_AGENT


@pytest.mark.stores("sqlite")
def test_without_a_reachable_index_the_status_says_why(make_service: ServiceFactory) -> None:
    service = make_service()  # its index: a folder with no wheel

    status = service.client.get("/api/admin/ytdlp", timeout=UPDATE_WAIT_S).json()

    assert (status["installed"], status["newest"]) == (ENVIRONMENT_VERSION, None)
    assert status["newest_error"] == (
        "the package index could not be read: ERROR: No matching distribution found for yt-dlp"
    )


@pytest.mark.stores("sqlite")
def test_only_an_admin_key_may_update(make_service: ServiceFactory) -> None:
    service = make_service(auth="on")
    reader = create_key(service.settings, Scope.READ)

    answer = service.client.post(
        "/api/admin/ytdlp/update", headers={"Authorization": f"Bearer {reader}"}
    )

    assert answer.status_code == 403
    assert service.client.get("/api/admin/ytdlp").status_code == 401


def test_the_command_line_updates_and_tells_the_version(tmp_path: Path, newer_wheels: Path) -> None:
    installation = ServiceProcess(tmp_path, ytdlp_index=str(newer_wheels))

    updated = installation.command("ytdlp", "update", timeout_s=UPDATE_WAIT_S)
    status = installation.command("ytdlp", "status", timeout_s=UPDATE_WAIT_S)

    assert updated.returncode == 0, updated.stderr
    assert updated.stdout == (
        f"yt-dlp {NEWER_VERSION} installed (was {ENVIRONMENT_VERSION}); new downloads use it\n"
    )
    folder = (installation.data_dir / "yt-dlp" / NEWER_VERSION).resolve()
    assert status.stdout == f"yt-dlp {NEWER_VERSION} ({folder})\nnewest {NEWER_VERSION}\n"
