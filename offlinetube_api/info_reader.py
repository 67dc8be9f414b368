"""GET /api/info's work: what yt-dlp sees on a page, read in an info process (a download
process that downloads nothing, worker/info_child.py) within a deadline.

It runs on the process that answers the request, in both modes: an API-only replica of
distributed mode (`serve --workers 0`) runs it too. The answer is short and wanted at once; a
round trip through the job queue would wait behind downloads for a worker's slot and needs a
way back that procrastinate does not have. The process writes no file and reaches the site
through the same SSRF guard as a download, so it needs nothing a worker has and a replica
lacks."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from multiprocessing.connection import Connection

from offlinetube_api.config import Settings, redacted
from offlinetube_api.cookie_sets import COOKIE_FILES, CookieSets, cookie_file
from offlinetube_api.errors import InfoBusy, InfoProcessDied, InfoTimedOut, PageUnreadable
from offlinetube_api.programs import Programs
from offlinetube_api.worker.info_messages import InfoFailed, InfoJob, InfoReport, VideoInfo
from offlinetube_api.worker.process import ChildProcess, default_info_main

logger = logging.getLogger(__name__)

# Pages read at once by one process; more answer 503 at once rather than wait. Each is a
# process of yt-dlp's size (tens of MB), and the rate limit per client still applies.
MAX_RUNNING = 4

InfoMain = Callable[[InfoJob, Connection], None]


class InfoReader:
    def __init__(
        self,
        settings: Settings,
        programs: Programs,
        cookies: CookieSets,
        *,
        child_main: InfoMain = default_info_main,
        max_running: int = MAX_RUNNING,
    ) -> None:
        self._settings = settings
        self._programs = programs
        self._cookies = cookies
        self._child_main = child_main
        self._max_running = max_running
        self._running = 0

    async def read(self, url: str, cookies: str | None = None) -> VideoInfo:
        """With the cookie set `cookies`, else the set of the URL's domain, as a download.
        Raises UnknownCookieSet for a name there is no set of; PageUnreadable (yt-dlp's
        message, or the SSRF guard's); InfoTimedOut after OFFLINETUBE_INFO_TIMEOUT_SECONDS;
        InfoBusy when MAX_RUNNING pages are being read; InfoProcessDied when the process ends
        without a word."""
        if self._running >= self._max_running:
            raise InfoBusy(self._running)
        self._running += 1
        try:
            chosen = await self._cookies.choose(url, cookies)
            async with cookie_file(chosen, self._settings.data_dir / COOKIE_FILES) as path:
                report = await self._report(self._job(url, path))
        finally:
            self._running -= 1
        if isinstance(report, InfoFailed):
            logger.info("info on %s: %s (%s)", redacted(url), report.error, report.kind)
            raise PageUnreadable(report.error)
        return report

    async def _report(self, job: InfoJob) -> InfoReport:
        process = ChildProcess[InfoReport](job, child_main=self._child_main, name="info")
        report: InfoReport | None = None
        try:
            async with asyncio.timeout(self._settings.info_timeout_seconds):
                await process.start()
                async with contextlib.aclosing(process.reports()) as reports:
                    report = await anext(reports, None)
        except TimeoutError:
            logger.info("info on %s: no answer in time", redacted(job.url))
            raise InfoTimedOut(self._settings.info_timeout_seconds) from None
        finally:
            process.kill()  # the whole group, whatever yt-dlp started
            exit_code = await process.wait()
        if report is None:
            raise InfoProcessDied(exit_code)
        return report

    def _job(self, url: str, cookie_file: str | None) -> InfoJob:
        settings = self._settings
        return InfoJob(
            url=url,
            playlist_cap=settings.playlist_limit,
            js_runtime=self._programs.js_runtime,
            allow_private_urls=settings.allow_private_urls,
            allowed_networks=tuple(map(str, settings.allow_private_networks)),
            proxy=settings.proxy_for(url),
            cookie_file=cookie_file,
            log_level=settings.log_level,
            log_format=settings.log_format,
        )
