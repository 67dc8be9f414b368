"""uvicorn as the service sets it up: forwarded headers believed only from
OFFLINETUBE_FORWARDED_ALLOW_IPS, and an access log without signatures or keys (issue 9,
items 9 and 13)."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from offlinetube_api.config import Settings
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.service_process import running_service

NOT_A_URL = {"url": "not a url"}  # refused with 422, yet counted: nothing starts


def _posts(service_factory: ServiceFactory, **settings: str) -> list[int]:
    service = service_factory(rate_limit_per_minute=5, **settings)
    return [
        service.client.post(
            "/api/download", json=NOT_A_URL, headers={"X-Forwarded-For": f"203.0.113.{n}"}
        ).status_code
        for n in range(8)
    ]


def test_a_spoofed_x_forwarded_for_does_not_escape_the_rate_limit(
    make_service: ServiceFactory,
) -> None:
    assert _posts(make_service) == [422] * 5 + [429] * 3


def test_behind_a_named_proxy_each_forwarded_address_is_limited_apart(
    make_service: ServiceFactory,
) -> None:
    assert _posts(make_service, forwarded_allow_ips="127.0.0.1") == [422] * 8


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1,not-an-address", "10.0.0.0/33"])
def test_forwarded_allow_ips_takes_addresses_and_networks_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_FORWARDED_ALLOW_IPS", value)

    with pytest.raises(ValidationError, match="forwarded_allow_ips"):
        Settings()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_shows_requests_but_not_signatures_or_keys(
    tmp_path: Path, log_format: str
) -> None:
    secrets = ["SIGNATURE1", "SIGNATURE2", "KEYSECRET3", "KEYSECRET4"]
    targets = [
        "/api/thumbnails/0f8fad5b-d9cb-469f-a165-70867728950e?exp=1795750200&sig=SIGNATURE1",
        "/api/events?%73ig=SIGNATURE2&last_event_id=7",  # `sig`, percent-encoded
        "/api/downloads?api_key=otk_0a1b2c_KEYSECRET3",
        "/api/downloads/otk_0a1b2c_KEYSECRET4",
    ]

    with running_service(tmp_path, auth="on", log_format=log_format, access_log="true") as service:
        for target in targets:
            assert service.client.get(target).status_code in (401, 403)
        wait_until(lambda: service.output.count('" 40') >= len(targets), what="access log lines")

    log = service.output
    assert "/api/thumbnails/0f8fad5b-d9cb-469f-a165-70867728950e?exp=1795750200&sig=[redacted]" in (
        log
    )
    assert "/api/events?%73ig=[redacted]&last_event_id=7" in log
    assert "/api/downloads/otk_0a1b2c_[redacted]" in log
    assert not [secret for secret in secrets if secret in log], log
    if log_format == "json":  # the request's parts as fields, redacted too
        lines = [json.loads(line) for line in log.splitlines()]
        paths = [line["path"] for line in lines if line["logger"] == "uvicorn.access"]
        assert "/api/events?%73ig=[redacted]&last_event_id=7" in paths
        assert {line["status"] for line in lines if "path" in line} >= {401}


def test_the_access_log_is_off_unless_asked_for(tmp_path: Path) -> None:
    """By default a request leaves no line (the task log tells the downloads' story); the
    start-up summary is there, so the log is read, not empty for another reason."""
    target = "/api/thumbnails/0f8fad5b-d9cb-469f-a165-70867728950e"
    with running_service(tmp_path) as service:
        for _ in range(3):
            assert service.client.get(target).status_code == 404
            assert service.client.get("/api/health").status_code == 200
        wait_until(lambda: "started: embedded mode" in service.output, what="the start line")

    assert "started: embedded mode" in service.output
    assert target not in service.output
    assert "/api/health" not in service.output
