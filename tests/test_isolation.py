"""tests/isolation.py: what one test leaves in its process does not reach the next. The first two
tests are a pair in the order that leaked (they share a process unless xdist parts them): the
first builds the recommendations' candidate window from its papers, the second must not see it."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from django.conf import settings

from paperfeed.recs import index
from tests import isolation
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db


def test_a_window_of_this_tests_papers() -> None:
    load_papers(5)
    assert len(index.candidates()) == 5 and index.loaded()


def test_the_next_test_starts_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The window asks the change log whether papers changed only every CHECK_EVERY_S; until then (and
    # on SQLite for good, the rolled-back change ids coming round again) it served the last test's.
    monkeypatch.setattr(index, "CHECK_EVERY_S", math.inf)
    assert not index.loaded()
    assert len(index.candidates()) == 0


def test_a_changed_variable_is_named_and_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    before = isolation.env_snapshot()
    feed = os.environ["PAPERFEED_ANNOUNCE_FEED"]
    try:
        del os.environ["PAPERFEED_ANNOUNCE_FEED"]
        os.environ["PAPERFEED_ISOLATION_PROBE"] = "1"
        os.environ["UNRELATED_TO_PAPERFEED"] = "1"  # a library's own: not the project's to restore
        assert isolation.restore_env(before) == ["PAPERFEED_ANNOUNCE_FEED", "PAPERFEED_ISOLATION_PROBE"]
        assert os.environ["PAPERFEED_ANNOUNCE_FEED"] == feed and "PAPERFEED_ISOLATION_PROBE" not in os.environ
    finally:
        os.environ["PAPERFEED_ANNOUNCE_FEED"] = feed
        os.environ.pop("PAPERFEED_ISOLATION_PROBE", None)
        os.environ.pop("UNRELATED_TO_PAPERFEED", None)


def test_an_index_left_in_the_sessions_home_is_named_and_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "search" / "vectors").mkdir(parents=True)  # an index opened, nothing written: no state
    before = isolation.home_state(home)
    (home / "search" / "keyword").mkdir()
    (home / "search" / "keyword" / "state.json").write_text('{"watermark": 3}')
    (home / "recs").mkdir()  # a saved "for you" window: checked against the database, not named
    assert settings.THROWAWAY_HOME  # tests/settings.py made this process's home
    assert Path(os.environ["PAPERFEED_TESTS_HOME"]).resolve() == settings.HOME
    assert isolation.remove_home_state(home, before) == ["search/keyword/state.json"]
    assert not (home / "search").exists() and not (home / "recs").exists()
    (home / "search" / "keyword").mkdir(parents=True)
    (home / "search" / "keyword" / "state.json").write_text('{"watermark": 3}')
    there = isolation.home_state(home)
    assert isolation.remove_home_state(home, there) == []  # there before the test: not its doing
