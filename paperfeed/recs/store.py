"""The "for you" window saved under PAPERFEED_HOME/recs, so it is built once per machine, not per process.

A saved window is a directory `window-<ns>` of uncompressed .npy files that every process maps
read-only (`np.load(mmap_mode="r")`: one copy in the page cache, shared), and a manifest naming the
format, the hashing settings, the window's start day, its paper count and the PaperChange it includes
up to (id, time and paper, so a window saved against another database, or a database restored to an
older state, is not taken for this one), and each file's CRC-32 and (size, mtime) stamp; every
CRC is checked when a process maps it (a damaged file is rebuilt, never ranked with), the stamps
where the worker only asks whether the window is current. It is written under a temporary name and
renamed into place, so a complete directory is the only kind a reader can see; the builder then
removes the older ones (processes that mapped them keep their pages until they let go). One builder
at a time per home:
a lock file, as the static collect takes; it holds the time its holder took it, and the manifest how
long the last build from nothing took, so that a client told to come back is told when (Retry-After).
A failed build (whichever process ran it) is stamped in `builder-failed` beside it, so no web worker
starts the next builder at once; `paperfeed window` by hand does not wait.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import mmap
import os
import shutil
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings

from paperfeed.conf import env_int
from paperfeed.core import clock
from paperfeed.core.failpoints import failpoint
from paperfeed.papers.models import PaperChange
from paperfeed.recs import model

log = logging.getLogger(__name__)

FORMAT = 3  # bump when the files or their meaning change: older windows are then rebuilt
PREFIX = "window-"
MATRICES = ("counts", "rows", "by_term")  # by_term: the rows' transpose, mapped like them
SEP_PAPER, SEP_ITEM = "\n", "\x1f"  # author keys and category codes hold neither


class Unusable(Exception):
    """The saved window cannot serve this process (the message says why)."""


def recs_dir() -> Path:
    return Path(settings.HOME) / "recs"


def settings_key() -> dict[str, Any]:
    """What the saved rows depend on besides the papers: a change here makes them a different window."""
    return {
        "n_features": model.N_FEATURES,
        "token_pattern": model.TOKEN_PATTERN,
        "idf": [model.MIN_DF, model.MAX_DF, model.MAX_DF_FLOOR, model.IDF_POWER],
        # A longer window needs older papers than a saved shorter one holds.
        "window_days": env_int("PAPERFEED_RECS_WINDOW_DAYS"),
    }


def _lock_path() -> Path:
    recs_dir().mkdir(parents=True, exist_ok=True)
    return recs_dir() / "window.lock"


def _open_lock() -> Any:
    """The lock file, opened without truncating it: it holds when its holder took it, which a
    process that opens it only to wait or to look must not erase."""
    return os.fdopen(os.open(_lock_path(), os.O_RDWR | os.O_CREAT, 0o644), "r+")


def _stamp(lock: Any) -> float:
    """Write the time the lock was taken into the (locked) lock file: `building_since` reads it."""
    now = clock.wall()
    lock.seek(0)
    lock.truncate()
    lock.write(repr(now))
    lock.flush()
    return now


def _stamped(lock: Any) -> float | None:
    lock.seek(0)
    try:
        return float(lock.read(64))
    except ValueError:  # stamped by no one yet (a lock file of an older version, or a torn write)
        return None


@contextlib.contextmanager
def builder_lock(held: int | None = None) -> Iterator[float]:
    """Yields the time (clock.wall) the lock was taken. `held`: a descriptor of the lock file already
    locked, inherited from the web worker that started this builder (taking it again through another
    descriptor would wait on itself); that worker stamped it."""
    if held is not None:
        with os.fdopen(held, "r+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a no-op on the inherited lock; a check it is one
            started = _stamped(lock)
            yield _stamp(lock) if started is None else started
        return
    with _open_lock() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield _stamp(lock)


def try_builder_lock() -> Any:
    """The lock file open, locked and stamped, or None when a builder holds it: a web worker hands
    the open file to the builder process it starts, so the lock is held from before that process
    exists until it exits (whatever way it exits), and no second builder starts meanwhile."""
    lock = _open_lock()
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    _stamp(lock)
    return lock


def wait_for_builder() -> None:
    """Return once no builder holds the lock (the wait releases the GIL)."""
    with _open_lock() as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)


def building_since() -> float | None:
    """When (clock.wall) the builder that holds the lock took it; None when none holds it."""
    if not (recs_dir() / "window.lock").exists():
        return None
    with _open_lock() as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _stamped(lock)
        return None  # closing the file lets go of the shared lock just taken


def _failed_path() -> Path:
    return recs_dir() / "builder-failed"


def note_failed_build() -> None:
    """Record (clock.wall) that a builder just failed, for every process of this home: a web worker
    that did not start it would otherwise start the next one at once. Written under another name and
    renamed, so a reader sees the old stamp or the new, never half of one."""
    recs_dir().mkdir(parents=True, exist_ok=True)
    tmp = recs_dir() / f"builder-failed.tmp{os.getpid()}"
    tmp.write_text(repr(clock.wall()))
    tmp.replace(_failed_path())


def clear_failed_build() -> None:
    """End the pause after a failed build: one succeeded (also one of no papers, which saves none)."""
    _failed_path().unlink(missing_ok=True)


def failed_build_at() -> float | None:
    """When (clock.wall) a builder last failed on this home, until a window is saved; None: none did."""
    try:
        return float(_failed_path().read_text()[:64])
    except (OSError, ValueError):  # none failed (or a stamp no float: taken as none)
        return None


def last_build_seconds() -> float | None:
    """How long the newest saved window's builder took to build one from nothing (its manifest's
    `seconds`), whether or not this version can use that window; None: no window says."""
    path = newest()
    if path is None:
        return None
    try:
        seconds = json.loads((path / "manifest.json").read_text()).get("seconds")
    except (OSError, ValueError, AttributeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) and seconds >= 0 else None


def newest() -> Path | None:
    """The newest complete window: a `.tmp` directory is one a builder is writing, or one a killed
    builder left (the next save removes it), never a window to read."""
    try:
        found = sorted(
            p
            for p in recs_dir().iterdir()
            if p.name.startswith(PREFIX) and ".tmp" not in p.name and p.is_dir()
        )
    except FileNotFoundError:
        return None
    return found[-1] if found else None


def _text(groups: list[tuple[str, ...]]) -> np.ndarray:
    blob = SEP_PAPER.join(SEP_ITEM.join(g) for g in groups).encode()
    return np.frombuffer(blob, dtype=np.uint8)


def _groups(arr: np.ndarray, n: int) -> list[tuple[str, ...]]:
    if n == 0:
        return []
    out = [tuple(s.split(SEP_ITEM)) if s else () for s in bytes(arr).decode().split(SEP_PAPER)]
    if len(out) != n:
        raise Unusable(f"{len(out)} text rows for {n} papers")
    return out


def _save_array(path: Path, arr: np.ndarray) -> tuple[int, list[int]]:
    """Write `arr` as .npy; its file's CRC-32 and stamp."""
    with path.open("wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return checksum(path), stamp(path)


def stamp(path: Path) -> list[int]:
    """The file's size and modification time (ns): what a write to it changes, read without reading
    it. Not what a bad disk changes: `verify(quick=True)` trusts it only where nothing is read."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def checksum(path: Path) -> int:
    """The file's CRC-32 (~1.3 GB/s here, with the GIL released: 0.1 s for the 90-day window at 75k
    papers, in a worker's warm-up). A file of the right size with wrong bytes (a bad disk, a copy cut
    off and padded, a hand edit) maps as well as a good one and would rank with its numbers."""
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return zlib.crc32(m)


def save(cands: Any, since: dt.date, seconds: float | None = None) -> Path:
    """Write `cands` (an index.Candidates) as the newest saved window; the caller holds builder_lock.
    `seconds`: how long building such a window from nothing takes (`last_build_seconds`)."""
    root = recs_dir()
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{PREFIX}*.tmp*"):  # a killed builder's (only the lock holder writes)
        shutil.rmtree(stale, ignore_errors=True)
    name = f"{PREFIX}{time.time_ns():020d}"
    tmp = root / f"{name}.tmp{os.getpid()}"
    tmp.mkdir()
    arrays: dict[str, np.ndarray] = {
        "ids": cands.ids.astype(np.int64),
        "days": cands.days.astype("datetime64[D]"),
        "df": cands.idf.df,
        "categories": _text(cands.categories),
        "authors": _text(cands.authors),
    }
    for label in MATRICES:
        m: sp.csr_matrix = getattr(cands, label).tocsr()
        m.sort_indices()  # readers' scipy would sort in place, which a read-only map cannot take
        index = np.int32 if m.nnz < 2**31 else np.int64  # one dtype for both, or scipy copies to match
        arrays[f"{label}.data"], arrays[f"{label}.indices"], arrays[f"{label}.indptr"] = (
            m.data.astype(np.float32),
            m.indices.astype(index),
            m.indptr.astype(index),
        )
    written = {key: _save_array(tmp / f"{key}.npy", arr) for key, arr in arrays.items()}
    manifest = {
        "format": FORMAT,
        "settings": settings_key(),
        "change": PaperChange.objects.mark(cands.watermark),
        "since": since.isoformat(),
        "papers": len(cands.ids),
        "n_docs": cands.idf.n_docs,
        "arrays": {k: list(a.shape) for k, a in arrays.items()},
        "crc32": {key: crc for key, (crc, _) in written.items()},
        "stamps": {key: st for key, (_, st) in written.items()},  # the rename keeps them
        "seconds": seconds,
    }
    with (tmp / "manifest.json").open("w") as f:
        json.dump(manifest, f)
        f.flush()
        os.fsync(f.fileno())
    failpoint("recs.window.before_rename")  # every file written, none of it a window yet
    final = root / name
    tmp.rename(final)
    fd = os.open(root, os.O_RDONLY)  # the rename itself survives a crash
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for old in root.glob(f"{PREFIX}*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    clear_failed_build()  # a build that succeeds ends the pause after one that failed
    return final


def verify(path: Path | None = None, *, quick: bool = False) -> tuple[Path, dict[str, Any]]:
    """The saved window and its manifest if fit for this version and database, its files checked
    against the manifest's CRC-32s; Unusable says why not. `quick`: a file whose size and mtime are
    those it was saved with is not read (reading them all is 0.14 s at 90 days, 0.4-0.6 s for the
    whole 75k snapshot: bench/README.md), for a look that reads none of the data (is the window
    current?). What is read to rank or to carry into the next window is checked in full (load): a
    byte flipped in place by a bad disk keeps the stamp."""
    path = path or newest()
    if path is None:
        raise Unusable("no saved window")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise Unusable(f"{path.name}: manifest unreadable ({e})") from e
    manifest["path"] = path.name
    if manifest.get("format") != FORMAT:
        raise Unusable(f"{path.name}: format {manifest.get('format')}, this version reads {FORMAT}")
    if manifest.get("settings") != settings_key():
        raise Unusable(f"{path.name}: saved with other hashing, idf or window settings")
    mark = manifest["change"]
    if not PaperChange.objects.holds(mark):
        raise Unusable(f"{path.name}: change {mark['id']} is not this database's (restored or another one)")
    stamps = manifest.get("stamps", {}) if quick else {}  # a window saved before stamps: every file read
    for key in manifest["arrays"]:
        file = path / f"{key}.npy"
        try:
            if key in stamps and stamp(file) == stamps[key]:
                continue
            if checksum(file) != manifest["crc32"][key]:
                raise Unusable(f"{path.name}: {file.name}: checksum mismatch (corrupt)")
        except (OSError, KeyError, TypeError) as e:  # missing, or a manifest without its sum
            raise Unusable(f"{path.name}: {file.name}: {e}") from e
    return path, manifest


def load(path: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The saved window's manifest and its arrays mapped read-only, every file checked (verify);
    Unusable says why it cannot be used."""
    path, manifest = verify(path)
    arrays: dict[str, Any] = {}
    for key, shape in manifest["arrays"].items():
        file = path / f"{key}.npy"
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False) if np.prod(shape) else np.load(file)
        except (OSError, ValueError, KeyError, TypeError) as e:  # a truncated file does not map
            raise Unusable(f"{path.name}: {file.name}: {e}") from e
        if list(arr.shape) != shape:
            raise Unusable(f"{path.name}: {file.name} has shape {list(arr.shape)}, manifest says {shape}")
        arrays[key] = arr
    n = int(manifest["papers"])
    if len(arrays["ids"]) != n or len(arrays["days"]) != n:
        raise Unusable(f"{path.name}: {len(arrays['ids'])} ids for {n} papers")
    arrays["categories"] = _groups(arrays["categories"], n)
    arrays["authors"] = _groups(arrays["authors"], n)
    for label in MATRICES:
        arrays[label] = sp.csr_matrix(
            (arrays.pop(f"{label}.data"), arrays.pop(f"{label}.indices"), arrays.pop(f"{label}.indptr")),
            shape=(model.N_FEATURES, n) if label == "by_term" else (n, model.N_FEATURES),
            copy=False,
        )
        arrays[label].has_sorted_indices = True
    return manifest, arrays
