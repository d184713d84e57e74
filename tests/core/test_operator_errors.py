"""What an operator sees when something outside paperfeed is wrong: an unreachable database, a
DATABASE_URL of another kind, Ctrl-C. One line on stderr and a non-zero status, never a traceback.

The children run this checkout's code (`python -m paperfeed` from its root), not the installed one."""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

import paperfeed
from paperfeed import cli
from paperfeed.core.management.commands.schedule import slot_time
from paperfeed.core.models import ScheduledRun
from tests.conftest import SNAPSHOT
from tests.fakes.arxiv import FakeArxiv
from tests.reliability.support import wait_until

ROOT = Path(paperfeed.__file__).resolve().parents[1]
# Port 1 on loopback: nothing listens, so the connection is refused at once.
UNREACHABLE = "postgres://paperfeed:hunter2@127.0.0.1:1/nosuchdb"


def _run(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return env | {"PAPERFEED_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize(
    "args",
    [("init",), ("show", "2401.00001"), ("worker", "--batch"), ("digest", "send"), ("schedule", "list")],
    ids=lambda a: " ".join(a),
)
def test_an_unreachable_database_is_one_line_naming_it(
    bare_env: dict[str, str], args: tuple[str, ...]
) -> None:
    proc = _run(*args, env=bare_env | {"DATABASE_URL": UNREACHABLE})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("paperfeed: stopped: cannot connect to the PostgreSQL database 'nosuchdb'")
    assert "127.0.0.1:1" in lines[0] and "user paperfeed" in lines[0] and "DATABASE_URL" in lines[0]
    assert "hunter2" not in proc.stderr + proc.stdout


def test_import_connects_before_it_reads(bare_env: dict[str, str], tmp_path: Path) -> None:
    # A FIFO nobody writes to: opening it to read would block for ever, so the command can only
    # finish if it tried the database first.
    fifo = tmp_path / "papers.jsonl"
    os.mkfifo(fifo)
    proc = _run("import", str(fifo), env=bare_env | {"DATABASE_URL": UNREACHABLE})
    assert proc.returncode == 1
    assert proc.stderr.startswith("paperfeed: stopped: cannot connect to the PostgreSQL database")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [("show", "2401.00001"), ("similar", "2401.00001")], ids=" ".join)
