"""Which listed videos a check queues, and when the next check is due: pure functions."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from offlinetube_api.subscriptions.listing import ListedVideo
from offlinetube_api.subscriptions.model import (
    MAX_BACK_OFF,
    MAX_INTERVAL,
    SubscriptionSpec,
    next_check,
)
from offlinetube_api.subscriptions.selection import (
    PatternTooSlow,
    newest_first,
    select,
    unseen,
)

DAY = datetime(2026, 6, 10, tzinfo=UTC)
SPEC = SubscriptionSpec(url="https://example.com/c", name="c")


def _video(n: int, *, published: datetime | None = DAY, **fields: object) -> ListedVideo:
    """Video `n`, published `n` days before DAY unless told otherwise."""
    at = published - timedelta(days=n) if published else None
    values = {"title": f"Video {n}", "duration": 60.0, **fields}
    return ListedVideo(
        key=f"site:{n}",
        url=f"https://example.com/{n}",
        extractor="Site",
        video_id=str(n),
        published=at,
        **values,  # type: ignore[arg-type]
    )


def test_an_ordered_listing_stops_at_the_first_known_video() -> None:
    videos = [_video(0), _video(1), _video(2), _video(3)]
    assert newest_first(videos)
    # 3 is unknown but older than the known 1: an ordered source has shown it before.
    assert [v.key for v in unseen(videos, {"site:1"})] == ["site:0"]


def test_an_unordered_listing_is_walked_whole() -> None:
    videos = [_video(0, published=None), _video(1, published=None), _video(2, published=None)]
    assert not newest_first(videos)
    assert [v.key for v in unseen(videos, {"site:1"})] == ["site:0", "site:2"]


def test_back_catalogue_applies_to_the_first_check_only() -> None:
    videos = [_video(0), _video(1), _video(2)]
    newest_one = SubscriptionSpec(url=SPEC.url, name="c", back_catalogue=1)
    none = SubscriptionSpec(url=SPEC.url, name="c", back_catalogue=0)
    assert [v.key for v in select(videos, set(), newest_one, first=True).wanted] == ["site:0"]
    assert select(videos, set(), none, first=True).wanted == ()
    assert len(select(videos, set(), none, first=False).wanted) == 3


def test_filters_let_through_what_the_listing_does_not_tell() -> None:
    spec = SubscriptionSpec(
        url=SPEC.url, name="c", min_duration=30, published_after=date(2026, 6, 9)
    )
    unknown = _video(5, published=None, duration=None)
    assert [v.key for v in select([unknown], set(), spec, first=False).wanted] == ["site:5"]
    too_old = _video(2)
    too_short = _video(0, duration=10.0)
    assert select([too_short, too_old], set(), spec, first=False).wanted == ()


def test_a_failing_source_waits_longer_after_each_failure_up_to_a_cap() -> None:
    waits = [next_check(SPEC, after=DAY, failures=n) - DAY for n in range(8)]
    assert waits[0] == SPEC.interval
    assert waits[1] == 2 * SPEC.interval and waits[2] == 4 * SPEC.interval
    assert waits[-1] == MAX_BACK_OFF


def test_a_source_failing_for_years_still_gets_a_next_check() -> None:
    longest = replace(SPEC, interval=MAX_INTERVAL)
    for spec in (SPEC, longest):
        wait = next_check(spec, after=DAY, failures=10_000) - DAY
        assert wait == max(MAX_BACK_OFF, spec.interval)


def test_a_pattern_of_exponential_time_gives_up_within_its_budget() -> None:
    """A backtracking engine tries 2**40 ways to match this title (each a either way); the
    whole listing's matches get `budget_s` seconds, then the check fails naming the field."""
    spec = replace(SPEC, title_exclude="^(a|a)*$")
    videos = [_video(0, title="Video 0"), _video(1, title="a" * 40 + "!")]
    with pytest.raises(PatternTooSlow, match="title_exclude took over"):
        select(videos, set(), spec, first=False, budget_s=0.2)
    assert select(videos[:1], set(), spec, first=False).wanted == (videos[0],)
