"""Downloads outlive a worker host. Two API replicas and two workers, each on a host of its own,
share one database and one media folder; 8 throttled downloads are submitted through the first
replica; one worker is lost mid-download, killed with -9 or cut off the network. Every task
completes exactly once (one `completed` event each, and never two runs writing at once), the
media folder holds the 8 videos, whole, and nothing partial, and a client following the events
of the second replica sees every final state."""

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from offlinetube_api.media import partial_folder_names, sidecar_path, video_files
from tests.fixtures.cluster import Cluster, Replica, Worker
from tests.fixtures.event_follower import FINAL_STATUSES, EventFollower
from tests.fixtures.lab import Lab
from tests.fixtures.service import wait_until
from tests.fixtures.site import watch_path

DOWNLOADS = 8
MEDIA = "clip.mp4"
RATE = 25_000  # bytes per second: clip.mp4 (196 kB) takes about 8 s
CONCURRENCY = 4  # per worker: the two take all 8 at once
# The loss is noticed once the worker's heartbeat is older than the stalled threshold; the
# reruns then take one more download's time.
FINISH_DEADLINE_S = 240.0
# A download process takes seconds to start on a busy machine before its first byte.
MID_DOWNLOAD_DEADLINE_S = 90.0
SETTLE_DEADLINE_S = 120.0
TEST_DEADLINE_S = 480


@dataclass
class Deployment:
    cluster: Cluster
    submit_to: Replica
    followed: Replica
    lost: Worker  # the worker the test takes away
    kept: Worker
    follower: EventFollower
    # One per download, unique to the test (the site serves every test of the module).
    media_paths: list[str] = field(
        default_factory=lambda: [
            f"/slow/{RATE}/{MEDIA}?copy={uuid.uuid4().hex}" for _ in range(DOWNLOADS)
        ]
    )


@pytest.fixture
def deployment(lan: Lab, tmp_path: Path) -> Iterator[Deployment]:
    cluster = Cluster(lan, tmp_path / "cluster", log_level="info")
    follower: EventFollower | None = None
    try:
        first, second = cluster.replica("api1"), cluster.replica("api2")
        lost = cluster.worker("worker1", concurrency=CONCURRENCY)
        kept = cluster.worker("worker2", concurrency=CONCURRENCY)
        cluster.wait_ready()
        follower = EventFollower(second.base_url).start()
        yield Deployment(cluster, first, second, lost, kept, follower)
    finally:
        cluster.stop()  # which ends the follower's stream too
        if follower:
            follower.stop()
        # Shown when the test failed: the server's log first (short unless it had trouble).
        print(f"==== PostgreSQL: {lan.postgres.log}\n{_tail(lan.postgres.log, 3000)}")
        for node in cluster.nodes:
            print(f"==== {node.name}: {node.log}\n{node.output[-6000:]}")


def _tail(log: Path, size: int) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(none)"


def _submit(deployment: Deployment, site_url: str) -> list[str]:
    """Posts the downloads, each from a media path of its own; their task ids."""
    ids = []
    with deployment.submit_to.client() as client:
        for path in deployment.media_paths:
            media = f"{site_url}{path}"
            response = client.post(
                "/api/download", json={"url": site_url + watch_path(video=media)}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def _transfers(deployment: Deployment, site_url: str) -> list[dict[str, Any]]:
    """The site's answers to this test's media requests (see FixtureSite.transfers)."""
    transfers: list[dict[str, Any]] = httpx.get(f"{site_url}/transfers", timeout=10).json()
    return [t for t in transfers if t["path"] in deployment.media_paths]


def _report_resumed(deployment: Deployment, site_url: str) -> None:
    """Prints how many media requests asked for the rest of a file (a resumed partial file)."""
    ours = _transfers(deployment, site_url)
    resumed = [t for t in ours if t["range"] and t["status"] == 206]
    print(f"media requests: {len(ours)}, resumed with a range: {len(resumed)}")


def _tasks(replica: Replica, ids: list[str]) -> dict[str, dict[str, Any]]:
    with replica.client() as client:
        return {task_id: client.get(f"/api/downloads/{task_id}").json() for task_id in ids}


def _wait_mid_download(deployment: Deployment, site_url: str) -> None:
    """Until both workers run downloads and the site is sending bytes to each download of
    the worker to be lost (one media request per download; its 8 s are far from over)."""
    lost = deployment.lost

    def mid_download() -> bool:
        running = lost.downloads()
        receiving = [
            t
            for t in _transfers(deployment, site_url)
            if t["client"] == lost.host.address and t["bytes_sent"] > 0
        ]
        both_busy = bool(running) and bool(deployment.kept.downloads())
        return both_busy and len(receiving) >= len(running)

    wait_until(
        mid_download, deadline_s=MID_DOWNLOAD_DEADLINE_S, what=f"{lost.name} to be mid-download"
    )


def _wait_all_final(deployment: Deployment, ids: list[str]) -> dict[str, dict[str, Any]]:
    def final() -> dict[str, dict[str, Any]] | None:
        tasks = _tasks(deployment.submit_to, ids)
        return tasks if all(t["status"] in FINAL_STATUSES for t in tasks.values()) else None

    try:
        tasks: dict[str, dict[str, Any]] = wait_until(
            final, deadline_s=FINISH_DEADLINE_S, what="every download to end"
        )
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}\n{_where_things_stand(deployment, ids)}") from None
    return tasks


