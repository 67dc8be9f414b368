"""`GET /api/downloads?q=`: every word must be a word of the title, in any case and with or
without accents; with status, pages by cursor and X-Total-Count like the whole listing."""

import pytest

from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

TITLES = ["Canción de Amor", "CANCIÓN triste", "Amor y paz", "Otra cosa"]


def _search(service: RunningService, **params: str | int) -> tuple[list[str], str]:
    response = service.client.get("/api/downloads", params=params)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()], response.headers["x-total-count"]


def test_search_by_words_in_any_case_and_accent_with_status_and_pages(
    service: RunningService, site: FixtureSite
) -> None:
    for title in TITLES:
        url = site.page_url(video=site.url("/media/clip.mp4"), title=title)
        service.download_and_wait(url)

    assert _search(service, q="cancion") == ([TITLES[1], TITLES[0]], "2")
    assert _search(service, q="AMOR canción") == ([TITLES[0]], "1")
    assert _search(service, q="  amor!  ") == ([TITLES[2], TITLES[0]], "2")
    assert _search(service, q="amor", status="completed") == ([TITLES[2], TITLES[0]], "2")
    assert _search(service, q="amor", status="failed") == ([], "0")
    assert _search(service, q="triste paz") == ([], "0")
    assert _search(service, q="canciones") == ([], "0")  # whole words
    first = service.client.get("/api/downloads", params={"q": "amor", "limit": 1})
    assert "q=amor" in first.links["next"]["url"]
    second = service.client.get(first.links["next"]["url"])
    assert [task["title"] for task in second.json()] == [TITLES[0]]
    assert second.headers["x-total-count"] == "2"
    assert "link" not in second.headers


@pytest.mark.parametrize("q", ["¡¿...?!", "", "   ", "_-_"])
def test_a_query_without_words_is_a_422_that_says_so(service: RunningService, q: str) -> None:
    response = service.client.get("/api/downloads", params={"q": q})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "q"]
    assert "no word to search for" in problem["msg"]


def test_a_query_too_long_is_a_422(service: RunningService) -> None:
    response = service.client.get("/api/downloads", params={"q": "a " * 101})

    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "q"]
    assert problem["msg"] == "String should have at most 200 characters"
