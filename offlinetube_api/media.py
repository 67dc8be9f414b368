"""Where a task's files live, how they are named, and how they are found and deleted safely."""

import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pathvalidate import sanitize_filename

logger = logging.getLogger(__name__)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TASK_ID = re.compile(rf"^{UUID_PATTERN}$")

# Probe order of the original service; do not reorder.
THUMBNAIL_FORMATS: dict[str, str] = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}

VIDEO_MEDIA_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "mov": "video/quicktime",
    "ogv": "video/ogg",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "oga": "audio/ogg",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "aac": "audio/aac",
}
_VIDEO_FILENAME = re.compile(
    rf"^video__(?P<task_id>{UUID_PATTERN})\.(?P<ext>{'|'.join(VIDEO_MEDIA_TYPES)})$"
)

_SUBTITLES_FILENAME = re.compile(
    rf"video__{UUID_PATTERN}\.[A-Za-z]{{2,3}}(-[A-Za-z0-9]{{1,8}})*\.vtt"
)

PARTIAL_FOLDER = ".incomplete"
# Sidecars: `<downloads>/.meta/<task_id>.json`. Not a video name, so never streamed.
METADATA_FOLDER = ".meta"

# Bytes of a title in a download name: with the extension it stays under the 255 bytes that
# common file systems allow.
_DOWNLOAD_TITLE_BYTES = 200


def is_task_id(value: str) -> bool:
    return _TASK_ID.fullmatch(value) is not None


def video_stem(task_id: str) -> str:
    return f"video__{task_id}"


def video_media_type(filename: str) -> str | None:
    """The media type of a well-formed video file name, or None for any other name."""
    match = _VIDEO_FILENAME.fullmatch(filename)
    return VIDEO_MEDIA_TYPES[match["ext"]] if match else None


def video_task_id(filename: str) -> str | None:
    """The task id in a well-formed video file name, or None for any other name."""
    match = _VIDEO_FILENAME.fullmatch(filename)
    return match["task_id"] if match else None


def download_name(title: str | None, ext: str) -> str | None:
    """`<title>.<ext>`, the name a browser saves a video under, made safe for any common file
    system: no path separators or characters Windows refuses (each becomes `_`), no control or
    invisible formatting characters (a right-to-left override could disguise the extension),
    no reserved device names (`CON`), at most 200 bytes of title. None when no title is known
    or nothing of it is left."""
    if not title:
        return None
    visible = "".join(char for char in title if unicodedata.category(char) not in ("Cc", "Cf"))
    safe = sanitize_filename(
        visible.strip(), platform="universal", replacement_text="_", max_len=_DOWNLOAD_TITLE_BYTES
    )
    return f"{safe}.{ext}" if safe.strip(". _") else None


@dataclass(frozen=True, slots=True)
class FoundFile:
    path: Path
    media_type: str
    stat: os.stat_result


def resolve_inside(folder: Path, name: str) -> Path | None:
    """`folder/name` if it stays inside `folder` once symlinks are resolved, else None."""
    root = os.path.realpath(folder)
    candidate = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, candidate]) != root or candidate == root:
        return None
    return Path(candidate)


def _regular_file(path: Path | None, media_type: str) -> FoundFile | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None
    if not path.is_file():
        return None
    return FoundFile(path=path, media_type=media_type, stat=stat)


def find_thumbnail(thumbnails_dir: Path, task_id: str) -> FoundFile | None:
    """The first of `<task_id>.jpg`, `.webp`, `.png` that exists; the file system is not
    touched at all for an id that is not a UUID."""
    if not is_task_id(task_id):
        return None
    for ext, media_type in THUMBNAIL_FORMATS.items():
        found = _regular_file(resolve_inside(thumbnails_dir, f"{task_id}.{ext}"), media_type)
        if found:
            return found
    return None


def find_video(downloads_dir: Path, filename: str) -> FoundFile | None:
    media_type = video_media_type(filename)
    if media_type is None:
        return None
    return _regular_file(resolve_inside(downloads_dir, filename), media_type)


