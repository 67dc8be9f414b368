"""The API's schemas of subscriptions: what a client posts and patches, what it reads."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from offlinetube_api.models import checked_download_url
from offlinetube_api.schemas import URL_MAX_LENGTH, URL_PATTERN, DownloadOptions, one_line
from offlinetube_api.subscriptions.model import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    Subscription,
    SubscriptionSpec,
    bad_pattern,
)

BackCatalogue = Literal["all", "none"] | Annotated[int, Field(ge=1, le=10_000)]
_INTERVAL_HELP = (
    "How often to check: seconds (`21600`) or an ISO 8601 duration (`PT6H`, `P1D`); "
    f"at least {int(MIN_INTERVAL.total_seconds())} seconds (15 minutes), at most "
    f"{MAX_INTERVAL.days} days."
)
_PATTERN_HELP = "A Python regular expression, searched anywhere in the title, ignoring case."
_EXAMPLE: dict[str, JsonValue] = {
    "url": "https://www.youtube.com/@example/videos",
    "name": "Example channel",
    "interval": "PT6H",
    "title_exclude": "#shorts",
    "back_catalogue": 5,
}


def _interval(value: timedelta | None) -> timedelta | None:
    if value is not None and value < MIN_INTERVAL:
        raise ValueError("must be at least 15 minutes (900 seconds)")
    if value is not None and value > MAX_INTERVAL:
        raise ValueError(f"must be at most {MAX_INTERVAL.days} days (P{MAX_INTERVAL.days}D)")
    return value


def _pattern(value: str | None) -> str | None:
    if value and (why := bad_pattern(value)):
        raise ValueError(f"is not a valid regular expression: {why}")
    return value or None


def back_catalogue_limit(value: BackCatalogue) -> int | None:
    """As the domain counts it: None all, 0 none, N the newest N."""
    return None if value == "all" else 0 if value == "none" else int(value)


class SubscriptionFields(BaseModel):
    """What both a creation and a change may set; None: unset (a change leaves it as it is)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    interval: timedelta | None = Field(default=None, description=_INTERVAL_HELP)
    title_include: str | None = Field(
        default=None, max_length=500, description=f"Queue only matching titles. {_PATTERN_HELP}"
    )
    title_exclude: str | None = Field(
        default=None, max_length=500, description=f"Never queue matching titles. {_PATTERN_HELP}"
    )
    min_duration: float | None = Field(default=None, ge=0, description="Seconds.")
    max_duration: float | None = Field(default=None, ge=0, description="Seconds.")
    published_after: date | None = Field(
        default=None, description="Queue only videos published on this day (UTC) or later."
    )
    keep_newest: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="After each check, remove its videos but the N it queued last; null: keep all.",
    )
    keep_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="After each check, remove its videos queued more than D days ago; null: "
        "keep all.",
    )

    @field_validator("name")
    @classmethod
    def name_is_one_line(cls, value: str | None) -> str | None:
        return one_line(value)

    @field_validator("interval")
    @classmethod
    def interval_is_long_enough(cls, value: timedelta | None) -> timedelta | None:
        return _interval(value)

    @field_validator("title_include", "title_exclude")
    @classmethod
    def patterns_compile(cls, value: str | None) -> str | None:
        return _pattern(value)


