"""The Subscriptions page's forms, as the API's SubscriptionCreate and SubscriptionChange: the
interval and durations in minutes (the API's in seconds), the back catalogue as a choice and a
number, and what a wrong field is called in words."""

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from offlinetube_api.subscription_schemas import SubscriptionChange, SubscriptionCreate
from offlinetube_api.web.download_form import FormRefused, download_options, in_words

Model = TypeVar("Model", bound=BaseModel)

MAX_NEWEST = 10_000  # as subscription_schemas.BackCatalogue allows
BACK_CATALOGUE = {"all": "All of it", "newest": "The newest…", "none": "None"}
_FIELD_NAMES = {
    "url": "Subscription URL",
    "name": "Name",
    "interval": "Interval",
    "subtitles": "Subtitles",
    "title_include": "Title includes",
    "title_exclude": "Title excludes",
    "min_duration": "Shortest",
    "max_duration": "Longest",
    "published_after": "Published after",
    "back_catalogue": "Back catalogue",
}
# The fields both forms have, as the API names them; minutes become seconds.
_MINUTES = {"interval": "Interval", "min_duration": "Shortest", "max_duration": "Longest"}
_TEXTS = ("name", "title_include", "title_exclude", "published_after")


def subscription_create(form: Mapping[str, str]) -> SubscriptionCreate:
    """The Add form's fields as the API's body. Raises FormRefused."""
    options = download_options(form.get("quality", "best"), form.get("subtitles", ""))
    fields = {
        "url": form.get("url", ""),
        **options,
        **_shared(form),
        "back_catalogue": _back_catalogue(form),
    }
    return _validated(SubscriptionCreate, fields)


def subscription_change(form: Mapping[str, str]) -> SubscriptionChange:
    """The edit form's fields as the API's change: every field is sent, so one left empty
    removes its filter (an empty name keeps the name). Raises FormRefused."""
    return _validated(SubscriptionChange, _shared(form))


def _shared(form: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: form.get(name, "").strip() or None for name in _TEXTS}
    for name, label in _MINUTES.items():
        minutes = _number(form.get(name, ""), label)
        fields[name] = None if minutes is None else minutes * 60
    return fields


def _back_catalogue(form: Mapping[str, str]) -> str | int:
    """`all`, `none`, or the number of the newest to queue."""
    choice = form.get("back_catalogue", "all")
    if choice != "newest":
        return choice
    newest = _number(form.get("newest", ""), "Newest how many")
    if newest is None or not newest.is_integer() or not 1 <= newest <= MAX_NEWEST:
        raise FormRefused(f"Newest how many: give a whole number from 1 to {MAX_NEWEST}")
    return int(newest)


def _number(text: str, label: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise FormRefused(f"{label}: {text!r} is not a number") from None


def _validated(model: type[Model], fields: dict[str, Any]) -> Model:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise FormRefused(in_words(error, _FIELD_NAMES)) from None
