"""Titles as the search of the library sees them: words of letters and digits, in lower case,
without accents, so that `cancion` finds "Canción" and `AMOR` finds "amor".

The stores keep each task's title in this form beside it (`tasks.title_words`) and index it;
a query goes through the same function, so both sides agree on what a word is. Done here in
Python rather than in each database, so SQLite and PostgreSQL agree too, and PostgreSQL needs
no extension (unaccent)."""

import re
import unicodedata

# Runs of letters and digits (\w without the underscore): anything else separates words.
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of `text`: compatibility-decomposed (NFKD, so "ﬁ" is "fi" and "²" is "2"),
    accents and other combining marks dropped, case-folded ("ß" is "ss"), split at anything
    that is not a letter or a digit. [] for text of punctuation and spaces alone."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(bare.casefold())


def title_words(title: str | None) -> str | None:
    """What `tasks.title_words` holds for `title`: its words joined by spaces."""
    return None if title is None else " ".join(words(title))
