"""Real processes for the reliability tests: `paperfeed serve` and `paperfeed worker` children, a
throw-away PostgreSQL cluster, a throw-away Redis, and a small HTTP client that can speak from any
loopback address (127.0.0.0/8 all routes to lo, so each address is a different client IP)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import httpx

from paperfeed.core.activate import activated, listening_socket
from tests.deadline import seconds_left

REPO = Path(__file__).resolve().parents[2]


def quiet_port() -> int:
    """A free loopback port for a server that binds it itself (PostgreSQL, Redis), below the
    kernel's range of ephemeral ports: the outgoing connections of every process on the machine
    take their local ports from that range, so one of them could take a port of it while the
    server starts or restarts; below it only another explicit bind can, and the caller retries."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(10_000, low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free loopback port between 10000 and {low}")


def wait_until(predicate, timeout: float | None, what: str, poll: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """`timeout` None: as long as the running test's own timeout allows (tests/deadline.py), for
    waits on children that only a loaded machine makes slow; a number only where the wait bounds
    what is tested."""
    deadline = time.monotonic() + (seconds_left() if timeout is None else timeout)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"gave up waiting for {what}")


def spawn(
    *args: str, env: dict[str, str], log: Path, listener: socket.socket | None = None
) -> subprocess.Popen[bytes]:
    """`paperfeed ARGS` as a child in its own process group, output into `log` (a file, not a pipe:
    a pipe nobody reads would block a chatty child). `listener`: handed to the child as systemd's
    socket activation does (paperfeed/core/activate.py), for gunicorn to serve on."""
    cmd = [sys.executable, "-m", "paperfeed", *args]
    fds: tuple[int, ...] = ()
    if listener is not None:
        fds = (listener.fileno(),)
        cmd = activated(listener, cmd)
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=fds,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    return proc.returncode


class Server:
    """`paperfeed serve` (gunicorn) on a loopback port that is its own from the start: it serves on
    a socket bound here, so no other process can take the port, and nothing else answers on it."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        # This copy closes once the child holds its own: the port is open exactly while gunicorn is.
        with listening_socket() as listener:
            self.port = int(listener.getsockname()[1])
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = log
            self.proc = spawn(
                "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                env=env, log=log, listener=listener,
            )  # fmt: skip

    def wait_ready(self, timeout: float | None = None) -> Server:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        wait_until(up, timeout, "the server to answer")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        ps = ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)]
        out = subprocess.run(ps, capture_output=True, text=True, check=False)
        return [self.proc.pid, *(int(p) for p in out.stdout.split())]

    def stop(self) -> int:
        return stop(self.proc)


def client(source: str = "127.0.0.1", **kwargs: object) -> httpx.Client:
    """An HTTP client whose requests come from `source` (any 127.x.y.z address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), **kwargs)  # type: ignore[arg-type]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pg_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PgCluster:
    """A PostgreSQL cluster of its own in `root`, on a quiet loopback port, trust auth; run as the
    `postgres` system user when the tests run as root (initdb refuses root)."""

    def __init__(self, root: Path) -> None:
        bindir = pg_bin()
        assert bindir is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
        self.bin, self.root = bindir, root
        self.data = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self._conf = (self.data / "postgresql.conf").read_text() + (
            f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            "fsync = off\nmax_connections = 60\nshared_buffers = 32MB\n"
        )
        self._use_port(quiet_port())
        self.started = False

    def _use_port(self, port: int) -> None:
        self.port = port
        (self.data / "postgresql.conf").write_text(f"{self._conf}port = {port}\n")
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"{tool} failed: {proc.stdout}\n{proc.stderr}")

    def pg_ctl(self, action: str) -> None:
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-m", "fast", action)

    def start(self) -> None:
        """Start; the first time on another port while the chosen one turns out taken (a process
        may bind it between quiet_port() and the server). Later starts keep the port: clients
        have the URL by then, and nothing takes a quiet port in a moment's downtime but a bind."""
        log = self.root / "server.log"
        for _ in range(5):
            seen = log.stat().st_size if log.exists() else 0
            try:
                self.pg_ctl("start")
            except AssertionError:
                with log.open("rb") as f:
                    f.seek(seen)
                    taken = b"Address already in use" in f.read()
                if self.started or not taken:
                    raise
                self._use_port(quiet_port())
            else:
                self.started = True
                return
        raise AssertionError(f"PostgreSQL found no free port to listen on:\n{log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.pg_ctl("stop")

    def restart(self) -> None:
        self.pg_ctl("restart")


@contextlib.contextmanager
def pg_cluster(root: Path) -> Iterator[PgCluster]:
    cluster = PgCluster(root)
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(AssertionError):
            cluster.stop()


@contextlib.contextmanager
def redis_server(root: Path) -> Iterator[str]:
    """A Redis of its own on a quiet loopback port (no persistence); yields its URL. Only this Redis
    counts as up (its process id answers): on a taken port another one might answer, while ours
    exits and is started again on another port."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed"
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        port = quiet_port()
        with (root / "redis.log").open("ab") as log:
            proc = subprocess.Popen(
                [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: _redis_answers(proc, port), None, "redis")  # noqa: B023 (called in the loop)
        except _Exited:
            continue
        break
    else:
        raise AssertionError(f"redis found no free port:\n{(root / 'redis.log').read_text()[-2000:]}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class _Exited(Exception):
    pass


def _redis_answers(proc: subprocess.Popen[bytes], port: int) -> bool:
    import redis

    if proc.poll() is not None:
        raise _Exited
    try:
        with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as r:
            return int(r.info("server")["process_id"]) == proc.pid
    except redis.RedisError:
        return False


def tool(*args: str, env: dict[str, str], module: str = "tests.reliability.tool") -> str:
    """Run a helper module of these tests in a child process on `env`'s database; its stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**env, "DJANGO_SETTINGS_MODULE": "paperfeed.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A child's environment: its own PAPERFEED_HOME, a fixed key, SQLite unless DATABASE_URL given."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["PAPERFEED_HOME"] = str(home)
    env["PAPERFEED_SECRET_KEY"] = "reliability-test-key-" + "z" * 40
    env.update(extra)
    return env
