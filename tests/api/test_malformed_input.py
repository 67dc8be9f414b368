"""Malformed signed-link parameters and event ids are a client's mistake: a 4xx with a JSON
`detail`, never a 500 with a traceback (issue 9, item 11)."""

from collections.abc import Iterator

import pytest

from tests.fixtures.service import RunningService, start_service
from tests.fixtures.site import FixtureSite

# Fixed, not random: parallel test workers must collect the same test ids.
TASK_ID = "3f1c2a9e-7b4d-4e8a-9c61-0d5b8e2f4a17"
LINK_PATHS = [
    f"/api/stream/video__{TASK_ID}.mp4",
    f"/api/thumbnails/{TASK_ID}",
    f"/api/subtitles/video__{TASK_ID}.en.vtt",
    "/api/events",
    f"/api/downloads/{TASK_ID}/events",
]
BAD_LINKS = {
    "superscript two": "exp=%C2%B2&sig=x",
    "fullwidth digits": "exp=%EF%BC%91%EF%BC%92&sig=x",
    "5,000 digits": "exp=" + "9" * 5000 + "&sig=x",
    "non-ASCII signature": "exp=99999999999&sig=%C3%A9",
    "NUL in signature": "exp=99999999999&sig=%00",
    "signature only": "sig=abc",
}


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service for the whole module: these requests change nothing."""
    service = start_service(tmp_path_factory.mktemp("locked"), auth="on")
    yield service
    service.stop()


@pytest.mark.parametrize("path", LINK_PATHS)
@pytest.mark.parametrize("query", BAD_LINKS.values(), ids=BAD_LINKS.keys())
def test_a_malformed_signed_link_is_a_json_403(
    locked: RunningService, path: str, query: str
) -> None:
    response = locked.client.get(f"{path}?{query}")

    assert response.status_code == 403, response.text
    assert response.json()["detail"].startswith("This signed link is not valid")


UNUSABLE_EVENT_IDS = ["1" * 5000, "9" * 21, "\N{FULLWIDTH DIGIT ONE}\N{FULLWIDTH DIGIT TWO}", "-1"]


def test_an_unusable_last_event_id_counts_as_none(
    service: RunningService, site: FixtureSite
) -> None:
    """As header and as query parameter: the client gets the current state, then the end."""
    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    path = f"/api/downloads/{task['id']}/events"

    for last_event_id in UNUSABLE_EVENT_IDS:
        by_header = service.client.get(path, headers={"Last-Event-ID": last_event_id.encode()})
        by_query = service.client.get(path, params={"last_event_id": last_event_id})
        for response in (by_header, by_query):
            assert response.status_code == 200, (last_event_id[:30], response.text)
            assert response.text.count("event: task") == 1
