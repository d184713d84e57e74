"""RELIABILITY §4c faults around the database, with real processes: SIGTERM during a migration (both
databases), the SQLite file read-only, and its `-wal` deleted while the app is down (SQLite only:
these are faults of its files)."""

from __future__ import annotations

import contextlib
import gzip
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.conftest import SNAPSHOT, paperfeed
from tests.reliability.support import REPO, Server, base_env, tool, wait_until

LEAKS = ("Traceback", "OperationalError", "sqlite", "readonly", "paperfeed.sqlite3")


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
# Two inits, a kill and two showmigrations take ~10 s; the first child of the run to start also
# collects the static files into the run's shared root (~35 s on a loaded machine).
@pytest.mark.timeout(180)
@pytest.mark.database
# `paperfeed migrate` (no arguments) does what init does: it was Django's, one transaction per
# migration, and killed at "before-record" it left accounts_user behind, unrecorded.
@pytest.mark.parametrize(
    ("target", "where", "command"),
    [
        ("papers.0001_initial", "inside", "init"),
        ("accounts.0001_initial", "before-record", "init"),
        ("accounts.0001_initial", "before-record", "migrate"),
    ],
)
def test_sigterm_during_a_migration_then_init_finishes(
    cli_env: dict[str, str], tmp_path: Path, target: str, where: str, command: str
) -> None:
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.core.pause_init", str(marker), target, where, command],
        env=cli_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: marker.exists() or child.poll() is not None, None, f"init to reach {target}")
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


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` (a file or a folder) read-only for everyone, root included (the tests run as root,
    which file modes do not stop): a read-only bind mount of it over itself."""
    done = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here ({done.stderr.strip()}): a manual step then")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True, capture_output=True)
        yield
    finally:
        # Lazy: a server still running holds the file open (a plain umount would fail, busy); new
        # connections then open it writable.
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def _facts(db: Path) -> dict[str, object]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
            **{
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # nosec B608
                for table in ("papers_paper", "accounts_user", "feed_vote", "core_ratecounter")
            },
        }


def _refused_in_one_line(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert (
        proc.stderr.strip().splitlines()[-1].startswith("paperfeed: stopped: the database cannot be written")
    )


@pytest.mark.skipif(settings.IS_POSTGRES, reason="a fault of SQLite's file")
# A server start (~10 s on a loaded machine), about twenty requests and six CLI runs; the first
# child of the run also collects the static files into the run's shared root (~35 s).
@pytest.mark.timeout(180)
def test_a_read_only_sqlite_file(tmp_path: Path, migrated_sqlite: Callable[[Path], Path]) -> None:
    """The database file belongs to another user (here: a read-only bind mount, since root ignores
    file modes). Pages and API requests that only read answer 200 (the API's rate limit, which
    cannot be counted, lets them through) and /healthz says the database is read-only; every write
    answers 503 (the site) or stops with one line (the CLI); nothing is damaged, and once the file
    is writable again so is the site, by itself. With the folder read-only too, WAL mode cannot
    even open the file to read: the CLI says so in one line."""
    env = base_env(tmp_path / "home")
    migrated_sqlite(tmp_path / "home" / "paperfeed.sqlite3")
    ids = tool("papers", "5", env=env).split()
    tool("user", "alice", "a long enough pass 1", env=env)
    token = tool("token", "alice", env=env).strip()
    db = tmp_path / "home" / "paperfeed.sqlite3"
    before = _facts(db)
    stored, _ = _sample(tmp_path, 5)  # the five papers made above
    sample, _ = _sample(tmp_path, 8)  # three of them new: importing it must write

    server = None
    try:
        with read_only(db):
            server = Server(env, tmp_path / "serve.log", workers=1).wait_ready()
            with httpx.Client(base_url=server.url, timeout=30) as web:
                for path in (
                    "/",
                    "/papers",
                    "/trending",
                    f"/papers/{ids[0]}",
                    "/search?q=learning",
                    "/login",
                    "/api/daily_papers",
                    f"/api/papers/{ids[0]}",
                ):
                    r = web.get(path)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                health = web.get("/healthz")
                read_only_health = {"status": "degraded", "database": "read-only"}
                assert (health.status_code, health.json()) == (200, read_only_health)

                writes = [
                    web.post(f"/api/papers/{ids[0]}/upvote", headers={"Authorization": f"Bearer {token}"}),
                    web.post(
                        "/login",
                        data={
                            "username": "alice",
                            "password": "a long enough pass 1",
                            "csrfmiddlewaretoken": web.cookies["csrftoken"],
                        },
                    ),
                ]
                for r in writes:
                    assert r.status_code == 503, (r.request.url, r.status_code, r.text[:300])
                    assert int(r.headers["Retry-After"]) > 0
                    assert not any(leak in r.text for leak in LEAKS), r.text[:500]

            for args in (["import", str(sample)], ["submit", ids[1], "--by", "alice"], ["harvest"]):
                _refused_in_one_line(paperfeed(*args, env=env, check=False))
            # Papers stored already and unchanged need no write: such a re-import reads and reports.
            again = json.loads(paperfeed("import", str(stored), "--json", env=env).stdout)
            assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)
            assert json.loads(paperfeed("show", ids[0], "--json", env=env).stdout)["id"] == ids[0]

        # Writable again: the same server takes the vote, nothing was lost or damaged meanwhile.
        with httpx.Client(base_url=server.url, timeout=30) as web:
            assert web.get("/healthz").json() == {"status": "ok", "database": "up"}
            r = web.post(f"/api/papers/{ids[0]}/upvote", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text[:300]
    finally:
        if server is not None:
            server.stop()
    after = _facts(db)
    assert after["integrity"] == "ok"
    assert (after["papers_paper"], after["accounts_user"], after["feed_vote"]) == (
        before["papers_paper"],
        before["accounts_user"],
        1,
    )
    assert "Traceback" not in server.output()

    # The folder read-only too, with no -wal or -shm left beside the file (all closed cleanly).
    assert not list(db.parent.glob("paperfeed.sqlite3-*"))
    with read_only(db.parent):
        _refused_in_one_line(paperfeed("show", ids[0], env=env, check=False))
        _refused_in_one_line(paperfeed("import", str(sample), env=env, check=False))
    assert _facts(db) == after


@pytest.mark.skipif(settings.IS_POSTGRES, reason="a fault of SQLite's file")
@pytest.mark.timeout(180)  # five CLI runs (~15 s), and maybe the run's first static collection
@pytest.mark.parametrize("deleted", [("-wal",), ("-wal", "-shm")])
def test_a_deleted_wal_loses_only_what_was_not_checkpointed(
    tmp_path: Path, deleted: tuple[str, ...], migrated_sqlite: Callable[[Path], Path]
) -> None:
    """The app is killed with commits only in `-wal`, and the file is deleted while it is down (a
    clean-up, or a copy of the database file alone). The database opens, `integrity_check` is ok,
    every commit up to the last checkpoint is there, and the site takes writes again. The commits
    after it, which only the deleted file held, are lost: that is this fault's price, not a bug
    to fix (sqlite.org, "How To Corrupt": a hot journal must not be deleted). Here the last
    checkpoint completed; one interrupted by the crash would have left pages of later commits in
    the database file, which only the -wal could make whole again: a corrupt database is possible
    then. Hence deploy.md: never delete -wal or copy the database file alone."""
    env = base_env(tmp_path / "home")
    migrated_sqlite(tmp_path / "home" / "paperfeed.sqlite3")
    writer = subprocess.run(
        [sys.executable, "-m", "tests.core.wal_writer", "3", "4"],
        env={**env, "DJANGO_SETTINGS_MODULE": "paperfeed.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert writer.returncode == -signal.SIGKILL, writer.stderr[-3000:]
    ids = json.loads(writer.stdout.strip().splitlines()[-1])
    db = tmp_path / "home" / "paperfeed.sqlite3"
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0  # the last four papers are there and only there
    for suffix in deleted:
        db.with_name(db.name + suffix).unlink()

    again = paperfeed("init", env=env, check=False)  # the next start
    assert again.returncode == 0, again.stderr[-3000:]
    facts = _facts(db)
    assert facts["integrity"] == "ok" and facts["papers_paper"] == 3
    for arxiv_id in ids["checkpointed"]:
        assert json.loads(paperfeed("show", arxiv_id, "--json", env=env).stdout)["id"] == arxiv_id
    lost = paperfeed("show", ids["wal_only"][0], env=env, check=False)
    assert lost.returncode != 0 and "Traceback" not in lost.stderr

    sample, _ = _sample(tmp_path, 7)  # the same seven papers: four come back, three are there
    assert json.loads(paperfeed("import", str(sample), "--json", env=env).stdout)["created"] == 4
    facts = _facts(db)
    assert facts["integrity"] == "ok" and facts["papers_paper"] == 7
