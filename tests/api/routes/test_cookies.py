"""Cookie sets through HTTP: uploaded by an admin, listed without values, sent by name or by
domain to a fixture page that answers 403 without them, and never shown or logged."""

import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from offlinetube_api.security.keys import Scope
from tests.api.test_auth import wait_for_auth
from tests.fixtures.keys import create_key
from tests.fixtures.service import RunningService, ServiceFactory, wait_until
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

SECRET = "s3cr3t-session-value-4711"
HEADER = "# Netscape HTTP Cookie File\n"
# A cookie for the fixture site's host alone (no leading dot: host-only), expiring in 2033.
COOKIES = f"{HEADER}127.0.0.1\tFALSE\t/\tFALSE\t2000000000\tsession\t{SECRET}\n"
TEXT = {"Content-Type": "text/plain"}


def upload(client: httpx.Client, name: str, text: str = COOKIES, **headers: str) -> httpx.Response:
    return client.put(f"/api/cookies/{name}", content=text.encode(), headers=TEXT | headers)


def members_page(site: FixtureSite, video: str = "/media/clip.mp4") -> str:
    return site.members_url(video=site.url(video), cookie=f"session={SECRET}")


def assert_no_value(*texts: Any) -> None:
    for text in texts:
        assert SECRET not in str(text)


def test_a_download_named_with_a_cookie_set_gets_the_page(
    service: RunningService, site: FixtureSite
) -> None:
    saved = upload(service.client, "members")

    task = service.download_and_wait(members_page(site), cookies="members")

    assert saved.status_code == 200, saved.text
    assert task["status"] == "completed", task["error"]
    assert task["cookies"] == "members"
    assert_no_value(saved.text, task)


def test_a_cookie_set_is_used_by_default_for_its_domain(
    service: RunningService, site: FixtureSite
) -> None:
    upload(service.client, "other", f"{HEADER}.example.com\tTRUE\t/\tFALSE\t0\tsession\tnope\n")
    upload(service.client, "members")

    task = service.download_and_wait(members_page(site))

    assert task["status"] == "completed", task["error"]
    assert task["cookies"] == "members"


def test_without_cookies_the_task_fails_auth_required_saying_to_upload_them(
    service: RunningService, site: FixtureSite
) -> None:
    task = service.download_and_wait(members_page(site))

    assert task["status"] == "failed"
    assert task["error_kind"] == "auth_required"
    assert "PUT /api/cookies/{name}" in task["error"]
    assert task["cookies"] is None


def test_a_retry_after_the_upload_uses_the_new_set(
    service: RunningService, site: FixtureSite
) -> None:
    failed = service.download_and_wait(members_page(site))
    upload(service.client, "members")

    assert service.client.post(f"/api/downloads/{failed['id']}/retry").status_code == 202
    task = service.wait_for_status(failed["id"], "completed", "failed")

    assert task["status"] == "completed", task["error"]
    assert task["cookies"] == "members"


def test_a_removed_set_is_no_longer_sent(service: RunningService, site: FixtureSite) -> None:
    upload(service.client, "members")

    removed = service.client.delete("/api/cookies/members")
    again = service.client.delete("/api/cookies/members")
    task = service.download_and_wait(members_page(site))

    assert removed.status_code == 204
    assert again.status_code == 404
    assert service.client.get("/api/cookies").json() == []
    assert task["error_kind"] == "auth_required"


def test_an_unknown_set_named_in_a_download_answers_422_naming_it(
    service: RunningService, site: FixtureSite
) -> None:
    response = service.client.post(
        "/api/download", json={"url": members_page(site), "cookies": "nosuch"}
    )

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "cookies"]
    assert "'nosuch'" in problem["msg"]
    assert "PUT /api/cookies/nosuch" in problem["msg"]


def test_the_listing_shows_domains_and_expiry_but_no_value(service: RunningService) -> None:
    text = COOKIES + f"#HttpOnly_.example.com\tTRUE\t/\tTRUE\t1900000000\tid\t{SECRET}x\n"
    upload(service.client, "members", text)

    listing = service.client.get("/api/cookies")

    assert listing.status_code == 200
    [cookie_set] = listing.json()
    assert cookie_set["name"] == "members"
    assert cookie_set["domains"] == [
        {
            "domain": "127.0.0.1",
            "cookies": 1,
            "expires_first": "2033-05-18T03:33:20Z",
            "expires_last": "2033-05-18T03:33:20Z",
        },
        {
            "domain": ".example.com",
            "cookies": 1,
            "expires_first": "2030-03-17T17:46:40Z",
            "expires_last": "2030-03-17T17:46:40Z",
        },
    ]
    assert_no_value(listing.text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("session=abc; other=def\n", "Line 1 must be the cookies.txt header"),
        (f"{HEADER}\n127.0.0.1\tFALSE\t/\t{SECRET}\n", "Line 3 is not a cookie: a cookie line"),
        (f"{HEADER}127.0.0.1\tTRUE\t/\tFALSE\t0\tsession\t{SECRET}\n", "Line 2 is not a cookie"),
        (f"{HEADER}127.0.0.1\tFALSE\t/\tFALSE\tsoon\tsession\t{SECRET}\n", "the expiry"),
        (f"{HEADER}# only comments\n", "holds no cookie"),
    ],
    ids=["no header", "4 fields", "flag and dot", "expiry", "empty"],
)
def test_a_file_that_is_not_cookies_txt_answers_422_naming_the_line(
    service: RunningService, text: str, said: str
) -> None:
    response = upload(service.client, "members", text)

    assert response.status_code == 422
    assert said in response.json()["detail"][0]["msg"]
    assert_no_value(response.text)
    assert service.client.get("/api/cookies").json() == []


