"""POST /api/download is limited per client: `rate_limit_per_minute` in any minute, then 429
with `Retry-After`; nothing else is limited."""

import asyncio

import psycopg

from offlinetube_api.api.rate_limit import DownloadRateLimit, PostgresDownloadRateLimit
from offlinetube_api.store import PostgresTaskStore
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


def test_replicas_on_one_database_share_the_limit(postgres_url: str) -> None:
    """Two replicas, each with its own limit object and pool, count one window together,
    also when their requests arrive at the same moment."""

    async def scenario() -> tuple[list[int | None], list[int | None], list[int | None]]:
        replicas = [PostgresTaskStore(postgres_url), PostgresTaskStore(postgres_url)]
        for store in replicas:
            await store.open()
        try:
            limits = [PostgresDownloadRateLimit(store, per_minute=3) for store in replicas]
            together = await asyncio.gather(*(limits[n % 2].hit("a") for n in range(10)))
            later = [await limits[n % 2].hit("a") for n in range(2)]
            others = [await limits[n % 2].hit("b") for n in range(4)]
            return together, later, others
        finally:
            for store in replicas:
                await store.close()

    together, later, others = asyncio.run(scenario())

    assert together.count(None) == 3, together
    assert all(1 <= wait <= 60 for wait in together + later if wait is not None)
    assert later.count(None) == 0
    assert others[:3] == [None, None, None] and others[3] is not None


def test_hits_older_than_the_window_are_pruned(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "INSERT INTO download_rate_hits (identity, at) "
            "VALUES ('gone', now() - interval '2 minutes'), ('kept', now())"
        )

    async def scenario() -> None:
        store = PostgresTaskStore(postgres_url)
        await store.open()
        try:
            assert await PostgresDownloadRateLimit(store, 3, prune_every_s=0).hit("c") is None
        finally:
            await store.close()

    asyncio.run(scenario())

    with psycopg.connect(postgres_url) as connection:
        left = connection.execute("SELECT identity FROM download_rate_hits ORDER BY identity")
        assert [row[0] for row in left] == ["c", "kept"]


def test_two_replicas_behind_one_proxy_allow_the_limit_once(make_replica: ServiceFactory) -> None:
    replicas = [make_replica(rate_limit_per_minute=3), make_replica(rate_limit_per_minute=3)]

    answers = [
        replicas[n % 2].client.post("/api/download", json=NOT_A_URL).status_code for n in range(5)
    ]

    assert answers == [422, 422, 422, 429, 429]
