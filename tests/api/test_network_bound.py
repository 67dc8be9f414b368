"""A service on a network address never opens by itself: not when its last key is revoked,
not when it was started some other way than the command line (issue 9, item 2)."""

from pathlib import Path

from offlinetube_api.config import Settings
from tests.fixtures.keys import active_keys
from tests.fixtures.service import ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess, running_service

NO_KEY_LEFT = "no API key is active any more"


def _create(tmp_path: Path, scope: str) -> tuple[str, str]:
    """(key id, key text) of a new key made with the command line, in a new database if the
    folder has none yet."""
    command = ("keys", "create", "--scope", scope, "--name", scope, "--create")
    created = ServiceProcess(tmp_path).command(*command)
    assert created.returncode == 0, created.stderr
    text = created.stdout.strip()
    return text.split("_")[1], text


def test_revoking_the_last_key_of_a_service_on_0_0_0_0_leaves_it_locked(tmp_path: Path) -> None:
    key_id, text = _create(tmp_path, "admin")

    with running_service(tmp_path, host="0.0.0.0") as service:
        key = {"Authorization": f"Bearer {text}"}
        assert service.client.get("/api/downloads", headers=key).status_code == 200
        refused = ServiceProcess(tmp_path).command("keys", "revoke", key_id)
        assert refused.returncode != 0
        assert "last active admin key" in refused.stderr and "--force" in refused.stderr
        assert service.client.get("/api/downloads", headers=key).status_code == 200

        forced = ServiceProcess(tmp_path).command("keys", "revoke", key_id, "--force")
        assert forced.returncode == 0, forced.stderr

        def noticed() -> bool:  # the service looks again at its keys when asked something
            service.client.get("/api/downloads")
            return NO_KEY_LEFT in service.output

        wait_until(noticed, what="the log line of no key left")

        for headers in ({}, key):
            response = service.client.get("/api/downloads", headers=headers)
            assert response.status_code == 401, response.text
        assert service.client.get("/api/health").status_code == 200
    assert "every request but /api/health is refused" in service.output


def test_a_service_set_to_a_network_address_requires_keys_even_with_none_made(
    make_service: ServiceFactory,
) -> None:
    """Started by create_app (under another server, say), so the command line's refusal to
    start open on a network address never ran."""
    service = make_service(host="0.0.0.0")

    assert service.client.get("/api/downloads").status_code == 401
    assert service.client.post("/api/download", json={"url": "https://a.test/"}).status_code == 401
    assert service.client.get("/api/health").status_code == 200


def test_the_same_service_on_loopback_stays_open_without_keys(make_service: ServiceFactory) -> None:
    service = make_service()

    assert service.client.get("/api/downloads").status_code == 200


def test_keys_revoke_refuses_only_the_last_admin_key_without_force(tmp_path: Path) -> None:
    admin_id, _ = _create(tmp_path, "admin")
    read_id, _ = _create(tmp_path, "read")

    last_admin = ServiceProcess(tmp_path).command("keys", "revoke", admin_id)
    assert last_admin.returncode != 0
    assert "last active admin key" in last_admin.stderr
    assert "answer anyone" not in last_admin.stderr  # a read key is still active
    assert ServiceProcess(tmp_path).command("keys", "revoke", read_id).returncode == 0

    last_of_all = ServiceProcess(tmp_path).command("keys", "revoke", admin_id)
    assert last_of_all.returncode != 0
    assert "answer anyone" in last_of_all.stderr.replace("\n", " ")

    second_admin, _ = _create(tmp_path, "admin")
    assert ServiceProcess(tmp_path).command("keys", "revoke", admin_id).returncode == 0
    settings = Settings(data_dir=tmp_path / "data")
    assert [key.id for key in active_keys(settings)] == [second_admin]
