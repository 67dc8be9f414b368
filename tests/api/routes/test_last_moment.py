"""Requests that arrive at the worst moment: a cancel while a download's finished files wait to
be moved into the library, just before the task's completion; two removals of the same task at
once."""

import contextlib
import json
import os
import threading
from pathlib import Path

import httpx
import pytest

from offlinetube_api.ffmpeg import locate_ffmpeg
from offlinetube_api.media import finished_dir
from tests.fixtures.service import RunningService, wait_until
from tests.fixtures.site import FixtureSite

SLOW_PROBE_S = 3


@pytest.fixture
def slow_final_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ffmpeg on PATH that takes SLOW_PROBE_S to look at a finished video, what a download
    process does last (reading the duration), after yt-dlp put the files in the task's finished
    folder and before the worker moves them into the library: that widens the window before the
    task's completion from ~0.1 s to seconds."""
    real = locate_ffmpeg().path
    assert real, "the tests need ffmpeg"
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    wrapper = folder / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"  # the file ffmpeg is asked about comes last
        f'case "$last" in */finished/video__*) sleep {SLOW_PROBE_S} ;; esac\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{Path(real).parent}:{os.environ['PATH']}")


def task_files(service: RunningService, task_id: str) -> list[str]:
    downloads = Path(service.settings.downloads_dir)
    thumbnails = Path(service.settings.thumbnails_dir)
    found = [*downloads.glob(f"video__{task_id}*"), *thumbnails.glob(f"{task_id}.*")]
    return sorted(path.name for path in found)


def final_video_in_place(service: RunningService, task_id: str) -> bool:
    """The finished video waits in the task's folder for the worker to move it, or is in the
    library already: without a slow final step that wait lasts milliseconds, less than a poll."""
    downloads = Path(service.settings.downloads_dir)
    name = f"video__{task_id}.mp4"
    return (finished_dir(downloads, task_id) / name).exists() or (downloads / name).exists()


def assert_cancel_left_one_consistent_end(
    service: RunningService, task_id: str, response: httpx.Response
) -> str:
    """Either cancelled with nothing on disk, or completed, served, and the cancel refused."""
    task = service.task(task_id)
    if response.status_code == 200:
        assert response.json()["status"] == task["status"] == "cancelled"
        assert task_files(service, task_id) == []
        stream = service.client.get(f"/api/stream/video__{task_id}.mp4")
        assert stream.status_code == 404
    else:
        assert response.status_code == 409, response.text
        assert "completed" in response.json()["detail"]
        assert task["status"] == "completed"
        assert service.client.get(task["stream_url"]).status_code == 200
    return str(task["status"])


def test_cancel_while_finished_files_wait_for_the_move_leaves_nothing(
    slow_final_step: None, service: RunningService, site: FixtureSite
) -> None:
    assert service.client.get("/api/health").json()["ffmpeg"]["path"].endswith("slow-bin/ffmpeg")
    url = site.url(
        f"/html5?video={site.url('/media/clip.mp4')}&lang=en&subs={site.url('/media/subs.en.vtt')}"
    )
    task_id = service.download(url, subtitles=["en"])["id"]
    wait_until(lambda: final_video_in_place(service, task_id), what="the finished files")
    assert service.task(task_id)["status"] != "completed"
    finished = finished_dir(Path(service.settings.downloads_dir), task_id)
    assert (finished / f"video__{task_id}.en.vtt").exists()
    assert task_files(service, task_id) == []  # nothing in the library yet

    response = service.client.post(f"/api/downloads/{task_id}/cancel")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert task_files(service, task_id) == []
    assert service.client.get(f"/api/stream/video__{task_id}.mp4").status_code == 404
    assert service.client.get(f"/api/subtitles/video__{task_id}.en.vtt").status_code == 404
    assert service.task(task_id)["status"] == "cancelled"


