"""GET /api/info's `browser_playable`, from the codecs a site declares: the same rule as the
default download's (worker/playable.py), fed yt-dlp's names rather than ffmpeg's."""

import pytest

from offlinetube_api.worker.playable import declared_playable


@pytest.mark.parametrize(
    ("vcodec", "acodec", "playable"),
    [
        ("avc1.640028", "mp4a.40.2", True),  # H.264 + AAC
        ("avc1.4d401e", "none", True),  # video only: plays without sound
        ("none", "opus", True),  # sound only
        ("vp09.00.51.08", "opus", True),
        ("av01.0.08M.08", "none", True),
        ("vp8", "vorbis", True),
        ("hvc1.1.6.L93.B0", "mp4a.40.2", False),  # HEVC
        ("hev1.1.6.L93.B0", "none", False),
        ("avc1.640028", "ac-3", False),  # AC-3 sound
        ("mp4v.20.3", "mp4a.40.34", False),  # MPEG-4 Part 2 (with MP3)
        ("none", "none", False),  # a storyboard: nothing to play
        (None, None, None),  # the site does not say
        ("avc1.640028", None, None),
        ("hvc1", None, False),  # known unplayable, whatever the sound is
    ],
)
def test_declared_codecs_judged_by_the_default_downloads_rule(
    vcodec: str | None, acodec: str | None, playable: bool | None
) -> None:
    assert declared_playable(vcodec, acodec) is playable
