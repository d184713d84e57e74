"""`paperfeed copydb`: a site moves to another database whole. In the SQLite run the site moves from
SQLite to a new PostgreSQL database; in the PostgreSQL run it moves back, to a new SQLite file.
Real CLI children on real databases; the rows are compared table by table, field by field."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import database_url_for, paperfeed, throwaway_pg_database
from tests.reliability.support import tool

pytestmark = [
    pytest.mark.database,
    pytest.mark.slow,
    # S13: each test runs `init`, a populating child and two or three copies, each migrating a
    # fresh database (10-20 s apiece on the loaded 2-core machine).
    pytest.mark.timeout(400),
]

# Rows a fresh database's own migrations make (post_migrate): the copy replaces them with the source's.
MIGRATION_MADE = {"django_content_type", "auth_permission"}


@pytest.fixture
def target_url(tmp_path: Path) -> Iterator[str]:
    """The other kind of database than the run's: an empty PostgreSQL database, or a SQLite file."""
    if settings.IS_POSTGRES:
        yield f"sqlite:///{tmp_path}/target/paperfeed.sqlite3"
        return
    with throwaway_pg_database("pfcopy") as url:
        yield url


def site(action: str, env: dict[str, str], *args: str) -> Any:
    return json.loads(tool(action, *args, env=env, module="tests.core.copydb_site"))


def source_url(env: dict[str, str]) -> str:
    return env.get("DATABASE_URL") or f"sqlite:///{env['PAPERFEED_HOME']}/paperfeed.sqlite3"


@pytest.fixture
def populated(cli_env: dict[str, str]) -> dict[str, Any]:
    made = site("populate", cli_env)
    assert made["empty"] == [], "give these tables a row in tests/core/copydb_site.py"
    return made


@pytest.mark.migrated
def test_a_whole_site_moves_and_works_there(
    cli_env: dict[str, str], populated: dict[str, Any], target_url: str
) -> None:
    source = site("dump", cli_env)
    built = json.loads(paperfeed("index", "--keyword-only", "--json", env=cli_env).stdout)["keyword"]
    out = json.loads(paperfeed("copydb", "--to", target_url, "--json", env=cli_env).stdout)

    assert out["tables"].keys() == source.keys()
    assert all(n["copied"] == n["source"] == len(source[t]) for t, n in out["tables"].items())
    assert set(out["not_copied"]) == {"django_migrations", "paperfeed_cache"}
    target_env = cli_env | {"DATABASE_URL": target_url}
    copied = site("dump", target_env)
    for table, rows in source.items():
        assert copied[table] == rows, table
    # Migrating the target read and wrote the target, not the site's own database.
    assert site("dump", cli_env) == source
    # The home's index follows change ids the copy keeps, times and papers with them: the index
    # checks its change's mark against the database, and finds the target the one it was built from.
    moved = json.loads(paperfeed("index", "--keyword-only", "--json", env=target_env).stdout)["keyword"]
    assert not moved["rebuilt"] and moved["indexed"] == 0 and moved["documents"] == built["documents"] > 0

    used = site("check", target_env, json.dumps(populated))
    assert used["login"] and used["settings_page"] == 200
    assert used["old_session_page"] == 200  # whoever was logged in stays logged in
    assert used["token_user"] == "alice" and used["tokens"] == 1
    assert used["alice_votes"] == populated["alice_votes"]
    assert used["follows"] == ["author", "category", "keyword"]
    assert used["digest"] == ["weekly", 9, False, True, ["cs.CL", "cs.LG"], "confirmed"]
    new, before = used["new"], used["before"]
    assert new["vote"] > max(before["vote"], populated["deleted_vote"])
    assert new["paper"] > before["paper"] and new["user"] > before["user"]
    assert new["change"] > populated["deleted_change"]
    if target_url.startswith("sqlite"):
        path = target_url.removeprefix("sqlite:///")
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.migrated
def test_a_target_with_data_is_refused_unless_replaced(
    cli_env: dict[str, str], populated: dict[str, Any], target_url: str
) -> None:
    paperfeed("copydb", "--to", target_url, env=cli_env)
    target_env = cli_env | {"DATABASE_URL": target_url}
    site("check", target_env, json.dumps(populated))  # the target now holds more than the source
    after_use = site("dump", target_env)

    again = paperfeed("copydb", "--to", target_url, env=cli_env, check=False)
    assert again.returncode == 1
    assert "the target already holds data: accounts_user (3 rows)" in again.stderr.splitlines()[-1]
    assert site("dump", target_env) == after_use

    paperfeed("copydb", "--to", target_url, "--replace", env=cli_env)
    assert site("dump", target_env) == site("dump", cli_env)

    itself = paperfeed("copydb", "--to", source_url(cli_env), "--replace", env=cli_env, check=False)
    assert itself.returncode == 2 and "names the database this site already uses" in itself.stderr
    missing = paperfeed("copydb", "--to", database_url_for("pf_no_such_db"), env=cli_env, check=False)
    assert missing.returncode == 1
    assert "stopped: cannot connect to the target, " in missing.stderr.splitlines()[-1]
    wrong = paperfeed("copydb", "--to", "mysql://db/paperfeed", env=cli_env, check=False)
    assert wrong.returncode == 2
    assert "only sqlite:// and postgres:// URLs are supported, not mysql://" in wrong.stderr


