"""Which videos of a playlist become tasks: each address passes the rule a posted URL passes,
and no more are queued than `OFFLINETUBE_MAX_QUEUED` leaves room for. What is refused is said,
in words, on the playlist's first task."""

from dataclasses import dataclass, replace

from offlinetube_api.models import checked_download_url
from offlinetube_api.worker.messages import PlaylistEntry

_SHOWN_URL_CHARS = 200


@dataclass(frozen=True, slots=True)
class Admission:
    entries: tuple[PlaylistEntry, ...]  # in playlist order; the first takes the posted task's place
    warnings: tuple[str, ...]


def admit(entries: tuple[PlaylistEntry, ...], *, waiting: int, max_queued: int) -> Admission:
    """`waiting`: tasks in the queue before the playlist's first task goes back into it. That
    first one was admitted when it was posted; the others take whatever room is left."""
    usable, warnings = _with_usable_urls(entries)
    room = 1 + max(0, max_queued - waiting - 1)
    if len(usable) > room:
        warnings.append(
            f"{len(usable) - room} of the playlist's {len(usable)} videos were not queued "
            f"(video {usable[room].position} and after): at most {max_queued} tasks may wait "
            "in the queue (OFFLINETUBE_MAX_QUEUED)"
        )
    return Admission(entries=tuple(usable[:room]), warnings=tuple(warnings))


def _with_usable_urls(entries: tuple[PlaylistEntry, ...]) -> tuple[list[PlaylistEntry], list[str]]:
    usable, warnings = [], []
    for entry in entries:
        try:
            url = checked_download_url(entry.url)
        except ValueError:
            shown = entry.url[:_SHOWN_URL_CHARS]
            warnings.append(
                f"Video {entry.position} of the playlist was skipped: its address {shown!r} "
                "is not an absolute http:// or https:// address"
            )
        else:
            usable.append(replace(entry, url=url))
    return usable, warnings
