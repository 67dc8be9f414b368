"""The log tells a download's story, read from what the real service writes (issue 14, item 1):
one line per event with the task's id and title, at INFO, a final failure at WARNING with its
kind; a start-up summary; yt-dlp's chatter out of sight at INFO. In text, and in JSON with the
same facts as fields, one object per line."""

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offlinetube_api import __version__
from offlinetube_api.js_runtime import locate_js_runtime
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

_TEXT_LINE = re.compile(r"^(?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<message>.*)$")
TASK_LOGGER = "offlinetube_api.task_log"
BACKOFF_S = "0.2"


@pytest.fixture(params=["text", "json"])
def logged_service(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    service_databases: Callable[[], dict[str, str]],
) -> Iterator[ServiceProcess]:
    """The service in its own process, logging in the format of the test's parameter (JSON
    at DEBUG, so that the download processes' own lines are seen too)."""
    log_format: str = request.param
    level = "debug" if log_format == "json" else "info"
    service = ServiceProcess(
        tmp_path,
        allow_private_urls="true",
        log_format=log_format,
        log_level=level,
        retry_backoff_seconds=BACKOFF_S,
        **service_databases(),
    )
    service.start()
    yield service
    service.stop()


def _records(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every line the service wrote, as a dict: a JSON line as it is (each line must be one),
    a text line of the service's own loggers as its level, logger and message."""
    records = []
    for line in service.output.splitlines():
        if service.settings["log_format"] == "json":
            record = json.loads(line)
            assert isinstance(record, dict), line
            assert {"time", "level", "logger", "message"} <= record.keys(), line
            records.append(record)
        elif match := _TEXT_LINE.match(line):
            records.append(match.groupdict())
    return records


def _story(service: ServiceProcess, task_id: str) -> list[tuple[str, str]]:
    """(level, message) of each line the task log wrote about the task, in order."""
    return [
        (record["level"], record["message"].removeprefix(f"task {task_id} "))
        for record in _records(service)
        if record["logger"] == TASK_LOGGER and record["message"].startswith(f"task {task_id} ")
    ]


def _fields(service: ServiceProcess, task_id: str, event: str) -> dict[str, Any]:
    """The JSON fields of the task's one line of `event`."""
    found = [
        record
        for record in _records(service)
        if record.get("task_id") == task_id and record.get("event") == f"task.{event}"
    ]
    assert len(found) == 1, found
    return found[0]


def _wait(service: ServiceProcess, task_id: str, *statuses: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        task: dict[str, Any] = service.client.get(f"/api/downloads/{task_id}").json()
        return task if task["status"] in statuses else None

    found: dict[str, Any] = wait_until(reached, what=f"{task_id} to be {statuses}")
    return found


def _post(service: ServiceProcess, url: str) -> str:
    response = service.client.post("/api/download", json={"url": url, "force": True})
    assert response.status_code == 202, response.text
    task_id: str = response.json()["id"]
    return task_id


def test_a_download_retried_then_completed_then_removed_is_told_line_by_line(
    logged_service: ServiceProcess, site: FixtureSite
) -> None:
    service = logged_service
    key = f"log-{uuid.uuid4().hex}"  # the site counts hits per key for its whole run
    url = site.page_url(video=site.url("/media/clip.mp4")).replace("/watch?", f"/flaky/{key}/1?")

    task_id = _post(service, url)
    task = _wait(service, task_id, "completed", "failed")
    assert task["status"] == "completed", task
    assert service.client.delete(f"/api/downloads/{task_id}/remove").status_code == 200

    story = wait_until(lambda: (s := _story(service, task_id)) and len(s) >= 6 and s)
    size = f"{task['filesize'] / 1024:.1f} KiB"
    expected = [
        ("INFO", re.escape(f"{url}: queued")),
        ("INFO", re.escape(f"{url}: started, attempt 1")),
        (
            "INFO",
            re.escape(f"{url}: attempt 1 failed (network), retrying in {BACKOFF_S} s: ")
            + ".*503.*",
        ),
        ("INFO", re.escape(f"{url}: started, attempt 2")),
        (
            "INFO",
            re.escape(f'"Fixture clip": completed: {size}, in ')
            + r"\d+\.\d s, \d+\.\d [KM]iB/s on average",
        ),
        ("INFO", re.escape('"Fixture clip": removed, with its files')),
    ]
    assert len(story) == len(expected), story
    for (level, message), (expected_level, pattern) in zip(story, expected, strict=True):
        assert level == expected_level and re.fullmatch(pattern, message), (level, message)
    if service.settings["log_format"] == "json":
        _check_json_fields(service, task_id, task)
    else:  # at INFO: nothing of yt-dlp's chatter, nor of the download process
        assert "Falling back on generic" not in service.output
        assert f"[{task_id[:8]}]" not in service.output


def _check_json_fields(service: ServiceProcess, task_id: str, task: dict[str, Any]) -> None:
    queued = _fields(service, task_id, "queued")
    assert (queued["title"], queued["url"]) == (None, task["url"])
    retrying = _fields(service, task_id, "retrying")
    assert (retrying["attempt"], retrying["retry_in_s"]) == (1, float(BACKOFF_S))
    assert retrying["error_kind"] == "network"
    completed = _fields(service, task_id, "completed")
    assert completed["title"] == "Fixture clip"
    assert completed["size_bytes"] == task["filesize"]
    assert completed["elapsed_s"] > 0
    assert completed["speed_bytes_per_s"] == pytest.approx(
        task["filesize"] / completed["elapsed_s"], rel=0.01
    )
    # The download process's own lines name their task; yt-dlp's chatter is at DEBUG.
    own = [r for r in _records(service) if r.get("task_id") == task_id and "event" not in r]
    assert own and {r["level"] for r in own} <= {"DEBUG", "WARNING"}
    assert any("Falling back on generic" in r["message"] for r in own if r["level"] == "DEBUG")


def test_a_final_failure_is_a_warning_with_its_kind(
    logged_service: ServiceProcess, site: FixtureSite
) -> None:
    service = logged_service
    url = site.url(f"/missing-{uuid.uuid4().hex}.mp4")

    task_id = _post(service, url)
    assert _wait(service, task_id, "completed", "failed")["error_kind"] == "not_found"

    story = wait_until(lambda: (s := _story(service, task_id)) and len(s) >= 3 and s)
    assert story[:2] == [("INFO", f"{url}: queued"), ("INFO", f"{url}: started, attempt 1")]
    level, message = story[2]
    assert level == "WARNING"
    assert message.startswith(f"{url}: failed (not_found): ") and "404" in message
    if service.settings["log_format"] == "json":
        failed = _fields(service, task_id, "failed")
        assert failed["error_kind"] == "not_found" and "404" in failed["error"]


def test_a_cancel_and_a_retry_are_told_and_the_start_is_summed_up(
    logged_service: ServiceProcess, site: FixtureSite
) -> None:
    service = logged_service
    url = site.page_url(video=site.url(f"/slow/20000/clip.mp4?test={uuid.uuid4().hex}"))

    task_id = _post(service, url)
    wait_until(
        lambda: service.client.get(f"/api/downloads/{task_id}").json()["downloaded_bytes"],
        what="the download to be under way, its title known",
    )
    assert service.client.post(f"/api/downloads/{task_id}/cancel").status_code == 200

    story = wait_until(
        lambda: (s := _story(service, task_id)) and s[-1][1].endswith("cancelled") and s
    )
    assert story[-1] == ("INFO", '"Fixture clip": cancelled')
    assert service.client.post(f"/api/downloads/{task_id}/retry").status_code == 202
    again = ("INFO", '"Fixture clip": queued again (retried)')
    wait_until(lambda: again in _story(service, task_id)[len(story) :], what="the retry's line")

    summary = next(r for r in _records(service) if r["logger"] == "offlinetube_api.start_summary")
    mode = "distributed" if "database_url" in service.settings else "embedded"
    deno = locate_js_runtime(None)  # the deno package's, as the service found it
    assert deno is not None
    assert summary["level"] == "INFO"
    assert summary["message"].startswith(f"offlinetube-api {__version__} started: {mode} mode")
    for shown in (
        f"listening on {service.base_url}",
        f"downloads {service.downloads}",
        "SSRF guard off",
        f"JavaScript runtime {deno.path} {deno.version}",
    ):
        assert shown in summary["message"], summary["message"]
    if service.settings["log_format"] == "json":
        assert summary["mode"] == mode and summary["ssrf_guard"] is False
        assert summary["js_runtime"] == deno.path and summary["ffmpeg"]
        assert summary["bind"] == service.base_url


def test_the_start_line_names_an_ipv6_address_as_a_url_does(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path, host="::1")
    service.process = service.launch()
    try:
        summary = wait_until(
            lambda: re.search(r"started: .*", service.output), what="the start line"
        ).group()
    finally:
        service.stop()

    assert f"listening on http://[::1]:{service.port};" in summary
