"""Hooks other apps use: signals they listen to (search indexes papers after an ingestion run
finishes) and lists they add to. Light to import: the apps connect to them at start-up."""

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

# Sent once at the end of an import, harvest or fetch run that stored something; kwargs: counts.
papers_ingested = Signal()

# Functions adding fields to a paper's full JSON (the feed adds votes); services.paper_extras calls them.
PAPER_EXTRAS: list[Callable[[Any], dict[str, Any]]] = []
