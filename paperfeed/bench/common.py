"""Helpers the benchmarks share: the real data's location, fresh homes and databases, child runs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.core.activate import activated, listening_socket

SHARED_DATA = Path(
    os.environ.get("PAPERFEED_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")
)
SNAPSHOT = SHARED_DATA / "arxiv_metadata" / "arxiv_cs_daily_2025-03_2026-07.kaggle.jsonl.gz"
PG_ADMIN_URL = os.environ.get("PAPERFEED_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def postgres_database(prefix: str = "pfbench") -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_env(database: str) -> Iterator[dict[str, str]]:
    """Environment for a child `paperfeed` with its own home and (for postgres) its own database."""
    with tempfile.TemporaryDirectory(prefix="pfbench-") as home:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["PAPERFEED_HOME"] = home
        if database == "postgres":
            with postgres_database() as url:
                env["DATABASE_URL"] = url
                yield env
        else:
            yield env


@contextlib.contextmanager
def kept_env(database: str, home: Path | None) -> Iterator[dict[str, str]]:
    """`fresh_env`, or with `home` a home (and database) that outlives the run: a later run with the
    same home finds what the first built (`home/bench.json` says what that is), so a large build is
    paid once and its queries can be measured again when the machine is quiet. Remove the home and
    drop the database named in bench.json to start over."""
    if home is None:
        with fresh_env(database) as env:
            yield env
        return
    home.mkdir(parents=True, exist_ok=True)
    meta_path = home / "bench.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PAPERFEED_HOME"] = str(home)
    if database == "postgres":
        if "database_url" not in meta:
            import psycopg

            name = f"pfkeep_{uuid.uuid4().hex[:10]}"
            admin = PG_ADMIN_URL.replace("postgres://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            meta["database_url"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        env["DATABASE_URL"] = meta["database_url"]
    meta["database"] = database
    meta_path.write_text(json.dumps(meta))
    yield env


def kept_meta(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env["PAPERFEED_HOME"]) / "bench.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def kept_update(env: dict[str, str], **changes: Any) -> None:
    """Record what a kept home now holds (no-op for a fresh one, which is thrown away)."""
    path = Path(env["PAPERFEED_HOME"]) / "bench.json"
    if path.exists():
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def spread_ms(ms: Sequence[float] | np.ndarray, digits: int) -> dict[str, float]:
    """The p50, p95 and mean of a run's times (ms), as every latency figure of the benches gives them."""
    a = np.asarray(ms, dtype=float)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), digits),
        "p95_ms": round(float(np.percentile(a, 95)), digits),
        "mean_ms": round(float(a.mean()), digits),
    }


def shell_json(script: str, env: dict[str, str]) -> Any:
    """Run a Python `script` in `paperfeed shell` (the site's settings and models); return the JSON
    document it prints last."""
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", "shell", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def paperfeed(
    args: list[str], env: dict[str, str], timeout: float = 3600
) -> tuple[dict[str, Any] | None, float]:
    """Run `paperfeed ARGS` in a child; return (its --json output or None, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"paperfeed {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    out = proc.stdout.strip().splitlines()
    return (json.loads(out[-1]) if out and "--json" in args else None), seconds


def peak_rss_children_mb() -> float:
    """Peak resident memory of the largest child waited for so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child_json(args: Sequence[str], env: dict[str, str], what: str) -> dict[str, Any]:
    """Run a Python child (`python ARGS`) with Django's settings; the JSON document it prints last."""
    proc = subprocess.run(
        [sys.executable, *args],
        env={**env, "DJANGO_SETTINGS_MODULE": "paperfeed.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def serve(
    env: dict[str, str],
    workers: int,
    *,
    prefix: Sequence[str] = (),
    wait_s: float = 120,
    wait_warm_ups: bool = True,
) -> Iterator[str]:
    """`paperfeed serve` (gunicorn master and workers; `prefix` e.g. pins it with taskset) on a free
    loopback port, logging to $PAPERFEED_HOME/serve.log; yields its base URL once /healthz answers
    and every worker has logged the end of its warm-up (when PAPERFEED_WARM_UP is on): a warm-up
    still running holds its worker's requests, which a measurement would count as timeouts (at 2.6M
    papers, 16 of the first /healthz run's connections)."""
    log_path = Path(env["PAPERFEED_HOME"]) / "serve.log"
    log_path.touch()
    log_start = log_path.stat().st_size
    log = open(log_path, "a")  # noqa: SIM115 - closed below
    # Served on a socket bound here (socket activation): a port picked free and closed again could
    # be taken by another process's connection before gunicorn bound it.
    with listening_socket() as listener:
        port = int(listener.getsockname()[1])
        cmd = [sys.executable, "-m", "paperfeed", "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(
            activated(listener, [*prefix, *cmd, "--workers", str(workers)]),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(listener.fileno(),),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"paperfeed serve exited {proc.returncode}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310  # nosec B310 (loopback)
                break
            if time.monotonic() > deadline:
                raise RuntimeError("paperfeed serve did not come up")
            time.sleep(0.5)
        if wait_warm_ups and env.get("PAPERFEED_WARM_UP", "1") == "1":
            wait_for_warm_ups(log_path, log_start, workers, deadline)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_for_warm_ups(log_path: Path, start: int, workers: int, deadline: float) -> int:
    """Wait until `workers` warm-ups are logged or `deadline` (time.monotonic) passes; returns how
    many were. Measuring goes on either way, but a short count is said out loud: the first requests
    would then include a warm-up, and a silent wait to the deadline once hid a dropped log line."""
    while (done := _warmed_up(log_path, start)) < workers and time.monotonic() < deadline:
        time.sleep(0.5)
    if done < workers:
        logger.warning(
            "%d of %d workers logged their warm-up by the deadline; measuring anyway (see %s)",
            done,
            workers,
            log_path,
        )
    return done


def _warmed_up(log_path: Path, start: int) -> int:
    """How many workers have logged the end of their warm-up since `start` (paperfeed.core.warmup)."""
    with log_path.open("rb") as f:
        f.seek(start)
        return f.read().count(b"warmed up:")


def wrk_binary() -> str:
    """wrk (Debian's); installed on first use where apt-get can (scripts/ensure-services does it too)."""
    found = shutil.which("wrk")
    if not found:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True, check=False)
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is missing and `apt-get install -y wrk` failed")
    return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return round(float(m[1]) * _UNITS[m[2]], 3)


def parse_wrk(out: str) -> dict[str, Any]:
    """wrk's --latency report: req/s, p50/p99 (ms), requests, non-2xx (wrk counts status >= 400 as
    "Non-2xx or 3xx"), socket errors."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise ValueError(f"not a wrk report: {out[-500:]!r}")
    pct = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(total[1]),
        "requests_per_s": round(float(rps[1]), 1),
        "p50_ms": pct.get("50"),
        "p99_ms": pct.get("99"),
        "non_2xx": int(non2xx[1]) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }
