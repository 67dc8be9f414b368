"""POST /api/download is limited per client: `rate_limit_per_minute` in any minute, then 429
with `Retry-After`; nothing else is limited."""

import asyncio

from offlinetube_api.api.rate_limit import DownloadRateLimit
from tests.fixtures.service import ServiceFactory
from tests.fixtures.site import FixtureSite

NOT_A_URL = {"url": "not a url"}


def test_download_31st_post_in_a_minute_answers_429_with_retry_after(
    make_service: ServiceFactory,
) -> None:
    service = make_service()  # the default, 30 a minute
    # Refused bodies count too, and start nothing, so the test stays fast.
    answers = [service.client.post("/api/download", json=NOT_A_URL) for _ in range(30)]

    response = service.client.post("/api/download", json=NOT_A_URL)

    assert {answer.status_code for answer in answers} == {422}
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert "try again" in response.json()["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_download_over_limit_starts_nothing_and_other_routes_still_answer(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(rate_limit_per_minute=3)
    body = {"url": site.url("/plain"), "force": True}
    accepted = [service.client.post("/api/download", json=body) for _ in range(3)]

    refused = service.client.post("/api/download", json=body)

    assert [answer.status_code for answer in accepted] == [202, 202, 202]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    listing = service.client.get("/api/downloads")
    assert (listing.status_code, listing.headers["x-total-count"]) == (200, "3")


def test_rate_limit_counts_each_identity_apart() -> None:
    async def scenario() -> list[int | None]:
        limit = DownloadRateLimit(per_minute=2)
        return [await limit.hit(who) for who in ("a", "a", "b", "a", "b", "b")]

    first_a, second_a, first_b, third_a, second_b, third_b = asyncio.run(scenario())

    assert [first_a, second_a, first_b, second_b] == [None, None, None, None]
    assert third_a is not None and 1 <= third_a <= 60
    assert third_b is not None and 1 <= third_b <= 60
