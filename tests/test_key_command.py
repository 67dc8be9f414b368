"""`offlinetube-api keys`: it works on the database the service's settings name, says which,
and makes a new one only when told to (issue 14, item 3)."""

from pathlib import Path

from offlinetube_api.config import redacted
from tests.fixtures.postgres import Databases
from tests.fixtures.service_process import ServiceProcess, running_service


def _create(installation: ServiceProcess, *extra: str) -> tuple[int, str, str]:
    done = installation.command("keys", "create", "--scope", "admin", "--name", "me", *extra)
    return done.returncode, done.stdout.strip(), done.stderr


def test_keys_create_refuses_to_start_a_new_database_naming_where_it_looked(
    tmp_path: Path,
) -> None:
    installation = ServiceProcess(tmp_path / "install")
    installation.root.mkdir()

    code, key, stderr = _create(installation)

    assert (code, key) == (2, "")
    assert stderr == (
        f"No database at {installation.database}: no service has run with "
        f"OFFLINETUBE_DATA_DIR={installation.data_dir}.\n"
        "Give this command the service's OFFLINETUBE_DATA_DIR, or add --create to start a new "
        "database there.\n"
    )
    assert not installation.data_dir.exists(), "nothing made"
    assert "Traceback" not in stderr


def test_keys_list_and_revoke_on_no_database_are_refused_without_making_one(
    tmp_path: Path,
) -> None:
    installation = ServiceProcess(tmp_path)

    for args in (("list",), ("revoke", "0a1b2c3d4e5f")):
        done = installation.command("keys", *args)

        assert done.returncode == 2
        assert str(installation.database) in done.stderr
        assert "--create" not in done.stderr
    assert not installation.data_dir.exists()


def test_a_key_made_with_create_opens_the_service_started_afterwards(tmp_path: Path) -> None:
    installation = ServiceProcess(tmp_path)

    code, key, stderr = _create(installation, "--create")

    assert code == 0, stderr
    assert stderr.splitlines()[0] == f"keys: database {installation.database}"
    with running_service(tmp_path, auth="on") as service:
        assert service.client.get("/api/downloads").status_code == 401
        headers = {"Authorization": f"Bearer {key}"}
        assert service.client.get("/api/downloads", headers=headers).status_code == 200
        listed = installation.command("keys", "list")
    assert listed.returncode == 0
    assert listed.stderr == f"keys: database {installation.database}\n"
    assert key.split("_")[1] in listed.stdout


def test_create_in_a_data_folder_that_cannot_be_made_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    installation = ServiceProcess(tmp_path)
    installation.settings["data_dir"] = str(tmp_path / "a-file" / "data")

    code, key, stderr = _create(installation, "--create")

    assert (code, key) == (2, "")
    assert stderr.splitlines()[-1] == (
        "OFFLINETUBE_DATA_DIR: must be a folder this user can create and write in; "
        f"Not a directory (got '{tmp_path / 'a-file' / 'data'}')"
    )
    assert "Traceback" not in stderr


def test_keys_on_a_postgresql_database_without_the_service_tables_needs_create(
    tmp_path: Path, postgres_databases: Databases
) -> None:
    url = postgres_databases.empty()
    shown = redacted(url)
    installation = ServiceProcess(tmp_path, database_url=url)
    try:
        code, _, refused = _create(installation)
        assert code == 2
        assert refused.startswith(f"No database at {shown} (it has no tables of this service)")
        assert "OFFLINETUBE_DATABASE_URL" in refused and "--create" in refused

        code, key, made = _create(installation, "--create")
        assert code == 0, made
        assert made.splitlines()[0] == f"keys: database {shown}"
        listed = installation.command("keys", "list")
        assert listed.returncode == 0, listed.stderr
        assert key.split("_")[1] in listed.stdout
        assert not installation.database.exists(), "no SQLite file on the side"
    finally:
        postgres_databases.drop(url)
