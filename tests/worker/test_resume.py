"""What was downloaded before a crash, a stop, a killed process or a failure is continued with
an HTTP range, not fetched again; cancel and remove still delete it."""

import logging
import os
import signal
import uuid

import httpx
import pytest

from tests.fixtures.processes import download_processes
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite, Transfer

RATE = 60_000  # bytes per second: clip.mp4 (about 190 KB) takes about 3 s


def _throttled_clip(site: FixtureSite, *, ranges: bool = True) -> tuple[str, str]:
    """A watch page and its media URL; the media URL is unique to the test, so its transfers can
    be told from other tests' in the site's log."""
    query = f"?test={uuid.uuid4().hex}" + ("" if ranges else "&ranges=no")
    media = site.url(f"/slow/{RATE}/clip.mp4{query}")
    return site.page_url(video=media), media


def _transfers(site: FixtureSite, media_url: str) -> list[Transfer]:
    path = media_url.removeprefix(site.base_url)
    return [transfer for transfer in site.transfers if transfer.path == path]


def _past_half(client: httpx.Client, task_id: str) -> bool:
    task = client.get(f"/api/downloads/{task_id}").json()
    done, total = task["downloaded_bytes"] or 0, task["total_bytes"] or 0
    return task["status"] == "downloading" and total > 0 and done > total / 2


def _finished(client: httpx.Client, task_id: str) -> dict[str, object] | None:
    task: dict[str, object] = client.get(f"/api/downloads/{task_id}").json()
    return task if task["status"] in ("completed", "failed", "cancelled") else None


def _assert_continued(site: FixtureSite, media_url: str) -> None:
    """The second attempt asked for the rest, and not much more than the file crossed the wire."""
    size = (site.media_dir / "clip.mp4").stat().st_size
    transfers = _transfers(site, media_url)
    assert len(transfers) >= 2, transfers
    assert transfers[0].range is None
    last = transfers[-1]
    assert last.status == 206 and last.range, transfers
    assert int(last.range.removeprefix("bytes=").split("-")[0]) > size / 2, transfers
    assert sum(transfer.bytes_sent for transfer in transfers) < 1.5 * size, transfers


def test_restart_after_a_crash_continues_the_partial_download(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client = service_process.start()
    page, media_url = _throttled_clip(site)
    task_id = client.post("/api/download", json={"url": page}).json()["id"]
    wait_until(lambda: _past_half(client, task_id), what="more than half to be downloaded")

    service_process.kill()
    client = service_process.start()

    task = wait_until(
        lambda: _finished(client, task_id),
        deadline_s=service_process.rerun_deadline_s,
        what="the download to finish",
    )
    assert task["status"] == "completed", task["error"]
    _assert_continued(site, media_url)
    saved = service_process.root / "downloads" / f"video__{task_id}.mp4"
    assert saved.read_bytes() == (site.media_dir / "clip.mp4").read_bytes()
    assert not (service_process.root / "downloads" / ".incomplete" / task_id).exists()


def test_restart_against_a_source_without_ranges_starts_over_correctly(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client = service_process.start()
    page, media_url = _throttled_clip(site, ranges=False)
    task_id = client.post("/api/download", json={"url": page}).json()["id"]
    wait_until(lambda: _past_half(client, task_id), what="more than half to be downloaded")

    service_process.kill()
    client = service_process.start()

    task = wait_until(
        lambda: _finished(client, task_id),
        deadline_s=service_process.rerun_deadline_s,
        what="the download to finish",
    )
    assert task["status"] == "completed", task["error"]
    transfers = _transfers(site, media_url)
    assert [transfer.status for transfer in transfers][-1] == 200  # asked, refused, restarted
    saved = service_process.root / "downloads" / f"video__{task_id}.mp4"
    assert saved.read_bytes() == (site.media_dir / "clip.mp4").read_bytes()


def test_a_clean_stop_keeps_the_partial_download_for_the_next_start(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    client = service_process.start()
    page, media_url = _throttled_clip(site)
    task_id = client.post("/api/download", json={"url": page}).json()["id"]
    wait_until(lambda: _past_half(client, task_id), what="more than half to be downloaded")

    service_process.stop()  # SIGTERM
    assert any((service_process.root / "downloads" / ".incomplete" / task_id).iterdir())
    client = service_process.start()

    task = wait_until(lambda: _finished(client, task_id), what="the download to finish")
    assert task["status"] == "completed", task["error"]
    _assert_continued(site, media_url)


def test_a_killed_download_process_is_retried_and_continues(
    make_service: ServiceFactory, site: FixtureSite, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(retry_backoff_seconds=2)
    page, media_url = _throttled_clip(site)
    before = download_processes()
    task_id = service.download(page)["id"]
    wait_until(lambda: _past_half(service.client, task_id), what="more than half downloaded")
    (child,) = download_processes() - before

    with caplog.at_level(logging.WARNING, logger="offlinetube_api"):
        os.kill(child, signal.SIGKILL)  # what the kernel's out-of-memory killer does

        waiting = service.wait_for_status(task_id, "queued", "failed")
    assert (waiting["status"], waiting["error_kind"]) == ("queued", "killed"), waiting
    assert "SIGKILL" in waiting["error"]
    assert any("killed by SIGKILL" in record.getMessage() for record in caplog.records)
    task = service.wait_for_status(task_id, "completed", "failed")
    assert task["status"] == "completed" and task["attempts"] == 2, task
    _assert_continued(site, media_url)


def test_a_download_process_terminated_from_outside_fails_as_killed(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(max_retries=0)
    page, _ = _throttled_clip(site)
    before = download_processes()
    task_id = service.download(page)["id"]
    wait_until(lambda: _past_half(service.client, task_id), what="more than half downloaded")
    (child,) = download_processes() - before

    os.kill(child, signal.SIGTERM)

    task = service.wait_for_status(task_id, "failed", "completed")
    assert (task["status"], task["error_kind"]) == ("failed", "killed"), task
    assert "SIGTERM" in task["error"]
    # Kept for a manual retry, which continues from there.
    assert (service.settings.downloads_dir / ".incomplete" / task_id).is_dir()
