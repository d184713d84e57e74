"""Shared fixtures. The suite runs twice (`make test`): on SQLite, then with DATABASE_URL set to
PostgreSQL, when only the tests that touch a database run again (not those marked
`database_agnostic`: they keep their data in one, but what they prove does not depend on which)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests import dbreset, deadline, homes, isolation
from tests.fakes.smtp import SmtpSink

# The shared data lies beside the repository (../shared/data); PAPERFEED_SHARED_DATA overrides.
SHARED_DATA = Path(
    os.environ.get("PAPERFEED_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
SNAPSHOT = SHARED_DATA / "arxiv_metadata" / "arxiv_cs_daily_2025-03_2026-07.kaggle.jsonl.gz"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_DB_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
    "cli_env",
}


def runs_on_postgres(item: pytest.Item) -> bool:
    """Whether the PostgreSQL half of `make test` runs this test again: it uses a database, and what
    it proves may depend on which."""
    touches_db = (
        item.get_closest_marker("django_db")
        or item.get_closest_marker("database")
        or _DB_FIXTURES & set(getattr(item, "fixturenames", ()))
    )
    return bool(touches_db) and item.get_closest_marker("database_agnostic") is None


def _uses_test_database(item: pytest.Item) -> bool:
    return bool(
        item.get_closest_marker("django_db")
        or {"db", "transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
    )


def _expected_long(item: pytest.Item) -> float:
    """The longer timeout a test asked for (0: the default 60 s), as a measure of how long it takes."""
    marker = item.get_closest_marker("timeout")
    return float(marker.args[0]) if marker and marker.args else 0.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Longest first: xdist's worksteal hands each worker a contiguous share of this order and lets
    # an idle worker take the end of the other's, so a long test left at the end ran alone while
    # the other worker waited. pytest-django has put the tests of the test database first (those
    # that keep it, then those that empty it: that order it needs); the others (CLI children,
    # servers: most of the long ones) came last, and move to the front by their timeouts here.
    # The order is a pure function of the items: every worker must collect the same one.
    first = sorted(
        (item for item in items if not _uses_test_database(item) and _expected_long(item) > 0),
        key=_expected_long,
        reverse=True,
    )
    if first:
        chosen = set(first)
        items[:] = first + [item for item in items if item not in chosen]
    if not settings.IS_POSTGRES:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if runs_on_postgres(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    deadline.start(item)


# Each test starts without what an earlier one left in this process: caches, the search engine, the
# project's environment variables, indexes in the process's home (tests/isolation.py). Hooks, not an
# autouse fixture: the environment is compared before the first fixture's setup and after the last
# one's teardown (monkeypatch's among them, which may be set up before any autouse fixture of ours).
# A test that changed the environment or wrote an index there fails in its teardown.
_BEFORE = pytest.StashKey[tuple[dict[str, str], set[str]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_BEFORE] = (isolation.env_snapshot(), isolation.home_state(Path(settings.HOME)))
    isolation.drop_process_state()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if _BEFORE not in item.stash:
        return
    env, there = item.stash[_BEFORE]
    isolation.drop_process_state()
    changed = isolation.restore_env(env)
    left = isolation.remove_home_state(Path(settings.HOME), there)
    assert not changed, f"the test changed these environment variables and left them so: {changed}"
    assert not left, f"the test left {left} in its process's home {settings.HOME}: give it a home of its own"


@pytest.fixture(scope="session", autouse=True)
def _quick_flush() -> Iterator[None]:
    """Transactional tests end with the database emptied by DELETE, not Django's TRUNCATE and
    post_migrate (tests/dbreset.py): the same end state, minutes less on PostgreSQL."""
    dbreset.install()
    yield
    dbreset.uninstall()


def _static_root_of_checkout() -> Path:
    """Where this checkout's test runs keep their collected static files."""
    repo = Path(__file__).resolve().parents[1]
    tag = hashlib.sha256(str(repo).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"paperfeed-test-static-{os.getuid()}-{tag}" / "static"


def pytest_sessionstart(session: pytest.Session) -> None:
    """One static root for every `paperfeed` child (PAPERFEED_STATIC_ROOT, inherited with
    os.environ): `init` and `serve` collect into each fresh home otherwise, half a minute each on a
    loaded machine. The root is the checkout's, not the test process's: both xdist workers and both
    halves of `make test` share it, so one collect serves four processes instead of one each (12 s
    of CPU each). The first child collects under the root's lock; the others find it current (the
    stamp is the sources' paths, sizes and times, so a changed source is collected again). Set
    before the first test (not in a session fixture, which the first test's setup would run): each
    test's environment is compared before and after (pytest_runtest_teardown below)."""
    os.environ["PAPERFEED_STATIC_ROOT"] = str(_static_root_of_checkout())
    # Listings wrap at COLUMNS when it is set (core.commands.terminal_width): a shell or CI that
    # exports it made tests of the piped, one-line-a-result form fail. Tests of wrapping set it.
    os.environ.pop("COLUMNS", None)
    if not hasattr(session.config, "workerinput"):  # once a run, in the controller (or the only process)
        homes.sweep()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The process's throw-away home goes with it (its atexit hook does it too, for a process that
    imported tests/settings.py without pytest). Nothing runs in it by now: pytest-django dropped the
    test database kept there when the session's fixtures ended."""
    homes.remove_own()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the shared data folder is missing: {SHARED_DATA}"
    return SHARED_DATA