def _where_things_stand(deployment: Deployment, ids: list[str]) -> str:
    """What a timed-out wait shows: each node alive or not, each task's state, the queue's
    jobs and workers as PostgreSQL has them (or why it could not be read)."""
    cluster = deployment.cluster
    lines = [f"{node.name}: exit code {node.process.poll()}" for node in cluster.nodes]
    try:
        for task_id, task in _tasks(deployment.submit_to, ids).items():
            lines.append(
                f"task {task_id}: {task.get('status')} attempts={task.get('attempts')}"
                f" waiting_reason={task.get('waiting_reason')} error={task.get('error')}"
            )
    except httpx.HTTPError as error:
        lines.append(f"tasks not read: {error!r}")
    try:
        jobs = cluster.query(
            "SELECT id, queue_name, task_name, status, worker_id, args->>'task_id'"
            " FROM procrastinate_jobs ORDER BY id"
        )
        workers = cluster.query(
            "SELECT id, now() - last_heartbeat FROM procrastinate_workers ORDER BY id"
        )
        lines += [f"job {row}" for row in jobs] + [f"worker {row}" for row in workers]
    except psycopg.Error as error:
        lines.append(f"queue not read: {error!r}")
    return "\n".join(lines)


def _events(cluster: Cluster, ids: list[str]) -> list[tuple[str, str, int | None, float]]:
    """(task id, transition, the task's attempt after it, when) of each stored event, in order."""
    rows = cluster.query(
        "SELECT task_id, transition, (task->>'attempts')::int, extract(epoch FROM at)::float"
        " FROM task_events WHERE task_id = ANY(%s) ORDER BY id",
        ids,
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def _assert_runs_never_overlapped(events: list[tuple[str, str, int | None, float]]) -> None:
    """Each task: one `completed`; every event after a `started` belongs to that run (a stale
    run that went on writing would show its older attempt number)."""
    current: dict[str, int] = {}
    completed: dict[str, int] = {}
    for task_id, transition, attempt, _ in events:
        if transition == "started":
            assert attempt is not None and attempt > current.get(task_id, 0), (task_id, events)
            current[task_id] = attempt
        elif attempt is not None and task_id in current:
            assert attempt == current[task_id], (task_id, transition, attempt, events)
        completed[task_id] = completed.get(task_id, 0) + (transition == "completed")
    assert set(completed.values()) == {1}, completed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_media_folder_holds_exactly_the_videos(
    cluster: Cluster, ids: list[str], source: Path
) -> None:
    """One whole video per task and its sidecar; no partial, temporary or stray file."""
    videos = video_files(cluster.downloads)
    assert sorted(path.name for path in videos) == sorted(f"video__{i}.mp4" for i in ids)
    assert {_sha256(path) for path in videos} == {_sha256(source)}
    expected = {*videos, *(sidecar_path(cluster.downloads, task_id) for task_id in ids)}
    media = cluster.downloads.parent
    found = {path for path in media.rglob("*") if not path.is_dir()}
    thumbnails = {path for path in found if path.parent == cluster.thumbnails}
    assert found - thumbnails == expected, sorted(map(str, found - thumbnails - expected))
    assert partial_folder_names(cluster.downloads) == []


def _assert_each_completed_once(
    deployment: Deployment, ids: list[str], source: Path
) -> list[tuple[str, str, int | None, float]]:
    tasks = _wait_all_final(deployment, ids)
    assert {t["status"] for t in tasks.values()} == {"completed"}, tasks
    follower = deployment.follower
    wait_until(
        lambda: set(ids) <= set(follower.final_statuses()),
        what=f"{deployment.followed.name}'s stream to show every final state",
    )
    assert {follower.final_statuses()[i] for i in ids} == {"completed"}
    seen = [event.id for event in follower.events]
    assert seen == sorted(set(seen)), "event ids must increase"
    events = _events(deployment.cluster, ids)
    _assert_runs_never_overlapped(events)
    _assert_media_folder_holds_exactly_the_videos(deployment.cluster, ids, source)
    return events


def _report_rerun(events: list[tuple[str, str, int | None, float]], lost_at: float) -> None:
    """Prints how many runs the loss interrupted and how soon the first ran again."""
    reruns = {
        task_id: at
        for task_id, transition, attempt, at in events
        if transition == "started" and attempt and attempt > 1
    }
    assert reruns, "the loss interrupted no run: the scenario did not happen"
    print(f"runs started again: {len(reruns)}, the first {min(reruns.values()) - lost_at:.1f} s")


def _lose(
    deployment: Deployment, lan: Lab, how: Callable[[Worker], None]
) -> tuple[list[str], float]:
    ids = _submit(deployment, lan.site_url)
    _wait_mid_download(deployment, lan.site_url)
    lost_at = time.time()
    how(deployment.lost)
    return ids, lost_at


@pytest.mark.timeout(TEST_DEADLINE_S)
def test_a_worker_killed_mid_download_loses_nothing(
    deployment: Deployment, lan: Lab, media_dir: Path
) -> None:
    ids, lost_at = _lose(deployment, lan, lambda worker: worker.kill())

    events = _assert_each_completed_once(deployment, ids, media_dir / MEDIA)
    _report_rerun(events, lost_at)
    _report_resumed(deployment, lan.site_url)
    host = deployment.lost.host
    wait_until(lambda: not host.pids(), what="the killed worker's downloads to end by themselves")


@pytest.mark.timeout(TEST_DEADLINE_S)
def test_a_worker_cut_off_mid_download_loses_nothing_even_once_it_is_back(
    deployment: Deployment, lan: Lab, media_dir: Path
) -> None:
    lost, cluster = deployment.lost, deployment.cluster
    registered_before = _newest_worker_row(cluster)
    try:
        ids, lost_at = _lose(deployment, lan, lambda worker: worker.host.cut())
        events = _assert_each_completed_once(deployment, ids, media_dir / MEDIA)
    finally:
        lost.host.restore()
    restored_at = time.time()
    _report_rerun(events, lost_at)
    _report_resumed(deployment, lan.site_url)

    def settled() -> str | None:
        """How the worker ended up once back: gone with all it started, or registered
        again (procrastinate dropped its old registration) and running nothing."""
        if lost.process.poll() is not None:
            return None if lost.host.pids() else f"exited ({lost.process.returncode})"
        rejoined = cluster.query(
            "SELECT count(*) FROM procrastinate_workers"
            " WHERE id > %s AND last_heartbeat > to_timestamp(%s)",
            registered_before,
            restored_at,
        )[0][0]
        return "registered again" if rejoined and not lost.downloads() else None

    print("the cut-off worker once back:", wait_until(settled, deadline_s=SETTLE_DEADLINE_S))
    assert _events(cluster, ids) == events, "the worker that was back wrote over them"
    _assert_media_folder_holds_exactly_the_videos(cluster, ids, media_dir / MEDIA)


def _newest_worker_row(cluster: Cluster) -> int:
    return int(cluster.query("SELECT coalesce(max(id), 0) FROM procrastinate_workers")[0][0])