def test_a_database_never_initialised_is_one_line_saying_run_init(
    bare_env: dict[str, str], args: tuple[str, ...]
) -> None:
    # It printed "OperationalError: no such table: papers_paper" under a traceback.
    proc = _run(*args, env=bare_env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("paperfeed: stopped: the SQLite database ")
    assert "lacks paperfeed's tables (no such table: " in lines[0] and "run `paperfeed init`" in lines[0]


def test_a_shell_without_the_sites_environment_is_told_so_not_only_to_run_init(
    bare_env: dict[str, str], tmp_path: Path
) -> None:
    # Run from an operator's shell instead of with the units' EnvironmentFile, a command found an
    # empty ./var and said "run `paperfeed init`": that would have set up a second, empty site.
    env = {k: v for k, v in bare_env.items() if k != "PAPERFEED_HOME"}
    (tmp_path / "here").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", "moderate", "reports"],
        env=env,
        cwd=tmp_path / "here",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert f"the SQLite database {tmp_path / 'here' / 'var' / 'paperfeed.sqlite3'} lacks" in line
    assert "neither DATABASE_URL nor PAPERFEED_HOME is set" in line and "site's environment" in line


def test_traceback_option_still_shows_the_traceback(bare_env: dict[str, str]) -> None:
    proc = _run("show", "2401.00001", "--traceback", env=bare_env | {"DATABASE_URL": UNREACHABLE})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_settings_works_without_a_database(bare_env: dict[str, str]) -> None:
    # How an operator checks DATABASE_URL when connecting fails.
    proc = _run("settings", env=bare_env | {"DATABASE_URL": UNREACHABLE})
    assert proc.returncode == 0, proc.stderr
    assert "DATABASE_URL=postgres://…@127.0.0.1:1/nosuchdb" in proc.stdout


def test_an_unsupported_database_url_says_which_are(bare_env: dict[str, str]) -> None:
    proc = _run("show", "2401.00001", env=bare_env | {"DATABASE_URL": "mysql://u:pw@db.example.org/papers"})
    assert proc.returncode == 1
    assert proc.stderr == (
        "paperfeed: DATABASE_URL: only sqlite:// and postgres:// URLs are supported, not mysql://\n"
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        (
            "PAPERFEED_DB_STATEMENT_TIMEOUT",
            "abc",
            "PAPERFEED_DB_STATEMENT_TIMEOUT: not a number: 'abc' (unset, it is 30)",
        ),
        (
            "PAPERFEED_PROXY_COUNT",
            "one",
            "PAPERFEED_PROXY_COUNT: not a whole number: 'one' (unset, it is 0)",
        ),
        # Read only by `serve` (and HTTP_RETRIES by harvest and fetch): `digest send` ran on regardless.
        (
            "PAPERFEED_WEB_WORKERS",
            "abc",
            "PAPERFEED_WEB_WORKERS: not a whole number: 'abc' (unset, it is 3)",
        ),
        ("PAPERFEED_HTTP_RETRIES", "x", "PAPERFEED_HTTP_RETRIES: not a number: 'x' (unset, it is 8)"),
        ("DATABASE_URL", "postgres://", "DATABASE_URL: names no database: give its name"),
        # Without a scheme every mail went to localhost:25.
        ("EMAIL_URL", "mail.example.org", "EMAIL_URL: only smtp:// and smtps:// URLs are supported, not (no"),
        ("EMAIL_URL", "smtp://u:pw@h:twentyfive", "EMAIL_URL: the port is not a number from 1 to 65535"),
        ("EMAIL_URL", "smtp://h?timeout=soon", "EMAIL_URL: ?timeout= must be a whole number of seconds"),
        ("PAPERFEED_LOG_LEVEL", "LOUD", "PAPERFEED_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL, not"),
        ("PAPERFEED_LOG_FORMAT", "xml", "PAPERFEED_LOG_FORMAT: text or json, not 'xml'"),
        ("DATABASE_URL", "sqlite://", "DATABASE_URL: names no database: give its name"),
        (
            "DATABASE_URL",
            "postgres://u@127.0.0.1:99999/x",
            "DATABASE_URL: not a usable URL (Port out of range 0-65535)",
        ),
        (
            "DATABASE_URL",
            "sqlite:////nonexistent/dir/x.sqlite3",
            "stopped: the SQLite database /nonexistent/dir/x.sqlite3 cannot be opened: its folder "
            "/nonexistent/dir does not exist",
        ),
        (
            "PAPERFEED_DKIM_KEY",
            "/nonexistent/dkim.pem",
            "PAPERFEED_DKIM_KEY: cannot read /nonexistent/dkim.pem",
        ),
        ("PAPERFEED_DKIM_KEY", "/etc/passwd", "PAPERFEED_DKIM_KEY: /etc/passwd is not a PEM RSA private key"),
        (
            "PAPERFEED_HOME",
            "/etc/passwd",
            "PAPERFEED_HOME: cannot use /etc/passwd (not a folder: /etc/passwd)",
        ),
        (
            "PAPERFEED_HOME",
            "/proc/nohome",
            "PAPERFEED_HOME: cannot use /proc/nohome (No such file or directory",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "",
)
def test_a_setting_that_cannot_be_used_is_one_line_naming_it(
    bare_env: dict[str, str], setting: str, value: str, reason: str
) -> None:
    # Each was a traceback: ValueError from float(), dj_database_url's ParseError, Django's
    # ImproperlyConfigured, FileExistsError from mkdir; a missing SQLite folder was "read-only".
    proc = _run("digest", "send", env=bare_env | {setting: value})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"paperfeed: {reason}"), lines[0]
    assert proc.stdout == ""


# Children that each boot Django: seconds each on a loaded 2-core machine.
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("args", "reason", "status"),
    [
        # A usage mistake only the command sees (no QUERY, no --batch): status 2, as argparse's.
        (("search",), "give a QUERY or --batch FILE", 2),
        # Django's own commands, run through paperfeed, report alike.
        (("migrate", "nosuchapp"), "No installed app with label 'nosuchapp'.", 1),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else "",
)
def test_a_command_s_own_failure_has_the_one_prefix(
    bare_env: dict[str, str], args: tuple[str, ...], reason: str, status: int
) -> None:
    # As the settings and database failures above: "paperfeed: …", not Django's "CommandError: …".
    proc = _run(*args, env=bare_env)
    assert proc.returncode == status
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"paperfeed: {reason}"), proc.stderr
    with_traceback = _run(*args, "--traceback", env=bare_env)
    assert with_traceback.returncode != 0 and "Traceback" in with_traceback.stderr