# The rate limits' counters live in the database, or in Redis when PAPERFEED_CACHE_URL points at it
# (core.ratelimit). This Redis is the machine's (a throw-away one is started only by the reliability
# tests): each test keeps its keys under a prefix of its own and deletes them after.
TEST_REDIS_URL = os.environ.get("PAPERFEED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_unreachable(url: str) -> str | None:
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as r:
            r.ping()
    except redis.RedisError as e:
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(params=["database", "redis"])
def rate_counters(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Where the rate limits count: each test using it runs with both stores."""
    if request.param == "database":
        yield "database"
        return
    if reason := _redis_unreachable(TEST_REDIS_URL):
        pytest.skip(f"Redis at {TEST_REDIS_URL} (PAPERFEED_TEST_REDIS_URL) is not reachable: {reason}")
    import redis

    prefix = f"pftest-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    try:
        yield "redis"
    finally:
        with redis.Redis.from_url(TEST_REDIS_URL) as r:
            for key in r.scan_iter(f"{prefix}:*"):
                r.delete(key)


def _admin_conn():  # type: ignore[no-untyped-def]
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def database_url_for(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A folder for a throw-away PostgreSQL cluster (tests/reliability/support.py: PgCluster). Not
    tmp_path: pytest's folders are private to root, and the cluster runs as `postgres`."""
    root = Path(tempfile.mkdtemp(prefix="pf-pg-"))
    root.chmod(0o755)
    try:
        yield root / "cluster"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def migration_executor() -> Iterator[Any]:
    """A MigrationExecutor for a test that moves apps back to an older migration. Afterwards every
    app is migrated forward to its newest again, whatever the test did: moving one app back also
    undoes the migrations of other apps that depend on it, which the test's own step forward does not
    redo, and the next test on this worker would meet a database without them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    yield MigrationExecutor(connection)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _template_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["PAPERFEED_HOME"] = str(home)
    env["PAPERFEED_SECRET_KEY"] = "cli-test-secret-key-" + "y" * 40
    return env


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database `paperfeed init` migrated, once per test process: a SQLite file's path, or the
    name of a PostgreSQL database to copy (CREATE DATABASE ... TEMPLATE). Migrating a fresh database
    takes the longest part of an `init` (seconds on SQLite, more on PostgreSQL), and most CLI tests
    only need one ready."""
    home = tmp_path_factory.mktemp("migrated-template") / "home"
    env = _template_env(home)
    if not settings.IS_POSTGRES:
        paperfeed("init", env=env)
        yield str(home / "paperfeed.sqlite3")
        return
    with throwaway_pg_database("pftemplate") as url:
        paperfeed("init", env=env | {"DATABASE_URL": url})
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def _migrated_sqlite_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A SQLite file `paperfeed init` migrated, once per test process, on either run: the tests of
    SQLite's own files (locks, read-only mounts, a deleted -wal) need one on the PostgreSQL run too."""
    if not settings.IS_POSTGRES:
        return str(request.getfixturevalue("_migrated_template"))
    home = tmp_path_factory.mktemp("migrated-sqlite-template") / "home"
    paperfeed("init", env=_template_env(home))
    return str(home / "paperfeed.sqlite3")


@pytest.fixture
def migrated_sqlite(_migrated_sqlite_template: str) -> Callable[[Path], Path]:
    """Puts a SQLite database as `paperfeed init` leaves it at the path given (its folder made):
    for tests whose subject comes after the init, where they set up a home of their own rather
    than use `cli_env`. init writes nothing else into a home (the static files have their root)."""

    def copy(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite_template, path)
        return path

    return copy


@pytest.fixture
def cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for `paperfeed` subprocesses: a fresh home and a fresh database of the kind
    this run tests (a SQLite file there, or a new PostgreSQL database dropped afterwards).

    Empty, unless the test is marked `migrated`: then the database is as `paperfeed init` leaves
    it (a copy of one migrated once per process), for tests whose subject comes after the init."""
    migrated = request.node.get_closest_marker("migrated") is not None
    template = request.getfixturevalue("_migrated_template") if migrated else None
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    home = tmp_path / "home"
    env["PAPERFEED_HOME"] = str(home)
    env["PAPERFEED_SECRET_KEY"] = "cli-test-secret-key-" + "y" * 40
    if template is not None:
        home.mkdir()  # as init makes it
    if not settings.IS_POSTGRES:
        if template is not None:
            shutil.copyfile(template, home / "paperfeed.sqlite3")
        yield env
        return
    with throwaway_pg_database("pfcli", template=template) as url:
        env["DATABASE_URL"] = url
        yield env


@contextlib.contextmanager
def throwaway_pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database on the server this run uses (127.0.0.1:5432 when it tests
    SQLite), empty or a copy of database `template`, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield database_url_for(name)
    finally:
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def paperfeed(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 600, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"paperfeed {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; Django's default mailer sends to it (not to mail.outbox)."""
    sink = SmtpSink().start()
    settings.MAILERS = {"default": sink.mailer_settings()}
    try:
        yield sink
    finally:
        sink.stop()