class SubscriptionCreate(SubscriptionFields, DownloadOptions):
    """A channel, a playlist, or any page yt-dlp lists as a playlist, to check on a schedule.
    A filter the listing cannot judge (no duration, no date given) lets the video through."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    url: str = Field(
        max_length=URL_MAX_LENGTH,
        description="The channel or playlist: an absolute `http://` or `https://` address.",
        json_schema_extra={"format": "uri", "pattern": URL_PATTERN},
    )
    back_catalogue: BackCatalogue = Field(
        default="all",
        description="What the first check queues of the videos already there: `all`, "
        "`none` (only what appears from now on), or a number N (the newest N).",
    )

    @field_validator("url")
    @classmethod
    def must_be_absolute_http(cls, url: str) -> str:
        return checked_download_url(url)

    def to_spec(self) -> SubscriptionSpec:
        return SubscriptionSpec(
            url=self.url,
            name=self.name or self.url,
            interval=self.interval or DEFAULT_INTERVAL,
            format=self.format,
            audio_format=self.chosen_audio_format(),
            subtitle_langs=self.subtitle_langs(),
            title_include=self.title_include,
            title_exclude=self.title_exclude,
            min_duration=self.min_duration,
            max_duration=self.max_duration,
            published_after=self.published_after,
            back_catalogue=back_catalogue_limit(self.back_catalogue),
            keep_newest=self.keep_newest,
            keep_days=self.keep_days,
        )


class SubscriptionChange(SubscriptionFields):
    """The fields to change; those not sent stay. An empty pattern, `null` filter or date
    removes that filter. `paused`: true pauses the checks, false resumes them."""

    model_config = ConfigDict(extra="forbid")

    paused: bool | None = None

    def spec_changes(self) -> dict[str, Any]:
        """The SubscriptionSpec fields this change sets."""
        sent = self.model_dump(exclude_unset=True, exclude={"paused"})
        if sent.get("name") is None:
            sent.pop("name", None)
        if sent.get("interval") is None:
            sent.pop("interval", None)
        return sent


class SubscriptionPublic(BaseModel):
    """A subscription as clients see it, with its last check."""

    id: str
    url: str
    name: str
    interval_seconds: int
    format: str | None
    audio_only: bool
    audio_format: str | None
    subtitles: list[str]
    title_include: str | None
    title_exclude: str | None
    min_duration: float | None
    max_duration: float | None
    published_after: date | None
    back_catalogue: BackCatalogue
    keep_newest: int | None
    keep_days: int | None
    paused: bool
    created_at: datetime
    next_check_at: datetime = Field(description="When the next check is due.")
    checks: int = Field(description="Checks made so far.")
    failures: int = Field(description="Checks failed in a row; each doubles the wait.")
    last_checked_at: datetime | None
    last_error: str | None = Field(description="Why the last check failed; null if it did not.")
    last_found: int | None = Field(description="Videos the source listed at the last check.")
    last_new: int | None = Field(description="Of them, those the subscription had not seen.")
    last_queued: int | None = Field(description="Tasks the last check queued.")
    last_task_ids: list[str] = Field(description="The ids of those tasks.")
    last_removed_task_ids: list[str] = Field(
        description="The tasks its retention (`keep_newest`, `keep_days`) removed after it."
    )

    @classmethod
    def from_subscription(cls, subscription: Subscription) -> "SubscriptionPublic":
        spec, last = subscription.spec, subscription.last_check
        limit = spec.back_catalogue
        return cls(
            id=subscription.id,
            url=spec.url,
            name=spec.name,
            interval_seconds=int(spec.interval.total_seconds()),
            format=spec.format,
            audio_only=spec.audio_format is not None,
            audio_format=spec.audio_format,
            subtitles=list(spec.subtitle_langs),
            title_include=spec.title_include,
            title_exclude=spec.title_exclude,
            min_duration=spec.min_duration,
            max_duration=spec.max_duration,
            published_after=spec.published_after,
            back_catalogue="all" if limit is None else "none" if limit == 0 else limit,
            keep_newest=spec.keep_newest,
            keep_days=spec.keep_days,
            paused=subscription.paused,
            created_at=subscription.created_at,
            next_check_at=subscription.next_check_at,
            checks=subscription.checks,
            failures=subscription.failures,
            last_checked_at=last.checked_at if last else None,
            last_error=last.error if last else None,
            last_found=last.listed if last else None,
            last_new=last.new if last else None,
            last_queued=len(last.task_ids) if last else None,
            last_task_ids=list(last.task_ids) if last else [],
            last_removed_task_ids=list(last.removed) if last else [],
        )


class SubscriptionRemoval(BaseModel):
    id: str
    removed_tasks: int = Field(description="Tasks removed with their files (`delete_files`).")
