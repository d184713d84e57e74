from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def search_home(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A home of its own for the search indexes, and this process's engine opened afresh on it
    (and again after, so no later test reads this one's index)."""
    from paperfeed.search import services as search

    settings.HOME = tmp_path
    search.use_engine(None)
    yield tmp_path
    search.use_engine(None)