@pytest.mark.migrated
def test_a_copy_killed_or_interrupted_midway_is_simply_run_again(
    cli_env: dict[str, str], populated: dict[str, Any], target_url: str
) -> None:
    args = ("copydb", "--to", target_url, "--batch-size", "1")
    # Batch 60 of ~250 rows: inside the papers' tables, well past the users'.
    killed = paperfeed(*args, env=cli_env | {"FAILPOINT": "copydb.batch:60"}, check=False)
    assert killed.returncode == -signal.SIGKILL
    target_env = cli_env | {"DATABASE_URL": target_url}
    left = site("dump", target_env)
    assert {t for t, rows in left.items() if rows} == MIGRATION_MADE

    stopped = paperfeed(
        *args,
        env=cli_env | {"FAILPOINT": "copydb.batch:60:SIGINT"},
        check=False,
        # As from a terminal: a CI script's background job starts with SIGINT ignored, which Python
        # keeps (the Ctrl-C was lost and the copy completed in a `.ci/run &`).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert stopped.returncode == 130
    assert stopped.stderr.splitlines()[-1].startswith("paperfeed: interrupted")
    assert {t for t, rows in site("dump", target_env).items() if rows} == MIGRATION_MADE

    paperfeed(*args, env=cli_env)
    assert site("dump", target_env) == site("dump", cli_env)


@pytest.fixture
def sqlite_env(cli_env: dict[str, str]) -> dict[str, str]:
    """A site on SQLite whichever database this run tests (what PostgreSQL refuses comes from SQLite)."""
    return {k: v for k, v in cli_env.items() if k != "DATABASE_URL"}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with throwaway_pg_database("pfcopy") as url:
        yield url


def test_a_row_postgresql_refuses_is_named_and_nothing_is_committed(
    sqlite_env: dict[str, str], postgres_url: str, migrated_sqlite: Callable[[Path], Path]
) -> None:
    path = migrated_sqlite(Path(sqlite_env["PAPERFEED_HOME"]) / "paperfeed.sqlite3")
    made = site("populate", sqlite_env)
    # SQLite does not enforce a column's length; nothing in paperfeed writes this, a hand edit might.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE accounts_follow SET value = ? WHERE kind = 'keyword'", ["x" * 201])
    refused = paperfeed("copydb", "--to", postgres_url, env=sqlite_env, check=False)
    assert refused.returncode == 1
    last = refused.stderr.splitlines()[-1]
    assert (
        "the target refused a row of accounts_follow (value too long for type character varying(200))" in last
    )
    assert "correct that row in the source and copy again" in last
    target_env = sqlite_env | {"DATABASE_URL": postgres_url}
    assert {t for t, rows in site("dump", target_env).items() if rows} == MIGRATION_MADE

    with sqlite3.connect(path) as db:
        db.execute("UPDATE accounts_follow SET value = 'décodage' WHERE kind = 'keyword'")
    paperfeed("copydb", "--to", postgres_url, env=sqlite_env)
    assert site("check", target_env, json.dumps(made))["follows"] == ["author", "category", "keyword"]


@pytest.mark.migrated
def test_migrating_the_target_leaves_the_site_s_own_database_alone(
    cli_env: dict[str, str], target_url: str
) -> None:
    # django_tasks_db's migration 0016 updates its rows without `.using()`: migrating the target
    # ran that UPDATE on the site's database (waiting on its write lock while a worker wrote).
    assert site("migrate", cli_env, target_url) == []
    applied = paperfeed("showmigrations", "django_tasks_database", env=cli_env | {"DATABASE_URL": target_url})
    assert "[X] 0016_remove_dbtaskresult_django_task_new_ordering_idx_and_more" in applied.stdout


@pytest.mark.timeout(120)
def test_a_target_that_is_not_a_database_is_named_as_such(cli_env: dict[str, str], tmp_path: Path) -> None:
    # It said "check that the server runs", as for a PostgreSQL server that cannot be reached.
    not_a_db = tmp_path / "backup.tar"
    not_a_db.write_bytes(b"not SQLite" * 200)
    run = paperfeed("copydb", "--to", f"sqlite:///{not_a_db}", "--json", env=cli_env, check=False)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines()[-1] == (
        f"paperfeed: stopped: the target {not_a_db} is a file but not a SQLite database (file is not a "
        "database); nothing was changed: name a file that does not exist yet (copydb creates it) or a "
        "SQLite database"
    )
    assert not_a_db.read_bytes() == b"not SQLite" * 200


@pytest.mark.migrated
@pytest.mark.timeout(120)
def test_the_site_s_own_database_as_target_is_an_argument_mistake(cli_env: dict[str, str]) -> None:
    # It was exit status 1, as if a copy had failed; the source and target are never touched.
    url = source_url(cli_env)
    # Another spelling of the same database: a path through "." for SQLite, another host name of
    # the same PostgreSQL server.
    same = url.replace("/paperfeed.sqlite3", "/./paperfeed.sqlite3").replace("@127.0.0.1:", "@localhost:")
    assert same != url
    before = site("dump", cli_env)
    for target in (url, same):
        run = paperfeed("copydb", "--to", target, "--replace", "--json", env=cli_env, check=False)
        assert run.returncode == 2 and run.stdout == ""
        last = run.stderr.splitlines()[-1]
        assert last.startswith("paperfeed: --to names the database this site already uses (the ")
        assert last.endswith("); nothing was changed: name another database as the target")
    assert site("dump", cli_env) == before
