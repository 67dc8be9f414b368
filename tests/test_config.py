from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from offlinetube_api.config import HEARTBEAT_INTERVAL_S, Settings
from tests.fixtures.service import RunningService


def test_defaults_match_the_original_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = Settings()

    assert (settings.host, settings.port) == ("127.0.0.1", 8001)
    assert settings.max_concurrent_downloads == 3
    assert settings.cors_origins == ["*"]
    assert settings.downloads_dir == Path("downloads")
    assert settings.data_dir == Path("data")
    assert settings.stalled_after_seconds == 30


def test_stalled_after_seconds_takes_two_heartbeat_intervals_and_more(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_STALLED_AFTER_SECONDS", "20")

    assert Settings().stalled_after_seconds == 2 * HEARTBEAT_INTERVAL_S == 20


def test_environment_overrides_with_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_PORT", "9000")
    monkeypatch.setenv("OFFLINETUBE_DOWNLOADS_DIR", str(tmp_path / "videos"))
    monkeypatch.setenv("OFFLINETUBE_CORS_ORIGINS", "http://localhost:3000, https://tube.lan")

    settings = Settings()

    assert settings.port == 9000
    assert settings.downloads_dir == tmp_path / "videos"
    assert settings.cors_origins == ["http://localhost:3000", "https://tube.lan"]


def test_webhook_events_default_to_the_task_events_and_take_a_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings().webhook_events == ["task.completed", "task.failed", "task.cancelled"]

    monkeypatch.setenv("OFFLINETUBE_WEBHOOK_EVENTS", "task.failed, subscription.checked")

    assert Settings().webhook_events == ["task.failed", "subscription.checked"]


def test_cors_origins_accepts_a_json_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_CORS_ORIGINS", '["http://a.test", "http://b.test"]')

    assert Settings().cors_origins == ["http://a.test", "http://b.test"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OFFLINETUBE_PORT", "http"),
        ("OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS", "0"),
        ("OFFLINETUBE_TRANSCODE", "sometimes"),
        ("OFFLINETUBE_HEADER_TIMEOUT", "0"),
        ("OFFLINETUBE_MAX_CONNECTIONS_PER_CLIENT", "0"),
        ("OFFLINETUBE_MAX_EVENT_STREAMS", "none"),
        ("OFFLINETUBE_MAX_EVENT_STREAMS_PER_CLIENT", "0"),
        ("OFFLINETUBE_LOG_LEVEL", "loud"),
        ("OFFLINETUBE_STALLED_AFTER_SECONDS", "soon"),
        # One heartbeat interval: a live worker would be taken for lost between two beats.
        ("OFFLINETUBE_STALLED_AFTER_SECONDS", "10"),
        ("OFFLINETUBE_STALLED_AFTER_SECONDS", "19.9"),
        ("OFFLINETUBE_SESSION_TTL_SECONDS", "59"),
        ("OFFLINETUBE_SESSION_TTL_SECONDS", str(31 * 24 * 3600)),
        ("OFFLINETUBE_WEBHOOK_EVENTS", "task.completed,subscription.checkd"),
    ],
)
def test_bad_values_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        Settings()


def test_start_up_creates_the_folders(make_service: Callable[..., RunningService]) -> None:
    service = make_service()

    for folder in (
        service.settings.downloads_dir,
        service.settings.thumbnails_dir,
        service.settings.data_dir,
    ):
        assert folder.is_dir()
    # Embedded mode keeps its store in the data folder; distributed mode's is PostgreSQL.
    assert service.settings.database_path.is_file() is not service.settings.distributed


def test_allow_private_networks_takes_addresses_and_networks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_ALLOW_PRIVATE_NETWORKS", "192.168.1.10, 10.0.8.0/24,fd00::/8")

    networks = Settings().allow_private_networks

    assert list(map(str, networks)) == ["192.168.1.10/32", "10.0.8.0/24", "fd00::/8"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OFFLINETUBE_MAX_FILESIZE", "0"),
        ("OFFLINETUBE_MAX_FILESIZE", "1GB"),
        ("OFFLINETUBE_MAX_PER_SITE", "0"),
        ("OFFLINETUBE_COOLDOWN_SECONDS", "0"),
        ("OFFLINETUBE_SLEEP_INTERVAL", "-1"),
        ("OFFLINETUBE_ALLOW_PRIVATE_NETWORKS", "10.0.8.1/24"),  # host bits set: a typo
        ("OFFLINETUBE_ALLOW_PRIVATE_NETWORKS", "lan"),
    ],
)
def test_bad_size_cap_or_network_fails_at_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("OFFLINETUBE_").lower()):
        Settings()


def test_a_cooldown_ceiling_below_the_first_delay_fails_naming_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OFFLINETUBE_COOLDOWN_SECONDS", "120")
    monkeypatch.setenv("OFFLINETUBE_COOLDOWN_MAX_SECONDS", "60")

    with pytest.raises(ValidationError, match="cooldown_max_seconds") as refused:
        Settings()

    assert "at least OFFLINETUBE_COOLDOWN_SECONDS (120)" in str(refused.value)
