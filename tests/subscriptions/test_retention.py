"""Which of a subscription's videos its retention removes, at an injected time."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from offlinetube_api.models import TaskStatus
from offlinetube_api.subscriptions.model import SubscriptionSpec
from offlinetube_api.subscriptions.ports import QueuedVideo
from offlinetube_api.subscriptions.retention import PLAYING_MARGIN, beyond_retention

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SPEC = SubscriptionSpec(url="https://example.com/channel", name="channel")


def _videos(days_ago: list[float], **changes: object) -> list[QueuedVideo]:
    """Finished videos, the last queued first, queued `days_ago`."""
    return [
        replace(
            QueuedVideo(f"t{n}", TaskStatus.COMPLETED, NOW - timedelta(days=d), 600.0, None),
            **changes,  # type: ignore[arg-type]
        )
        for n, d in enumerate(days_ago)
    ]


def test_without_a_rule_nothing_goes() -> None:
    assert beyond_retention(_videos([0, 10, 400]), SPEC, NOW) == []


def test_keep_newest_removes_those_queued_before_the_newest_n() -> None:
    spec = replace(SPEC, keep_newest=2)
    assert beyond_retention(_videos([0, 1, 2, 3]), spec, NOW) == ["t2", "t3"]


def test_keep_days_removes_those_queued_longer_ago() -> None:
    spec = replace(SPEC, keep_days=7)
    assert beyond_retention(_videos([0, 6.9, 7.1, 30]), spec, NOW) == ["t2", "t3"]


def test_either_rule_removes() -> None:
    spec = replace(SPEC, keep_newest=3, keep_days=7)
    assert beyond_retention(_videos([0, 8, 1, 2]), spec, NOW) == ["t1", "t3"]


def test_unfinished_videos_wait_for_a_later_check() -> None:
    spec = replace(SPEC, keep_newest=1)
    videos = _videos([0, 1, 2])
    videos[1] = replace(videos[1], status=TaskStatus.DOWNLOADING)
    videos[2] = replace(videos[2], status=TaskStatus.QUEUED)
    assert beyond_retention(videos, spec, NOW) == []


def test_a_video_streamed_within_its_duration_and_the_margin_is_playing() -> None:
    spec = replace(SPEC, keep_newest=1)
    lasts = timedelta(seconds=600) + PLAYING_MARGIN
    playing, stopped, never = _videos([1, 2, 3])
    playing = replace(playing, played_at=NOW - lasts + timedelta(seconds=1))
    stopped = replace(stopped, played_at=NOW - lasts - timedelta(seconds=1))
    unknown_length = replace(never, duration=None, played_at=NOW - PLAYING_MARGIN / 2)
    newest = _videos([0])[0]

    videos = [newest, playing, stopped, unknown_length]
    assert beyond_retention(videos, spec, NOW) == [stopped.task_id]