def find_subtitles(downloads_dir: Path, filename: str) -> FoundFile | None:
    if _SUBTITLES_FILENAME.fullmatch(filename) is None:
        return None
    return _regular_file(resolve_inside(downloads_dir, filename), "text/vtt; charset=utf-8")


def partial_dir(downloads_dir: Path, task_id: str) -> Path:
    """Where yt-dlp writes a task's unfinished files; nothing in it is ever served."""
    return downloads_dir / PARTIAL_FOLDER / task_id


def finished_dir(downloads_dir: Path, task_id: str) -> Path:
    """Where a download's finished files wait until its worker moves them into the library
    (see worker/runner.py: the move is fenced)."""
    return partial_dir(downloads_dir, task_id) / "finished"


def move_finished_files(downloads_dir: Path, task_id: str, names: Iterable[str]) -> None:
    """Moves the named files from the task's finished folder into `downloads_dir`, each with
    one rename (the same file system), replacing a file of the same name."""
    source = finished_dir(downloads_dir, task_id)
    for name in names:
        os.replace(source / name, downloads_dir / name)


def sidecar_path(downloads_dir: Path, task_id: str) -> Path:
    """Where a finished task's metadata is kept beside its video, for `rebuild`."""
    return downloads_dir / METADATA_FOLDER / f"{task_id}.json"


def sidecar_paths(downloads_dir: Path) -> list[Path]:
    """Every sidecar whose name is a task id."""
    found = (downloads_dir / METADATA_FOLDER).glob("*.json")
    return sorted(path for path in found if is_task_id(path.stem))


def video_files(downloads_dir: Path) -> list[Path]:
    """Finished videos in the folder (files named `video__<task_id>.<ext>`), by name."""
    return sorted(path for path in downloads_dir.glob("video__*") if video_media_type(path.name))


def task_id_of_video(filename: str) -> str | None:
    match = _VIDEO_FILENAME.fullmatch(filename)
    return match["task_id"] if match else None


def local_thumbnail_name(thumbnails_dir: Path, task_id: str) -> str | None:
    found = find_thumbnail(thumbnails_dir, task_id)
    return found.path.name if found else None


def remove_partial_files(downloads_dir: Path, task_id: str) -> None:
    if is_task_id(task_id):
        shutil.rmtree(partial_dir(downloads_dir, task_id), ignore_errors=True)


def partial_folder_names(downloads_dir: Path) -> list[str]:
    """What `.incomplete/` holds: normally one folder per task id."""
    try:
        return [entry.name for entry in (downloads_dir / PARTIAL_FOLDER).iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_partial_folders(downloads_dir: Path, names: Iterable[str]) -> None:
    """Delete these entries of `.incomplete/`, folders or stray files alike."""
    for name in names:
        path = downloads_dir / PARTIAL_FOLDER / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def remove_task_files(downloads_dir: Path, thumbnails_dir: Path, task_id: str) -> list[Path]:
    """Delete everything a task left on disk: video, partial files, thumbnails in any
    format and its metadata sidecar. Files already gone are fine. Returns what was deleted."""
    if not is_task_id(task_id):
        return []
    remove_partial_files(downloads_dir, task_id)
    doomed = [
        *downloads_dir.glob(f"{video_stem(task_id)}.*"),
        *thumbnails_dir.glob(f"{task_id}.*"),
        sidecar_path(downloads_dir, task_id),
    ]
    removed = []
    for path in doomed:
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            logger.warning("not deleting directory %s", path)
    return removed


def video_present(downloads_dir: Path, filename: str | None) -> bool:
    """Whether a task's finished file is still where the stream route looks for it."""
    return filename is not None and find_video(downloads_dir, filename) is not None


def names_in(downloads_dir: Path) -> frozenset[str]:
    """The names of the regular files in the downloads folder (one listing, for a whole
    library at a time); empty if the folder is missing."""
    try:
        with os.scandir(downloads_dir) as entries:
            return frozenset(entry.name for entry in entries if entry.is_file())
    except FileNotFoundError:
        return frozenset()
