"""The Subscriptions page over plain HTTP: the forms' refusals in words with the API's own
status, the edit form changing what PATCH changes, and the answers for a subscription that is
paused or gone. On SQLite alone: the page calls the SubscriptionService the API's tests drive
on both stores."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures.channel import ChannelVideo
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

pytestmark = pytest.mark.stores("sqlite")

HTMX = {"HX-Request": "true"}


def subscribe(service: RunningService, site: FixtureSite, **fields: str) -> tuple[int, str]:
    channel = uuid.uuid4().hex
    page = site.page_url(video=site.url("/media/clip.mp4"))
    site.channels[channel] = [ChannelVideo(channel, "Clip", page, datetime.now(UTC))]
    form = {"url": site.channel_url(channel), **fields}
    response = service.client.post("/app/subscriptions", data=form, headers=HTMX)
    return response.status_code, response.text


def only_subscription(service: RunningService) -> dict[str, Any]:
    [subscription] = service.client.get("/api/subscriptions").json()
    found: dict[str, Any] = subscription
    return found


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"interval": "5"}, "Interval: must be at least 15 minutes (900 seconds)"),
        ({"title_include": "(a"}, "Title includes: is not a valid regular expression: "),
        ({"min_duration": "a while"}, "Shortest: &#39;a while&#39; is not a number"),
        ({"max_duration": "-1"}, "Longest: Input should be greater than or equal to 0"),
        ({"back_catalogue": "newest", "newest": "0"}, "Newest how many: give a whole number"),
        ({"subtitles": "en x!"}, "Subtitles: &#39;x!&#39; is not a language code"),
        ({"quality": "8k"}, "Quality: &#39;8k&#39; is not one of the choices"),
    ],
)
def test_a_bad_field_is_refused_in_words(
    service: RunningService, site: FixtureSite, fields: dict[str, str], words: str
) -> None:
    status, text = subscribe(service, site, **fields)

    assert status == 422
    assert 'role="alert"' in text and words in text
    assert service.client.get("/api/subscriptions").json() == []


def test_the_form_makes_what_the_api_would(service: RunningService, site: FixtureSite) -> None:
    status, text = subscribe(
        service,
        site,
        name="<b>Mine</b>",
        interval="90",
        quality="mp3",
        subtitles="en, es",
        title_exclude="#shorts",
        min_duration="1.5",
        published_after="2026-01-02",
        back_catalogue="none",
    )

    made = only_subscription(service)
    assert status == 201
    assert "Subscribed to &lt;b&gt;Mine&lt;/b&gt;" in text
    added = text.split('hx-swap-oob="beforeend:#subscription-list">', 1)[1]
    assert added.startswith(f'<article class="subscription" id="subscription-{made["id"]}"')
    assert made["name"] == "<b>Mine</b>" and made["interval_seconds"] == 5400
    assert (made["audio_only"], made["audio_format"], made["subtitles"]) == (
        True,
        "mp3",
        ["en", "es"],
    )
    assert (made["title_exclude"], made["min_duration"]) == ("#shorts", 90)
    assert (made["published_after"], made["back_catalogue"]) == ("2026-01-02", "none")


def test_the_edit_form_changes_and_clears_filters(
    service: RunningService, site: FixtureSite
) -> None:
    subscribe(service, site, name="Before", title_exclude="#shorts", max_duration="10")
    made = only_subscription(service)
    edit = f"/subscriptions/{made['id']}/edit"

    form = service.client.get(edit).text
    refused = service.client.post(
        f"/app{edit.removesuffix('/edit')}", data={"title_include": "[x"}, headers=HTMX
    )
    saved = service.client.post(
        f"/app{edit.removesuffix('/edit')}",
        data={"name": "After", "interval": "30", "title_exclude": "", "max_duration": "20"},
        headers=HTMX,
    )

    assert 'name="title_exclude"' in form and 'value="#shorts"' in form and 'value="10"' in form
    assert refused.status_code == 422 and "Title includes: is not a valid regular" in refused.text
    assert (saved.status_code, saved.headers["hx-redirect"]) == (200, "/subscriptions")
    changed = only_subscription(service)
    assert (changed["name"], changed["interval_seconds"]) == ("After", 1800)
    assert (changed["title_exclude"], changed["max_duration"]) == (None, 1200)


def test_check_now_while_paused_is_refused_on_its_card(
    service: RunningService, site: FixtureSite
) -> None:
    subscribe(service, site)
    made = only_subscription(service)
    actions = f"/app/subscriptions/{made['id']}"

    paused = service.client.post(f"{actions}/pause", headers=HTMX)
    refused = service.client.post(f"{actions}/check", headers=HTMX)
    plain = service.client.post(f"{actions}/resume")

    assert paused.status_code == 200 and 'data-paused="true"' in paused.text
    assert ">Resume</button>" in paused.text and "Check now" not in paused.text
    assert refused.status_code == 409
    assert f'data-subscription-id="{made["id"]}"' in refused.text
    assert "is paused; resume it to check it" in refused.text
    assert (plain.status_code, plain.headers["location"]) == (303, "/subscriptions")
    assert only_subscription(service)["paused"] is False


@pytest.mark.parametrize("subscription_id", ["0f8fad5b-d9cb-469f-a165-70867728950e", "not-an-id"])
def test_a_subscription_that_is_gone_is_answered_in_words(
    service: RunningService, subscription_id: str
) -> None:
    actions = f"/app/subscriptions/{subscription_id}"

    for path in (f"{actions}/pause", f"{actions}/check", f"{actions}/delete", actions):
        answer = service.client.post(path, data={"name": "x"}, headers=HTMX)
        assert answer.status_code == 404, path
        assert "not found" in answer.text, path
    card = service.client.get(f"/subscriptions/{subscription_id}/card", headers=HTMX)
    edit = service.client.get(f"/subscriptions/{subscription_id}/edit")
    for page in (card, edit):
        assert page.status_code == 404 and "No such subscription" in page.text
    assert 'href="/subscriptions">Back' in edit.text