def test_a_failed_system_check_lists_its_issues_and_ends_with_the_reason(bare_env: dict[str, str]) -> None:
    # A development setup fails the deployment checks: Django's listing, then a "paperfeed: …" line
    # with the count in place of Django's own closing line.
    proc = _run("check", "--deploy", "--fail-level", "WARNING", env=bare_env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "(security.W012)" in proc.stderr and not re.search(
        r"^System check identified \d", proc.stderr, re.M
    )
    assert re.fullmatch(
        r"paperfeed: system check identified \d+ issues \(0 silenced\), listed above", lines[-1]
    )
    with_traceback = _run("check", "--deploy", "--fail-level", "WARNING", "--traceback", env=bare_env)
    assert with_traceback.returncode == 1
    assert re.search(r"^System check identified \d", with_traceback.stderr, re.M)


def test_ctrl_c_is_one_line_and_status_130(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["shell", "-c", "raise KeyboardInterrupt"])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == (
        "paperfeed: interrupted: what was committed is kept; run the command again to continue\n"
    )


@pytest.mark.migrated
@pytest.mark.database_agnostic  # the harvest is asleep between HTTP attempts when the signal comes
@pytest.mark.timeout(180)
def test_sigint_while_a_harvest_waits_out_a_503(cli_env: dict[str, str], tmp_path: Path) -> None:
    fake = FakeArxiv().start()
    fake.faults.append("503:60")
    log = tmp_path / "harvest.log"
    try:
        with log.open("w") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "paperfeed", "harvest", "--from", "2026-06-25"],
                env=cli_env | fake.env() | {"PAPERFEED_HTTP_RETRIES": "3", "PAPERFEED_TIME_SCALE": "1"},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=out,
                # As from a terminal: a shell starts a background job (a CI script run with `&`) with
                # SIGINT ignored, and Python then keeps ignoring it rather than raise KeyboardInterrupt.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        try:
            # It logs the 503 just before it sleeps the minute out.
            wait_until(lambda: "retrying in" in log.read_text() or child.poll() is not None, None, "the 503")
            assert child.poll() is None, log.read_text()
            child.send_signal(signal.SIGINT)
            child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        fake.stop()
    err = log.read_text()
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "paperfeed: interrupted: what was committed is kept; run the command again to continue"
    )
    assert "Traceback" not in err


@pytest.mark.django_db
def test_schedule_list_shows_the_slot_as_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    ScheduledRun.objects.create(job="digests.send", slot=1_795_993_200)
    call_command("schedule", "list")
    out = capsys.readouterr().out
    assert "digests.send: every 3600 s, last slot 2026-11-29T23:00:00Z" in out
    assert "1795993200" not in out
    assert slot_time(None) == "never"


# Holds SQLite's write lock on the file named by argv[1] until its stdin closes.
_HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.read()
"""


class _WriteLock:
    """Another process (a worker, an import) in the middle of a write transaction on `path`."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD_WRITE_LOCK, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "held\n"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _assert_locked(proc: subprocess.CompletedProcess[str], database: Path) -> None:
    # The last line of stderr: an import reports its progress there before it writes.
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"paperfeed: stopped: the SQLite database {database} is locked: "), line
    assert "for more than 1 s (database is locked)" in line
    assert "stop the other writer" in line and "run the command again" in line


