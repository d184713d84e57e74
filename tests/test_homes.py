"""tests/homes.py: the test processes' throw-away homes go when their processes do, and a crashed
run's go at the next run, while a running suite's stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import homes

REPO = Path(__file__).resolve().parents[1]
# A process that makes a home as tests/settings.py does, says where, and waits to be told to end.
HOLDER = "from tests import homes; print(homes.make(), flush=True); input()"


def _holder(tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_home_goes_with_its_process_or_at_the_next_sweep(tmp_path: Path) -> None:
    ended, ended_home = _holder(tmp_path)
    assert ended_home.parent == tmp_path and ended_home.name.startswith(homes.PREFIX)
    ended.communicate("\n", timeout=60)  # ends normally: its atexit hook removes its home
    assert not ended_home.exists()

    killed, crashed = _holder(tmp_path)
    running, alive = _holder(tmp_path)
    try:
        killed.kill()
        killed.communicate(timeout=60)
        assert crashed.is_dir()  # nothing ran at its end
        # An older run's (no lock file), a process's that died while making its home, both a day
        # old; and the same made just now, which may be a running suite's (its homes had no lock).
        old = [tmp_path / f"{homes.PREFIX}before-locks", tmp_path / f"{homes.MAKING}died-making"]
        new = [tmp_path / f"{homes.PREFIX}unlocked-new", tmp_path / f"{homes.MAKING}being-made"]
        for d in old + new:
            d.mkdir()
        day_ago = time.time() - homes.UNLOCKED_AFTER_S - 60
        for d in old:
            os.utime(d, (day_ago, day_ago))
        other = tmp_path / "pfother-1"  # not a test home
        other.mkdir()

        assert homes.sweep(tmp_path) == sorted([crashed, *old])
        assert alive.is_dir() and all(d.is_dir() for d in new) and other.is_dir()
        assert homes.sweep(tmp_path) == []
        assert homes.sweep(tmp_path, now=time.time() + homes.UNLOCKED_AFTER_S + 60) == sorted(new)
        assert alive.is_dir()
    finally:
        running.communicate("\n", timeout=60)
    assert not alive.exists()


@pytest.mark.skipif("PFTEST_HOME_PROBE" not in os.environ, reason="run by the test below, in a child pytest")
def test_probe_records_its_home() -> None:
    home = Path(os.environ["PAPERFEED_TESTS_HOME"])
    assert home.is_dir() and home.name.startswith(homes.PREFIX)
    Path(os.environ["PFTEST_HOME_PROBE"]).write_text(str(home))


@pytest.mark.timeout(300)  # a pytest controller and a worker, each booting Django
def test_a_test_run_leaves_no_home_behind(tmp_path: Path) -> None:
    probe = tmp_path / "probe.txt"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PAPERFEED_HOME", "PAPERFEED_TESTS_HOME")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "1", "-k", "probe", __file__],
        cwd=REPO,
        env={**env, "TMPDIR": str(tmp), "PFTEST_HOME_PROBE": str(probe)},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    worker_home = Path(probe.read_text())
    assert worker_home.parent == tmp
    assert not worker_home.exists()
    assert sorted(tmp.glob(f"{homes.PREFIX}*")) == []  # the controller's too