@pytest.mark.parametrize("name", ["Members", "-x", "a.b", "x" * 65, "caf%C3%A9"])
def test_a_name_that_is_not_a_short_slug_answers_422(service: RunningService, name: str) -> None:
    assert upload(service.client, name).status_code == 422


def test_a_file_over_256_kib_answers_413(service: RunningService) -> None:
    filler = "# padding\n" * (256 * 1024 // 10)

    response = upload(service.client, "members", COOKIES + filler)

    assert response.status_code == 413
    assert upload(service.client, "members", COOKIES + filler[:100_000]).status_code == 200


def test_a_body_not_sent_as_text_answers_415(service: RunningService) -> None:
    response = service.client.put(
        "/api/cookies/members", content=COOKIES, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]


def test_cookie_sets_need_an_admin_key(service: RunningService) -> None:
    download_key = {"Authorization": f"Bearer {create_key(service.settings, Scope.DOWNLOAD)}"}
    admin_key = {"Authorization": f"Bearer {create_key(service.settings, Scope.ADMIN)}"}
    wait_for_auth(service)

    refused = [
        upload(service.client, "members", **download_key).status_code,
        service.client.get("/api/cookies", headers=download_key).status_code,
        service.client.delete("/api/cookies/members", headers=download_key).status_code,
        upload(service.client, "members").status_code,
    ]

    assert refused == [403, 403, 403, 401]
    assert upload(service.client, "members", **admin_key).status_code == 200


def test_a_download_gets_a_private_copy_deleted_when_it_ends(
    service: RunningService, site: FixtureSite
) -> None:
    upload(service.client, "members")
    folder = service.settings.data_dir / "cookie-files"

    task = service.download(members_page(site, "/slow/20000/clip.mp4"))
    [copy] = wait_until(lambda: list(folder.glob("*.txt")), what="the task's cookie file")

    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert service.wait_for_status(task["id"], "completed", "failed")["status"] == "completed"
    # Deleted as the run ends, which in distributed mode is a moment after its state is saved.
    wait_until(lambda: not any(folder.iterdir()), what="the task's cookie file to go")


def test_values_appear_in_no_log_line_nor_answer(
    service_process: ServiceProcess, site: FixtureSite
) -> None:
    service_process.settings |= {"log_level": "debug", "access_log": "true"}
    client = service_process.start()
    upload(client, "members")
    bad = upload(client, "broken", f"{HEADER}127.0.0.1\tFALSE\t{SECRET}\n")
    posted = client.post("/api/download", json={"url": members_page(site), "force": True})
    task_id = posted.json()["id"]

    def settled() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"/api/downloads/{task_id}").json()
        return task if task["status"] in ("completed", "failed") else None

    task = wait_until(settled, what="the download to end")
    events = client.get(f"/api/downloads/{task_id}/events", headers={"Accept": "text/event-stream"})

    assert task["status"] == "completed", task["error"]
    assert bad.status_code == 422
    assert "cookie set 'members' saved" in service_process.output
    assert_no_value(
        service_process.output, client.get("/api/cookies").text, client.get("/api/downloads").text
    )
    assert_no_value(events.text)
    assert not list(Path(service_process.data_dir, "cookie-files").glob("*"))


@pytest.mark.stores("sqlite")  # embedded mode alone holds its data folder alone
def test_copies_a_crash_left_are_deleted_at_the_next_start(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "data" / "cookie-files"
    folder.mkdir(parents=True)
    stale = folder / "cookies-left.txt"
    stale.write_text(COOKIES)
    other = folder / "notes.txt"
    other.write_text("not a copy")

    service = make_service(data_dir=tmp_path / "data")

    assert service.client.get("/api/cookies").status_code == 200
    assert not stale.exists()
    assert other.exists()


def test_cookies_the_site_refuses_fail_auth_required_saying_to_export_them_again(
    service: RunningService, site: FixtureSite
) -> None:
    upload(service.client, "members", COOKIES.replace(SECRET, "signed-out"))

    task = service.download_and_wait(members_page(site))

    assert task["error_kind"] == "auth_required"
    assert task["cookies"] == "members"
    assert "the cookies this task sent were not enough" in task["error"]
    assert "PUT /api/cookies/{name}" in task["error"]
