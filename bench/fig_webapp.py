"""Figure 10: what the web app weighs on first load. A browser with nothing cached opens `/`
and `/library` (a library of 1,000 tasks: a full page of cards); the page and the styles,
scripts, icons and manifest it references, in bytes as sent, beside the 150 KB budget of
issue 11. Thumbnails are the library's own pictures, not the app's, and are left out."""

from pathlib import Path
from urllib.parse import urljoin

import httpx

from bench.fig_listing import grow
from bench.report import Figure, Report
from bench.servers import ApiService
from tests.fixtures.page_assets import ReferencedUrls

BUDGET_BYTES = 150_000
LIBRARY_TASKS = 1_000
PAGES = ("/", "/library")


class AppAssets(ReferencedUrls):
    """The URLs a page references, but its `<img>` elements (thumbnails)."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            super().handle_starttag(tag, attrs)


def _first_load(client: httpx.Client, path: str) -> dict[str, int]:
    """Bytes of each response a first load of `path` takes: the page, then what it references."""
    page = client.get(path)
    page.raise_for_status()
    parser = AppAssets()
    parser.feed(page.text)
    sizes = {path: len(page.content)}
    for url in dict.fromkeys(parser.urls):
        asset = client.get(urljoin(str(page.url), url))
        asset.raise_for_status()
        sizes[url] = len(asset.content)
    return sizes


def run_webapp_figure(report: Report, scratch: Path) -> None:
    root = scratch / "webapp-service"
    grow(root, 0, LIBRARY_TASKS)
    with ApiService(root) as service, httpx.Client(base_url=service.base_url) as client:
        loads = {path: _first_load(client, path) for path in PAGES}
    for path, sizes in loads.items():
        weight = sum(sizes.values())
        ratio = weight / BUDGET_BYTES
        report.add(
            Figure(
                10,
                f"Web app first load, `{path}`",
                f"{weight:,} bytes in {len(sizes)} responses",
                f"budget {BUDGET_BYTES:,} bytes",
                ratio,
                "< 1 (under the budget)",
                ratio < 1,
            ),
            f"- `{path}`: " + ", ".join(f"{url} {size:,}" for url, size in sizes.items()),
        )
    report.detail(
        10,
        "- Uncompressed, as the service sends them; the library holds 1,000 tasks, so `/library` "
        "has a full page of cards. Thumbnails are not counted (the library's pictures).",
    )
