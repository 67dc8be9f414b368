"""Which videos of a playlist become tasks, without running a download (the HTTP tests in
tests/api/routes/test_playlists.py show the same through the service)."""

from offlinetube_api.worker.messages import PlaylistEntry
from offlinetube_api.worker.playlists import admit


def _entries(*urls: str) -> tuple[PlaylistEntry, ...]:
    return tuple(
        PlaylistEntry(url=url, title=None, position=n) for n, url in enumerate(urls, start=1)
    )


def test_first_video_is_queued_even_when_the_queue_is_already_full() -> None:
    admission = admit(
        _entries("https://a.example/1", "https://a.example/2"), waiting=5, max_queued=2
    )

    assert [entry.position for entry in admission.entries] == [1]
    assert admission.warnings == (
        "1 of the playlist's 2 videos were not queued (video 2 and after): at most 2 tasks may "
        "wait in the queue (OFFLINETUBE_MAX_QUEUED)",
    )


def test_refused_addresses_do_not_take_room_in_the_queue() -> None:
    admission = admit(
        _entries("javascript:alert(1)", "https://a.example/2", " https://a.example/3 "),
        waiting=0,
        max_queued=2,
    )

    assert [entry.url for entry in admission.entries] == [
        "https://a.example/2",
        "https://a.example/3",
    ]
    assert len(admission.warnings) == 1
    assert "Video 1 " in admission.warnings[0]
    assert "javascript:alert(1)" in admission.warnings[0]
