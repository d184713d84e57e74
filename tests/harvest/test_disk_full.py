"""RELIABILITY L10: the database on a nearly full disk (a real tmpfs; ENOSPC at insert). The harvester
fails loudly with one clear line, keeps its checkpoint, and the next run, with space freed, ends
with every record stored once (SQLite: the embedded default is where a laptop's disk fills up)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import paperfeed
from tests.fakes.arxiv import FakeArxiv, spread
from tests.harvest.conftest import SCALE


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}): L10 is then a manual step")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _count(env: dict[str, str]) -> tuple[int, int]:
    out = (
        paperfeed(
            "shell",
            "-c",
            "from paperfeed.papers.models import Paper; from django.db.models import Count;"
            "print(Paper.objects.count(), Paper.objects.values('arxiv_id').annotate(n=Count('id'))"
            ".filter(n__gt=1).count())",
            env=env,
        )
        .stdout.splitlines()[-1]
        .split()
    )  # the shell may first announce its automatic imports
    return int(out[0]), int(out[1])


@pytest.mark.timeout(240)  # three CLI runs (two harvests, counts): ~12 s idle
def test_a_full_disk_stops_the_harvest_cleanly_and_the_next_run_loses_nothing(
    small_disk: Path, docs: list[dict[str, Any]], migrated_sqlite: Callable[[Path], Path]
) -> None:
    fake = FakeArxiv(spread(docs[:240], dt.date(2026, 6, 25), 6), page_size=20).start()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env |= fake.env() | {
            "PAPERFEED_HOME": str(small_disk / "home"),
            "PAPERFEED_SECRET_KEY": "disk-full-test-key-" + "x" * 40,
            "PAPERFEED_TIME_SCALE": str(SCALE),
            "PAPERFEED_ARXIV_DELAY": "3",
            # As cli_fake_env: the default 30 s deadline is 0.3 s of real time at this scale, which a
            # loaded CI machine overran once (the harvest gave up on a page before the disk filled).
            "PAPERFEED_HTTP_TIMEOUT": "60",
            "PAPERFEED_HTTP_RETRIES": "8",
        }
        migrated_sqlite(small_disk / "home" / "paperfeed.sqlite3")
        # Leave room for a few pages only: 240 records need well over a megabyte.
        ballast = small_disk / "ballast"
        with ballast.open("wb") as f:
            f.write(b"\0" * max(_free(small_disk) - 1_000_000, 0))
        first = paperfeed("harvest", "--from", "2026-06-25", env=env, check=False)
        assert first.returncode == 1, first.stderr[-2000:]
        assert "the disk is full" in first.stderr and "Traceback" not in first.stderr, first.stderr[-2000:]
        ballast.unlink()
        stored, duplicated = _count(env)
        assert 0 < stored < 240 and duplicated == 0
        second = paperfeed("harvest", env=env)  # from the checkpoint, not from --from
        assert "Traceback" not in second.stderr
        assert _count(env) == (240, 0)
    finally:
        fake.stop()
        shutil.rmtree(small_disk / "home", ignore_errors=True)