def test_playlist_cancel_while_finished_files_wait_leaves_nothing(
    slow_final_step: None, service: RunningService, site: FixtureSite
) -> None:
    clips = [site.url("/media/clip.mp4"), site.url("/media/clip.mp4?copy=2")]
    first = service.download(site.page_url(video=clips, thumb=site.url("/media/thumb.jpg")))
    listing = wait_until(
        lambda: (
            (found := service.client.get(f"/api/playlists/{first['id']}")).status_code == 200
            and len(found.json()) == 2
            and found
        ),
        what="the playlist to expand",
    )
    ids = [task["id"] for task in listing.json()]
    wait_until(
        lambda: all(final_video_in_place(service, task_id) for task_id in ids),
        what="both finished files",
    )

    response = service.client.post(f"/api/playlists/{first['id']}/cancel")

    assert response.json()["cancelled"] == 2
    for task_id in ids:
        assert service.task(task_id)["status"] == "cancelled"
        assert task_files(service, task_id) == []


def test_cancel_racing_completion_ends_completed_or_cancelled_never_both(
    service: RunningService, site: FixtureSite
) -> None:
    """Real downloads, each cancelled the moment its video reaches its final name: whichever
    side wins, the task and the disk agree."""
    url = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))
    ends = []
    for _ in range(8):
        task_id = service.download(url)["id"]
        wait_until(
            lambda task_id=task_id: final_video_in_place(service, task_id),
            what="the finished files",
        )
        response = service.client.post(f"/api/downloads/{task_id}/cancel")
        ends.append(assert_cancel_left_one_consistent_end(service, task_id, response))
    assert set(ends) <= {"cancelled", "completed"}


class EventLog:
    """Every (event, task id) of the library's event stream, read in a thread."""

    def __init__(self, service: RunningService) -> None:
        self.seen: list[tuple[str, str]] = []
        self._client = httpx.Client(base_url=service.base_url, timeout=None)
        self._listening = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._listening.wait(5)

    def _read(self) -> None:
        with self._client.stream("GET", "/api/events") as stream:
            self._listening.set()
            event = ""
            with contextlib.suppress(httpx.ReadError):  # closed by close()
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        self.seen.append((event, json.loads(line.removeprefix("data: "))["id"]))

    def until(self, task_id: str) -> list[tuple[str, str]]:
        """What came before the first event of `task_id`: events are delivered in order, so a
        marker published after an action shows that everything the action caused is in."""
        wait_until(lambda: any(seen_id == task_id for _, seen_id in self.seen), what="a marker")
        ids = [seen_id for _, seen_id in self.seen]
        return self.seen[: ids.index(task_id)]

    def close(self) -> None:
        self._client.close()


def delete_twice_at_once(service: RunningService, task_id: str) -> list[int]:
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def delete() -> None:
        with httpx.Client(base_url=service.base_url, timeout=10) as client:
            barrier.wait()
            codes.append(client.delete(f"/api/downloads/{task_id}/remove").status_code)

    threads = [threading.Thread(target=delete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    return sorted(codes)


def test_two_removals_of_a_running_download_at_once_one_wins(
    service: RunningService, site: FixtureSite
) -> None:
    task_id = service.download(site.page_url(video=site.url("/slow/20000/clip.mp4")))["id"]
    service.wait_for_status(task_id, "downloading")
    events = EventLog(service)

    codes = delete_twice_at_once(service, task_id)
    marker = service.download(site.page_url(video=site.url("/media/clip.mp4")))["id"]

    assert codes == [200, 404]
    assert events.until(marker).count(("removed", task_id)) == 1
    events.close()


def test_two_removals_of_a_completed_task_at_once_one_wins(
    service: RunningService, site: FixtureSite
) -> None:
    url = site.page_url(video=site.url("/media/clip.mp4"))
    events = EventLog(service)
    for _ in range(5):
        task_id = service.download_and_wait(url)["id"]

        codes = delete_twice_at_once(service, task_id)

        assert codes == [200, 404]
        assert service.client.get(f"/api/downloads/{task_id}").status_code == 404
    marker = service.download(url)["id"]
    removed = [seen for seen in events.until(marker) if seen[0] == "removed"]
    assert len(removed) == len(set(removed)) == 5
    events.close()
