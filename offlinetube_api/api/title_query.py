"""The listing's search parameter `q`: words that must each be a word of a task's title, in
any case and with or without accents (title_words.py says what a word is)."""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from offlinetube_api.title_words import words

MAX_QUERY_LENGTH = 200


def _has_words(text: str) -> str:
    if not words(text):
        raise ValueError(
            "q holds no word to search for: give letters or digits (punctuation and spaces "
            "only separate words), or leave q out to list every task"
        )
    return text


# A query parameter with at least one word; one without is a 422 like every other bad one.
# The length is the string's own constraint: given to Query() beside the validator, pydantic
# checked it after validation, as of a collection ("at most 200 items").
TitleQuery = Annotated[
    str, StringConstraints(max_length=MAX_QUERY_LENGTH), AfterValidator(_has_words)
]
