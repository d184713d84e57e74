"""Sort orders other apps add to search (the feed: "votes"), in a module of their own so that an
app registers one at start-up without importing the search service and its indexes."""

from __future__ import annotations

from collections.abc import Callable

SortFn = Callable[[list[int]], dict[int, float]]
SORTS: dict[str, SortFn | None] = {"relevance": None, "date": None}


def register_sort(name: str, fn: SortFn) -> None:
    """Let another app add a sort order (e.g. the feed: "votes")."""
    SORTS[name] = fn
