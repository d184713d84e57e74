"""The window's builds as a web worker sees them: how long a client waits, and a builder that fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from paperfeed.core import clock, warmup
from paperfeed.recs import index, store
from tests.conftest import paperfeed
from tests.recs.conftest import SEED_SHELL
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


def test_retry_after_during_the_pause_after_a_failed_build_is_the_rest_of_the_pause_and_a_build(
    catalogue, home, monkeypatch
):
    wall, mono = [1_000.0], [5_000.0]
    monkeypatch.setattr(clock, "wall", lambda: wall[0])
    monkeypatch.setattr(clock, "monotonic", lambda: mono[0])
    real_build = index.build

    def build_taking_42_s(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_build(*args, **kwargs)
        wall[0] += 42
        return out

    monkeypatch.setattr(index, "build", build_taking_42_s)
    index.refresh_saved()
    assert index.retry_after() == 42

    # This process's builder exited non-zero (a real child): the next look notes it, starts none.
    index.reset()
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    failed.wait()
    monkeypatch.setattr(index, "_builder", failed)
    assert index._start_builder("a test") is True and index._builder is None
    assert store.building_since() is None  # nobody holds the lock during the pause
    assert index.retry_after() == index.RETRY_FAILED_S + 42  # the whole pause, then a build
    mono[0] += 50
    assert index.retry_after() == 10 + 42
    mono[0] += 15
    assert index.retry_after() == 42  # past the pause: a build from the next look
    mono[0] -= 30  # back within it, when another process's builder takes the lock: its time counts
    with store.builder_lock():
        wall[0] += 2
        assert index.retry_after() == 40
    index.reset()


# Run in a `paperfeed shell` of its own (the builder it starts reads the same database and home): a
# web worker whose builder dies at the failpoint, on a clock the script moves by hand.
FAILING_BUILDER = """
import json, os
from paperfeed.core import clock, warmup
from paperfeed.recs import index, store
now = [1000.0]
clock.monotonic = lambda: now[0]
warmup.serving = True
seen = {}
def look():
    try:
        index.candidates()
    except index.NotReady:
        return "not ready"
    return "ready"
seen["first"] = look()
seen["exit"] = index._builder.wait()
seen["after"] = [look(), index._builder is not None]
seen["newest"] = str(store.newest())
seen["left"] = sorted(p.name.split(".")[-1][:3] for p in store.recs_dir().glob("window-*"))
now[0] += index.RETRY_FAILED_S - 1
seen["paused"] = [look(), index._builder is not None]
del os.environ["FAILPOINT"]
now[0] += 2
seen["again"] = [look(), index._builder is not None]
seen["second_exit"] = index._builder.wait()
seen["then"] = look()
print(json.dumps(seen))
"""


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_failing_builder_leaves_no_window_and_the_next_waits_out_the_pause(cli_env):
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    env = cli_env | {"FAILPOINT": "recs.window.before_rename"}
    out = paperfeed("shell", "-c", FAILING_BUILDER, env=env)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["first"] == "not ready"
    assert seen["exit"] == -9  # killed at the failpoint, every file written but not renamed
    # Nothing a reader takes for a window: the builder's half is a .tmp directory only.
    assert seen["newest"] == "None" and seen["left"] == ["tmp"]
    assert seen["after"] == ["not ready", False]  # the failure is noted; no builder started
    assert seen["paused"] == ["not ready", False]  # still within the pause
    assert seen["again"] == ["not ready", True]  # past it: the next builder
    assert seen["second_exit"] == 0 and seen["then"] == "ready"
    assert "exited -9" in out.stderr
