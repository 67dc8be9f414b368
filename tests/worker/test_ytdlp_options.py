"""What yt-dlp makes of the options the download process builds."""

import yt_dlp

from offlinetube_api.js_runtime import JsRuntime, locate_js_runtime
from offlinetube_api.worker.messages import DownloadJob
from offlinetube_api.worker.ytdlp_options import build_options


def _options(job: DownloadJob) -> dict[str, object]:
    return build_options(job, logger=None, on_progress=print, on_postprocess=print)


def _job(js_runtime: JsRuntime | None, sleep_interval: float | None = None) -> DownloadJob:
    return DownloadJob(
        task_id="t", url="https://example.com/", format=None, downloads_dir="/nowhere",
        thumbnails_dir="/nowhere", partial_dir="/nowhere", finished_dir="/nowhere",
        ffmpeg_path=None, js_runtime=js_runtime, sleep_interval=sleep_interval,
    )  # fmt: skip


def test_ytdlp_runs_the_js_runtime_the_service_found() -> None:
    found = locate_js_runtime(None)
    assert found is not None and found.version  # the deno package is a dependency

    with yt_dlp.YoutubeDL(_options(_job(found))) as ydl:
        # Where yt-dlp keeps the runtimes it may run, asked as its challenge solvers ask.
        seen = ydl._js_runtimes["deno"].info

    assert seen is not None
    assert (seen.path, seen.version, seen.supported) == (found.path, found.version, True)
    # None of yt-dlp-ejs's npm packages is fetched: the runtime opens no connection.
    assert not ydl.params.get("remote_components")


def test_without_a_js_runtime_ytdlp_runs_none() -> None:
    with yt_dlp.YoutubeDL(_options(_job(None))) as ydl:
        assert ydl._js_runtimes == {}


def test_sleep_interval_spaces_requests_as_sleep_requests_does() -> None:
    with yt_dlp.YoutubeDL(_options(_job(None, sleep_interval=1.5))) as ydl:
        assert ydl.params["sleep_interval_requests"] == 1.5
    # What `yt-dlp --sleep-requests 1.5` passes, so yt-dlp sleeps as it would for that flag.
    assert (
        yt_dlp.parse_options(["--sleep-requests", "1.5"]).ydl_opts["sleep_interval_requests"] == 1.5
    )
    with yt_dlp.YoutubeDL(_options(_job(None))) as ydl:
        assert ydl.params["sleep_interval_requests"] is None
