"""The window's builds as a web worker sees them: how long a client is told to wait."""

from __future__ import annotations

import json
import shutil

import pytest

from paperfeed.core import clock, warmup
from paperfeed.recs import index, store
from tests.recs.test_store import add_paper, saved_windows

pytestmark = pytest.mark.django_db(transaction=True)


def manifest_seconds(home) -> float | None:  # type: ignore[no-untyped-def]
    [path] = saved_windows(home)
    return json.loads((path / "manifest.json").read_text())["seconds"]


def test_retry_after_is_the_last_builds_duration_less_the_time_the_builder_has_held_the_lock(
    catalogue, home, monkeypatch
):
    now, took = [1_000.0], [42.0]
    monkeypatch.setattr(clock, "wall", lambda: now[0])
    real_build = index.build

    def build_taking_its_time(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_build(*args, **kwargs)
        now[0] += took[0]  # the real build, as if it took `took` seconds
        return out

    monkeypatch.setattr(index, "build", build_taking_its_time)
    assert index.retry_after() == index.RETRY_UNKNOWN_S  # no build timed on this home yet

    index.refresh_saved()
    assert manifest_seconds(home) == 42
    took[0] = 3.0  # extending it: not what a client waits for, which is a build from nothing
    add_paper("Consistency distillation for diffusion")
    index.refresh_saved()
    assert manifest_seconds(home) == 42
    assert index.retry_after() == 42  # no builder holds the lock: one would take the whole time

    with store.builder_lock():  # a builder takes the lock (and stamps it) now
        assert store.building_since() == now[0]
        assert index.retry_after() == 42
        now[0] += 10
        assert index.retry_after() == 32
        now[0] += 35
        assert index.retry_after() == index.RETRY_MIN_S  # overdue: look again soon, not at once
    assert store.building_since() is None  # let go

    # A web worker that finds no usable window while a builder runs says so in NotReady.
    monkeypatch.setattr(warmup, "serving", True)
    monkeypatch.setenv("PAPERFEED_RECS_WINDOW_DAYS", "10")  # the saved window is for 90
    index.reset()
    with store.builder_lock():
        now[0] += 12
        with pytest.raises(index.NotReady) as raised:
            index.candidates()
    assert raised.value.retry_after == 30

    took[0] = 1_000.0
    for path in saved_windows(home):
        shutil.rmtree(path)
    index.refresh_saved()
    assert manifest_seconds(home) == 1_000
    assert index.retry_after() == index.RETRY_MAX_S
