"""Other web pages cannot drive the service through a visitor's browser: a DNS-rebinding name
gets 400 while the service runs without keys, and a write from another origin gets 403 unless
that origin is named in OFFLINETUBE_CORS_ORIGINS (issue 9, item 10)."""

import pytest

from offlinetube_api.security.keys import Scope
from tests.api.test_auth import wait_for_auth
from tests.fixtures.keys import create_key
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

NOT_A_URL = {"url": "not a url"}  # 422 once past the checks; starts nothing


@pytest.mark.parametrize(
    "host", ["evil.test", "rebind.evil.test:8001", "127.0.0.1.nip.io", "localhost.evil.test", "::1"]
)
def test_a_foreign_host_gets_a_json_400_while_no_key_is_needed(
    service: RunningService, site: FixtureSite, host: str
) -> None:
    read = service.client.get("/api/downloads", headers={"Host": host})
    write = service.client.post(
        "/api/download", json={"url": site.url("/plain")}, headers={"Host": host}
    )

    for response in (read, write):
        assert response.status_code == 400
        assert "OFFLINETUBE_ALLOWED_HOSTS" in response.json()["detail"]
    assert service.client.get("/api/downloads").headers["x-total-count"] == "0"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "127.0.0.1:8001", "[::1]:8001"])
def test_the_loopback_names_are_answered(service: RunningService, host: str) -> None:
    assert service.client.get("/api/downloads", headers={"Host": host}).status_code == 200


def test_with_keys_required_any_host_is_answered(make_service: ServiceFactory) -> None:
    service = make_service()
    text = create_key(service.settings, Scope.READ, name="me")
    wait_for_auth(service)

    response = service.client.get(
        "/api/downloads", headers={"Host": "192.168.1.50:8001", "Authorization": f"Bearer {text}"}
    )

    assert response.status_code == 200


def test_allowed_hosts_when_given_apply_with_keys_too(make_service: ServiceFactory) -> None:
    service = make_service(allowed_hosts="tube.lan", auth="on")

    assert service.client.get("/api/health", headers={"Host": "tube.lan:8001"}).status_code == 200
    assert service.client.get("/api/health").status_code == 400


@pytest.mark.parametrize("origin", ["http://evil.test", "null", "http://localhost:3000"])
def test_a_write_from_another_origin_is_403_and_reads_stay_open(
    service: RunningService, site: FixtureSite, origin: str
) -> None:
    headers = {"Origin": origin}
    created = service.download(site.url("/plain"))
    remove = f"/api/downloads/{created['id']}/remove"

    for response in (
        service.client.post("/api/download", json={"url": site.url("/plain")}, headers=headers),
        service.client.delete(remove, headers=headers),
        service.client.post(f"/api/downloads/{created['id']}/cancel", headers=headers),
    ):
        assert response.status_code == 403
        assert "OFFLINETUBE_CORS_ORIGINS" in response.json()["detail"]
        assert response.headers["access-control-allow-origin"] == "*"  # readable by the page
    listing = service.client.get("/api/downloads", headers=headers)
    assert (listing.status_code, listing.headers["x-total-count"]) == (200, "1")
    assert listing.headers["access-control-allow-origin"] == "*"


def test_a_write_from_the_service_s_own_origin_passes(service: RunningService) -> None:
    own = f"http://127.0.0.1:{service.client.base_url.port}"

    response = service.client.post("/api/download", json=NOT_A_URL, headers={"Origin": own})

    assert response.status_code == 422


def test_an_origin_named_in_cors_origins_may_write_and_only_that_one(
    make_service: ServiceFactory,
) -> None:
    service = make_service(cors_origins="*,http://localhost:3000")

    def post_from(origin: str) -> int:
        return service.client.post(
            "/api/download", json=NOT_A_URL, headers={"Origin": origin}
        ).status_code

    assert post_from("http://localhost:3000") == 422
    assert post_from("http://localhost:3001") == 403
    assert post_from("https://localhost:3000") == 403
