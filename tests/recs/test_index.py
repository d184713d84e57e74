"""The window's builds as a web worker sees them: how long a client waits, and a builder that fails."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paperfeed.core import clock, warmup
from paperfeed.recs import index, store
from tests.conftest import paperfeed
from tests.recs.conftest import SEED_SHELL
from tests.recs.test_store import add_paper, flip_a_byte_keeping_its_stamp, saved_windows

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


@pytest.fixture
def wall(monkeypatch):  # type: ignore[no-untyped-def]
    """clock.wall held at wall[0] (1,000 s), which the test moves."""
    now = [1_000.0]
    monkeypatch.setattr(clock, "wall", lambda: now[0])
    return now


def test_retry_after_during_the_pause_after_a_failed_build_is_the_rest_of_the_pause_and_a_build(
    catalogue, home, monkeypatch, wall
):
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
    assert store.failed_build_at() == wall[0]  # in the home, for every process
    assert store.building_since() is None  # nobody holds the lock during the pause
    assert index.retry_after() == index.RETRY_FAILED_S + 42  # the whole pause, then a build
    wall[0] += 50
    assert index.retry_after() == 10 + 42
    wall[0] += 15
    assert index.retry_after() == 42  # past the pause: a build from the next look
    wall[0] -= 30  # back within it, when another process's builder takes the lock: its time counts
    with store.builder_lock():
        wall[0] += 2
        assert index.retry_after() == 40
    wall[0] -= 1_000  # the clock set back: the pause is at most its own length, not the jump's too
    assert index.retry_after() == index.RETRY_FAILED_S + 42
    add_paper("Consistency distillation for diffusion")
    index.refresh_saved()  # a build that succeeds ends the pause
    assert store.failed_build_at() is None and index.pause_left() == 0
    index.reset()


# Run in a `paperfeed shell` of its own (the builder it starts reads the same database and home): a
# web worker that looks for its window; `first` whether its builder dies (at the failpoint).
A_WEB_WORKER = """
import json, sys, time
from paperfeed.core import warmup
from paperfeed.recs import index, store
warmup.serving = True
def look():
    try:
        index.candidates()
    except index.NotReady:
        return "not ready"
    return "ready"
"""
LOOKING_WORKER = (
    A_WEB_WORKER
    + """
seen = {}
seen["first"] = [look(), index._builder is not None]
seen["retry_after"] = index.retry_after()
if index._builder is not None:
    seen["exit"] = index._builder.wait()
    seen["after"] = [look(), index._builder is not None]
    seen["then"] = look()
