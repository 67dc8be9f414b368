"""The Library screen, `/library`: a grid of videos, completed ones unless another status is
asked, searched by title, newest or oldest first, a page at a time by cursor ("Load more" asks
`/library/items` for the next cards)."""

from dataclasses import asdict, dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from offlinetube_api.api.auth import PresentDep
from offlinetube_api.api.deps import StoreDep
from offlinetube_api.api.listing_cursor import Cursor, cursor
from offlinetube_api.api.title_query import MAX_QUERY_LENGTH
from offlinetube_api.models import TaskStatus
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.title_words import words
from offlinetube_api.web.templating import render

pages = APIRouter()
actions = APIRouter()  # the library changes nothing itself; the player removes

PAGE_SIZE = 24
STATUSES = ("completed", "failed", "cancelled", "all")
ORDERS = {"newest": "Newest first", "oldest": "Oldest first"}


@dataclass(frozen=True, slots=True)
class LibraryQuery:
    q: str = ""
    status: str = "completed"
    order: str = "newest"


def library_query(
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    status: Literal["completed", "failed", "cancelled", "all"] = "completed",
    order: Literal["newest", "oldest"] = "newest",
) -> LibraryQuery:
    return LibraryQuery(q.strip(), status, order)


LibraryQueryDep = Annotated[LibraryQuery, Depends(library_query)]


@dataclass(frozen=True, slots=True)
class Shelf:
    """One page of cards, how many match in all, and where the next page is (None: the end)."""

    tasks: list[TaskPublic]
    total: int
    more_url: str | None


async def shelf(
    store: StoreDep, present: PresentDep, query: LibraryQueryDep, before: Cursor | None = None
) -> Shelf:
    status = None if query.status == "all" else TaskStatus(query.status)
    page = await store.page(
        status=status,
        limit=PAGE_SIZE,
        before=before,
        words=words(query.q),
        oldest_first=query.order == "oldest",
    )
    more = None
    if page.following is not None:
        more = f"/library/items?{urlencode(asdict(query) | {'before': cursor(page.following)})}"
    return Shelf([present(task) for task in page.tasks], page.total, more)


ShelfDep = Annotated[Shelf, Depends(shelf)]


@pages.get("/library")
async def library(request: Request, query: LibraryQueryDep, found: ShelfDep) -> Response:
    context = {"query": query, "shelf": found, "statuses": STATUSES, "orders": ORDERS}
    return render(request, "library.html", context)


@pages.get("/library/items")
async def library_items(request: Request, found: ShelfDep) -> Response:
    """The cards of a page and the next "Load more", for htmx to put in the grid."""
    return render(request, "library_items.html", {"shelf": found})
