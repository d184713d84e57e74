"""RELIABILITY §4c faults around the database, with real processes: SIGTERM during a migration (both
databases), the SQLite file read-only, and its `-wal` deleted while the app is down."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import SNAPSHOT, paperfeed
from tests.reliability.support import REPO, wait_until

pytestmark = pytest.mark.database


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static files collected once for the module: `init` and `serve` collect into each fresh
    home, which takes half a minute on a loaded machine. A copy is as good: the stamp that says it
    is up to date describes the sources, not where the copy lies."""
    home = tmp_path_factory.mktemp("static-home")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env |= {"PAPERFEED_HOME": str(home), "PAPERFEED_SECRET_KEY": "static-test-key-" + "s" * 40}
    paperfeed("init", env=env)
    return home / "static"


def _with_static(env: dict[str, str], static: Path) -> None:
    home = Path(env["PAPERFEED_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(static, home / "static", dirs_exist_ok=True)


def _sample(tmp_path: Path, n: int) -> tuple[Path, list[str]]:
    """The shared snapshot's first n records as a file to import, and their arXiv ids."""
    with gzip.open(SNAPSHOT, "rt") as f:
        lines = [next(f) for _ in range(n)]
    path = tmp_path / f"sample-{n}.jsonl"
    path.write_text("".join(lines))
    return path, [json.loads(line)["id"] for line in lines]


def _applied(env: dict[str, str]) -> tuple[int, int]:
    """(applied, unapplied) migrations as `paperfeed showmigrations` lists them."""
    out = paperfeed("showmigrations", env=env).stdout
    return out.count("[X]"), out.count("[ ]")


def _sqlite_checks(env: dict[str, str]) -> tuple[str, list[object]]:
    with sqlite3.connect(Path(env["PAPERFEED_HOME"]) / "paperfeed.sqlite3") as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = db.execute("PRAGMA foreign_key_check").fetchall()
    return integrity, orphans


# The points that matter: inside a migration (its transaction open), and after a migration with
# deferred SQL is committed but before Django records it (#32374; accounts.0001 has deferred
# index and foreign-key SQL on both databases). Before init ran every migration in one
# transaction, a kill at the second left the tables unrecorded, and each later init failed with
# "table accounts_user already exists".
# Two inits, a kill and two showmigrations take ~10 s; the module's first test also collects the
# static files (~35 s on a loaded machine).
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("target", "where"),
    [("papers.0001_initial", "inside"), ("accounts.0001_initial", "before-record")],
)
def test_sigterm_during_a_migration_then_init_finishes(
    cli_env: dict[str, str], collected_static: Path, tmp_path: Path, target: str, where: str
) -> None:
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.core.pause_init", str(marker), target, where],
        env=cli_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: marker.exists() or child.poll() is not None, 60, f"init to reach {target}")
        assert marker.exists(), child.communicate()[1].decode()[-3000:]
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == -signal.SIGTERM  # no handler: the default action, as in a deploy
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()

    # Rolled back as a whole: nothing recorded, and the database still opens.
    assert _applied(cli_env)[0] == 0
    if not settings.IS_POSTGRES:
        assert _sqlite_checks(cli_env) == ("ok", [])

    _with_static(cli_env, collected_static)
    again = paperfeed("init", env=cli_env, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    applied, unapplied = _applied(cli_env)
    assert applied > 40 and unapplied == 0
    if not settings.IS_POSTGRES:
        assert _sqlite_checks(cli_env) == ("ok", [])
    # The main tables take rows and give them back.
    sample, ids = _sample(tmp_path, 3)
    assert json.loads(paperfeed("import", str(sample), "--json", env=cli_env).stdout)["created"] == 3
    assert json.loads(paperfeed("show", ids[0], "--json", env=cli_env).stdout)["id"] == ids[0]