seen["newest"] = str(store.newest())
seen["left"] = sorted(p.name.split(".")[-1][:3] for p in store.recs_dir().glob("window-*"))
seen["failed_at"] = store.failed_build_at()
print(json.dumps(seen))
"""
)


def age_failure(home: str, seconds: float) -> None:
    """Move the recorded failure `seconds` into the past, as the clock moving on would."""
    path = Path(home) / "recs" / "builder-failed"
    path.write_text(repr(float(path.read_text()) - seconds))


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_failing_builder_leaves_no_window_and_every_worker_waits_out_the_pause(cli_env):
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    failing = cli_env | {"FAILPOINT": "recs.window.before_rename"}
    out = paperfeed("shell", "-c", LOOKING_WORKER, env=failing)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["first"] == ["not ready", True]
    assert seen["exit"] == -9  # killed at the failpoint, every file written but not renamed
    # Nothing a reader takes for a window: the builder's half is a .tmp directory only.
    assert seen["newest"] == "None" and seen["left"] == ["tmp"]
    assert seen["after"] == ["not ready", False]  # the failure is noted; no builder started
    assert seen["then"] == "not ready" and seen["failed_at"] is not None
    assert "exited -9" in out.stderr

    # Another worker (a process of its own, the first one gone) keeps the pause: no builder.
    # 30 s of the pause left: a worker's start takes more than 5 s on a loaded machine (2 cores, the
    # test suite beside it), which was all the room this left, and it started a builder.
    age_failure(cli_env["PAPERFEED_HOME"], index.RETRY_FAILED_S - 30)
    seen = json.loads(paperfeed("shell", "-c", LOOKING_WORKER, env=cli_env).stdout.strip().splitlines()[-1])
    assert seen["first"] == ["not ready", False] and seen["newest"] == "None"
    # Told to come back after the pause's last ~30 s and a build (none timed yet: RETRY_UNKNOWN_S).
    assert index.RETRY_UNKNOWN_S < seen["retry_after"] <= index.RETRY_UNKNOWN_S + 30

    # Past the pause: the next worker starts the next builder, which saves the window.
    age_failure(cli_env["PAPERFEED_HOME"], 31)
    seen = json.loads(paperfeed("shell", "-c", LOOKING_WORKER, env=cli_env).stdout.strip().splitlines()[-1])
    assert seen["first"] == ["not ready", True]
    assert seen["exit"] == 0 and seen["after"][0] == "ready"
    assert seen["newest"] != "None" and seen["failed_at"] is None  # the success ended the pause


def test_a_build_that_fails_by_hand_pauses_the_web_workers_builders_not_the_next_by_hand(
    catalogue, home, monkeypatch, wall
):
    real_build = index.build

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    def out_of_space(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    # An operator's Ctrl-C says nothing of the next build: no pause.
    monkeypatch.setattr(index, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        index.refresh_saved()
    assert store.failed_build_at() is None

    # `paperfeed window` (and the worker's job: the same code) failing records the failure in the
    # home, as a web worker does for the builder it started.
    monkeypatch.setattr(index, "build", out_of_space)
    with pytest.raises(OSError, match="No space"):
        index.refresh_saved()
    assert store.failed_build_at() == wall[0] and index.pause_left() == index.RETRY_FAILED_S
    assert saved_windows(home) == []

    # A web worker keeps the pause: it answers NotReady and starts no builder of its own.
    monkeypatch.setattr(index, "build", real_build)
    monkeypatch.setattr(warmup, "serving", True)
    with pytest.raises(index.NotReady):
        index.candidates()
    assert index._builder is None and store.building_since() is None
    index.reset()

    # The operator retrying by hand within the pause is not held back, and the success ends it.
    monkeypatch.setattr(warmup, "serving", False)
    wall[0] += 10
    assert index.refresh_saved()["saved"] is True
    assert store.failed_build_at() is None and index.pause_left() == 0 and len(saved_windows(home)) == 1
    index.reset()


@pytest.mark.timeout(120)
def test_paperfeed_window_that_fails_records_the_failure_and_a_retry_by_hand_ends_it(cli_env):
    # A real failure: the database was never set up.
    failed = paperfeed("window", env=cli_env, check=False)
    assert failed.returncode == 1 and "paperfeed init" in failed.stderr
    stamp = Path(cli_env["PAPERFEED_HOME"]) / "recs" / "builder-failed"
    assert stamp.exists() and "web workers start no builder for 60 s" in failed.stderr
    paperfeed("init", env=cli_env)
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    done = paperfeed("window", env=cli_env)  # at once, within the pause
    assert done.stdout.startswith('saved the "for you" window') and not stamp.exists()


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_window_corrupt_under_intact_stamps_is_rebuilt_by_the_builder_a_web_worker_starts(cli_env):
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    paperfeed("window", env=cli_env)
    [path] = saved_windows(Path(cli_env["PAPERFEED_HOME"]))
    # A bad disk: a value changed, the file's size and mtime as saved (the stamps the quick look trusts).
    flip_a_byte_keeping_its_stamp(path / "rows.data.npy")
    # An earlier builder failed, its pause over: the recorded failure is what a success ends.
    (path.parent / "builder-failed").write_text(repr(clock.wall() - index.RETRY_FAILED_S - 1))
    out = paperfeed("shell", "-c", LOOKING_WORKER, env=cli_env)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "rows.data.npy: checksum mismatch" in out.stderr  # what the worker found, in its log line
    # Its builder checks every file, as the worker did, instead of finding the window current: it
    # rebuilds, the worker maps the new window, and the failure's record is gone.
    assert seen["first"] == ["not ready", True] and seen["exit"] == 0
    assert seen["after"][0] == "ready" and seen["then"] == "ready"
    assert Path(seen["newest"]).name != path.name and seen["failed_at"] is None


def test_paperfeed_window_checks_every_file_when_asked_or_after_a_failed_build(catalogue, home, caplog):
    index.refresh_saved()
    [path] = saved_windows(home)
    flip_a_byte_keeping_its_stamp(path / "by_term.data.npy")
    assert index.refresh_saved()["saved"] is False  # the quick look: current, nothing read
    with caplog.at_level(logging.INFO, logger="paperfeed.recs.index"):
        assert index.refresh_saved(check_all=True)["saved"] is True
    assert f"{path.name}: by_term.data.npy: checksum mismatch" in caplog.text
    [path] = saved_windows(home)

    # A recorded failure asks for the full check by itself (the web worker's builder of an older
    # version, or the worker's job, would not pass --check-all)...
    flip_a_byte_keeping_its_stamp(path / "counts.data.npy")
    store.note_failed_build()
    assert index.refresh_saved()["saved"] is True and store.failed_build_at() is None
    [path] = saved_windows(home)
    # ...and a window that passes it is current: the record goes, nothing is rebuilt.
    store.note_failed_build()
    assert index.refresh_saved()["saved"] is False and store.failed_build_at() is None
    assert saved_windows(home) == [path]


# A web worker (in a `paperfeed shell` of its own: its builder reads the same database and home) that
# finds the window damaged while another process holds the builder lock; the damage then passes (the
# same bytes as saved again), and it looks three times, waiting for any builder it starts.
PASSING_DAMAGE_WORKER = (
    A_WEB_WORKER
    + """
