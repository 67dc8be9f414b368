"""A thumbnail is an extra: one that cannot be fetched, read or converted is skipped with a
warning on the task, and the video still completes."""

from tests.api.routes.test_thumbnails import assert_spanish_404
from tests.fixtures.service import ServiceFactory
from tests.fixtures.site import FixtureSite

# What the page's og:image points at -> how the task's warning begins.
BAD_THUMBNAILS = {
    "/media/bomb.gif": "the picture declares more than 8000 pixels on a side",
    "/media/wide.gif": "the picture declares more than 8000 pixels on a side (9000x10)",
    "/media/undecodable.gif": "ffmpeg could not convert its GIF picture to jpg",
    "/media/noise.jpg": "the server sent something that is not a picture",
    "/plain": "the server sent text (an HTML page?) that is not a picture",
    "/media/empty.jpg": "the server sent an empty file",
    "/media/huge.jpg": "the file is larger than 10 MiB",
    "/unsized/huge.jpg": "the file is larger than 10 MiB",
    "/media/missing.jpg": "it could not be fetched (HTTP Error 404: Not Found)",
}


def page_with_thumbnail(site: FixtureSite, thumb: str) -> str:
    return site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url(thumb))


def test_bad_thumbnails_are_skipped_with_a_warning_and_the_videos_complete(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    # All at once: nine downloads in the time of a few.
    service = make_service(max_concurrent_downloads=len(BAD_THUMBNAILS))
    posted = {thumb: service.download(page_with_thumbnail(site, thumb)) for thumb in BAD_THUMBNAILS}

    for thumb, reason in BAD_THUMBNAILS.items():
        task = service.wait_for_status(posted[thumb]["id"], "completed", "failed", "cancelled")
        assert task["status"] == "completed", (thumb, task["error"])
        assert service.client.get(task["stream_url"]).status_code == 200, thumb
        [warning] = task["warnings"]
        assert warning.startswith(f"Thumbnail skipped: {reason}"), (thumb, warning)
        assert_spanish_404(service.client.get(f"/api/thumbnails/{task['id']}"))
    assert list(service.settings.thumbnails_dir.iterdir()) == []
