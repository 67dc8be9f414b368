"""A PostgreSQL outage as an API replica lives it: requests answer 503 at once, not after the
pool's wait for a connection, and the replica recovers by itself when the database is back."""

import time
from pathlib import Path

import httpx

from offlinetube_api.store.postgres import RECONNECT_GIVE_UP_S
from tests.fixtures.postgres import database_down
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import api_replica


def _timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path, timeout=60)
    return response, time.monotonic() - started


def test_during_an_outage_requests_fail_fast_with_retry_after_and_recover(
    postgres_url: str, tmp_path: Path
) -> None:
    with api_replica(tmp_path, postgres_url) as client:
        with database_down(postgres_url):
            # The first waits the pool's connection timeout (10 s): that is how the store
            # learns the database is down. Then for longer than the pool tries to connect
            # again before it gives up (RECONNECT_GIVE_UP_S), so recovery below starts over.
            first, _ = _timed_get(client, "/api/downloads")
            during: list[tuple[httpx.Response, float]] = []
            ends = time.monotonic() + RECONNECT_GIVE_UP_S + 2
            while time.monotonic() < ends:
                during.append(_timed_get(client, "/api/downloads"))
            health, health_s = _timed_get(client, "/api/health")
        back = time.monotonic()
        wait_until(
            lambda: client.get("/api/downloads").status_code == 200,
            deadline_s=5,
            what="the replica to reach the database again",
        )
        recovered_s = time.monotonic() - back

    assert first.status_code == 503, first.text
    assert {response.status_code for response, _ in during} == {503}
    assert {response.headers["retry-after"] for response, _ in during} == {"30"}
    # Each about 0.2 s (OUTAGE_WAIT_S per store call) where it was 40 s.
    assert max(seconds for _, seconds in during) < 1.5, [round(s, 2) for _, s in during]
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health_s < 1.5  # was 20 s
    assert recovered_s < 5