from tests.recs.test_store import flip_a_byte_keeping_its_stamp as flip
path = store.newest()
seen = {"looks": [], "exits": []}
flip(path / "rows.data.npy")
with store.builder_lock():
    seen["first"] = look()
flip(path / "rows.data.npy")  # flipped back: the bytes as saved
for _ in range(3):
    seen["looks"].append(look())
    if index._builder is not None:
        seen["exits"].append(index._builder.wait())
seen["same"] = store.newest() == path
seen["failed_at"] = store.failed_build_at()
print(json.dumps(seen))
"""
)


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_window_found_unfit_for_a_passing_reason_costs_one_builder_not_one_a_request(cli_env):
    paperfeed("shell", "-c", SEED_SHELL, env=cli_env)
    paperfeed("window", env=cli_env)
    out = paperfeed("shell", "-c", PASSING_DAMAGE_WORKER, env=cli_env)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["first"] == "not ready" and "checksum mismatch" in out.stderr
    # One builder: it checks every file, finds the window fit and builds nothing; the worker then
    # maps the window it found unfit. It started a builder at each look, without end, before.
    assert out.stderr.count("building the candidate window in a child process") == 1
    assert seen["exits"] == [0] and seen["looks"] == ["not ready", "ready", "ready"]
    assert seen["same"] is True and seen["failed_at"] is None


def test_a_window_its_builder_passes_and_this_worker_cannot_map_pauses_the_next_builder(
    catalogue, home, monkeypatch, wall, caplog
):
    index.refresh_saved()
    monkeypatch.setattr(warmup, "serving", True)
    index.reset()

    def unfit_here(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise store.Unusable("unfit in this process only")

    real_load, real_start = store.load, index._start_builder
    monkeypatch.setattr(store, "load", unfit_here)
    monkeypatch.setattr(index, "_start_builder", lambda *a: pytest.fail("a builder while one passed"))
    # This worker found the window unfit, and its builder (a real child) exited 0 on the same window.
    index._unusable = ("unfit in this process only", store.newest().name)  # type: ignore[union-attr]
    passed = subprocess.Popen([sys.executable, "-c", "pass"])
    passed.wait()
    monkeypatch.setattr(index, "_builder", passed)
    with caplog.at_level(logging.ERROR, logger="paperfeed.recs.index"), pytest.raises(index.NotReady):
        index.candidates()
    assert "passed its builder's full check but not this process's" in caplog.text
    # No builder of its own at once, nor from any worker during the pause: the failure is recorded.
    assert store.failed_build_at() == wall[0] and index.pause_left() == index.RETRY_FAILED_S
    monkeypatch.setattr(store, "load", real_load)
    monkeypatch.setattr(index, "_start_builder", real_start)
    with pytest.raises(index.NotReady):
        index.candidates()  # the pause: the next look starts no builder either
    assert index._builder is None and store.building_since() is None
    index.reset()