# Several children that each boot Django, on a loaded 2-core machine.
@pytest.mark.timeout(300)
def test_a_write_lock_held_by_another_process_is_one_line_and_loses_nothing(
    bare_env: dict[str, str], tmp_path: Path, migrated_sqlite: Callable[[Path], Path]
) -> None:
    # It was "OperationalError: database is locked" under a traceback, after 20 s; `init` (and any
    # command running the system checks) said "SQLite does not support JSONFields" instead.
    env = bare_env | {"PAPERFEED_DB_BUSY_TIMEOUT": "1"}
    database = migrated_sqlite(tmp_path / "home" / "paperfeed.sqlite3")
    papers = tmp_path / "papers.jsonl"
    with gzip.open(SNAPSHOT, "rt") as f:
        papers.write_text("".join(itertools.islice(f, 5)))
    target = tmp_path / "copy.sqlite3"

    lock = _WriteLock(database)
    try:
        for args in [("init",), ("import", str(papers)), ("subscribers", "add", "ada@example.org")]:
            _assert_locked(_run(*args, env=env), database)
        # copydb reads the source in one write transaction too (it keeps writers out meanwhile).
        _assert_locked(_run("copydb", "--to", f"sqlite:///{target}", env=env), database)
    finally:
        lock.release()

    # copydb names the database that is locked, here its target.
    lock = _WriteLock(migrated_sqlite(tmp_path / "other" / "paperfeed.sqlite3"))
    try:
        copy = _run("copydb", "--to", f"sqlite:///{tmp_path / 'other' / 'paperfeed.sqlite3'}", env=env)
        _assert_locked(copy, tmp_path / "other" / "paperfeed.sqlite3")
    finally:
        lock.release()

    # Once the other writer is done, the same commands run and find nothing half done.
    imported = _run("import", str(papers), "--json", env=env)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] == 5
    assert _run("copydb", "--to", f"sqlite:///{target}", env=env).returncode == 0


@pytest.mark.timeout(240)
def test_a_read_only_paperfeed_home_is_one_line_naming_the_file(
    bare_env: dict[str, str], tmp_path: Path, migrated_sqlite: Callable[[Path], Path]
) -> None:
    # The database elsewhere (as with PostgreSQL), PAPERFEED_HOME read-only: `index` and `similar`
    # printed an OSError traceback from creating the search folder.
    from tests.core.test_bad_input_faults import read_only

    database = migrated_sqlite(tmp_path / "db" / "paperfeed.sqlite3")
    env = bare_env | {"DATABASE_URL": f"sqlite:///{database}"}
    (tmp_path / "home").mkdir()  # as init makes it
    papers = tmp_path / "papers.jsonl"
    with gzip.open(SNAPSHOT, "rt") as f:
        papers.write_text("".join(itertools.islice(f, 3)))
    assert _run("import", str(papers), env=env).returncode == 0
    home = tmp_path / "home"
    assert not (home / "search").exists()
    with read_only(home):
        for args in [("index", "--json"), ("similar", json.loads(papers.read_text().splitlines()[0])["id"])]:
            proc = _run(*args, env=env)
            assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
            assert proc.stderr == (
                f"paperfeed: stopped: cannot use {home / 'search'} (under PAPERFEED_HOME, where the search "
                "indexes, locks and keys are kept): Read-only file system; what was committed before is "
                "kept: mount that disk writable or point PAPERFEED_HOME at a folder on a writable one, then "
                "run the command again\n"
            )


def test_serve_on_a_port_in_use_is_one_line_and_starts_nothing(bare_env: dict[str, str]) -> None:
    # gunicorn logged three lines after "serving http://…" and exited 1 without a reason.
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run("serve", "--port", str(port), env=bare_env)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"paperfeed: cannot listen on 127.0.0.1:{port} (Address already in use); nothing was started: "
        "another server may be using that port (pick another with --port), or --host is not an address "
        "of this machine\n"
    )


def test_a_file_that_is_not_a_sound_database_is_one_line(bare_env: dict[str, str], tmp_path: Path) -> None:
    # DATABASE_URL naming another file, or a damaged database: an OperationalError traceback.
    import sqlite3

    text = tmp_path / "papers.sqlite3"
    text.write_text('{"id": "2401.00001"}\n' * 100)
    damaged = tmp_path / "damaged.sqlite3"
    with contextlib.closing(sqlite3.connect(damaged)) as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 2000)
        db.commit()
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 3])
    for path, detail in [(text, "file is not a database"), (damaged, "database disk image is malformed")]:
        before = path.read_bytes()
        proc = _run("show", "2401.00001", env=bare_env | {"DATABASE_URL": f"sqlite:///{path}"})
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == (
            f"paperfeed: stopped: {path} is not a usable SQLite database ({detail}); nothing was written "
            "to it: check that DATABASE_URL (or PAPERFEED_HOME) names paperfeed's database; a damaged "
            "one is restored from a backup (docs/deploy.md, Backups)\n"
        )
        assert path.read_bytes() == before
