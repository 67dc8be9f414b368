"""The listing's pages by cursor: `Link: <...>; rel="next"` while more tasks follow, its URL
answering the next page, whatever arrives meanwhile."""

import base64
from typing import Any

import httpx
import pytest

from offlinetube_api.api.listing_cursor import cursor
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite


def _follow(
    service: RunningService, params: dict[str, Any], *, between_pages: Any = None
) -> list[httpx.Response]:
    """Every page from the first by its `Link: rel="next"`, calling `between_pages()` after
    each page that has one."""
    pages = [service.client.get("/api/downloads", params=params)]
    while "next" in pages[-1].links:
        assert pages[-1].status_code == 200, pages[-1].text
        if between_pages:
            between_pages()
        pages.append(service.client.get(pages[-1].links["next"]["url"]))
    assert pages[-1].status_code == 200, pages[-1].text
    return pages


def _ids(pages: list[httpx.Response]) -> list[str]:
    return [task["id"] for page in pages for task in page.json()]


def test_next_links_visit_every_task_once_in_order_while_tasks_arrive(
    service: RunningService, site: FixtureSite
) -> None:
    ids = [service.download(site.url("/plain"))["id"] for _ in range(5)]
    arrived: list[str] = []

    pages = _follow(
        service,
        {"limit": 2},
        between_pages=lambda: arrived.append(service.download(site.url("/plain"))["id"]),
    )

    assert _ids(pages) == ids[::-1]
    assert [len(page.json()) for page in pages] == [2, 2, 1]
    assert [page.headers["x-total-count"] for page in pages] == ["5", "6", "7"]
    link = pages[0].headers["link"]
    assert link.startswith("</api/downloads?limit=2&before=") and link.endswith('>; rel="next"')
    # The new tasks come first on a new first page.
    assert _ids(_follow(service, {"limit": 4})) == arrived[::-1] + ids[::-1]


def test_oldest_first_next_links_keep_the_order(service: RunningService, site: FixtureSite) -> None:
    ids = [service.download(site.url("/plain"))["id"] for _ in range(3)]

    pages = _follow(service, {"limit": 2, "order": "oldest"})

    assert _ids(pages) == ids
    assert "order=oldest" in pages[0].links["next"]["url"]
    assert _ids([service.client.get("/api/downloads", params={"order": "newest"})]) == ids[::-1]


def test_next_links_keep_the_status_filter_and_the_limit(
    service: RunningService, site: FixtureSite
) -> None:
    good = site.page_url(video=site.url("/media/clip.mp4"))
    urls = [site.url("/plain"), good, site.url("/plain"), site.url("/plain"), good]
    ids = [service.download(url)["id"] for url in urls]
    for task_id in ids:
        service.wait_for_status(task_id, "completed", "failed")

    failed = _follow(
        service,
        {"status": "failed", "limit": 1},
        between_pages=lambda: service.download(site.url("/plain")),
    )

    assert _ids(failed) == [ids[3], ids[2], ids[0]]
    assert all("status=failed" in page.links["next"]["url"] for page in failed[:-1])
    assert all("limit=1" in page.links["next"]["url"] for page in failed[:-1])
    completed = _follow(service, {"status": "completed", "limit": 1})
    assert _ids(completed) == [ids[4], ids[1]]
    assert completed[0].headers["x-total-count"] == "2"


def test_a_page_that_ends_the_library_has_no_link(
    service: RunningService, site: FixtureSite
) -> None:
    for _ in range(2):
        service.download(site.url("/plain"))

    assert "link" not in service.client.get("/api/downloads", params={"limit": 2}).headers
    assert "link" not in service.client.get("/api/downloads").headers
    # An offset page leads on by cursor too.
    by_offset = service.client.get("/api/downloads", params={"limit": 1, "offset": 0})
    assert "offset" not in by_offset.links["next"]["url"]


def test_a_cursor_past_the_end_is_an_empty_page_without_link(
    service: RunningService, site: FixtureSite
) -> None:
    for _ in range(2):
        service.download(site.url("/plain"))
    response = service.client.get("/api/downloads", params={"before": cursor(0)})

    assert response.status_code == 200
    assert response.json() == []
    assert "link" not in response.headers
    assert response.headers["x-total-count"] == "2"


@pytest.mark.parametrize(
    "before",
    [
        "not a cursor",
        "",
        "%%%",
        "é",
        "djEuLTE",  # v1.-1
        base64.urlsafe_b64encode(b"v1.9223372036854775808").decode(),  # past 64 bits
        base64.urlsafe_b64encode(b"v2.1").decode(),
        "A" * 1000,
    ],
)
def test_a_malformed_cursor_is_a_422_that_says_what_to_send(
    service: RunningService, before: str
) -> None:
    response = service.client.get("/api/downloads", params={"before": before})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "before"]
    assert "is not a cursor of this listing" in problem["msg"]
    assert "Link" in problem["msg"]


def test_offset_beside_a_cursor_is_a_422(service: RunningService, site: FixtureSite) -> None:
    for _ in range(3):
        service.download(site.url("/plain"))
    second_page = service.client.get("/api/downloads", params={"limit": 1}).links["next"]["url"]

    refused = service.client.get(f"{second_page}&offset=1")
    from_zero = service.client.get(f"{second_page}&offset=0")

    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["loc"] == ["query", "offset"]
    assert "either offset or before" in problem["msg"]
    assert from_zero.status_code == 200
    assert len(from_zero.json()) == 1
