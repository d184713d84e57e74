"""A full disk, however the error arrives, is recognised (and reported by every command as one line)."""

from __future__ import annotations

import errno
import sqlite3

from django.db import OperationalError

from paperfeed.core.commands import is_disk_full


class DiskFull(Exception):  # psycopg's class for SQLSTATE 53100
    sqlstate = "53100"


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def test_disk_full_is_recognised_through_the_wrappers_it_arrives_in() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    sqlite_full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(_chained(OperationalError(str(sqlite_full)), sqlite_full))
    assert is_disk_full(_chained(RuntimeError("while committing"), DiskFull("could not extend file")))


def test_other_errors_are_not_disk_full() -> None:
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(OperationalError("database is locked"))
    loop = ValueError("a")
    loop.__context__ = loop  # a cycle must end the walk
    assert not is_disk_full(loop)
