"""Real processes for the reliability tests: `paperfeed serve` and `paperfeed worker` children, a
throw-away PostgreSQL cluster, a throw-away Redis, and a small HTTP client that can speak from any
loopback address (127.0.0.0/8 all routes to lo, so each address is a different client IP)."""

from __future__ import annotations

import contextlib
import os
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

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float, what: str, poll: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"gave up waiting for {what}")


def spawn(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`paperfeed ARGS` as a child in its own process group, output into `log` (a file, not a pipe:
    a pipe nobody reads would block a chatty child)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "paperfeed", *args],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
    """`paperfeed serve` (gunicorn) on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = spawn(
            "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            env=env, log=log,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> Server:
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
    """A PostgreSQL cluster of its own in `root`, on a free loopback port, trust auth; run as the
    `postgres` system user when the tests run as root (initdb refuses root)."""

    def __init__(self, root: Path) -> None:
        bindir = pg_bin()
        assert bindir is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
        self.bin, self.root, self.port = bindir, root, free_port()
        self.data = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        conf = self.data / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{root}'\n"
                "fsync = off\nmax_connections = 60\nshared_buffers = 32MB\n"
            )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

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
        self.pg_ctl("start")

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
    """A Redis of its own on a free loopback port (no persistence); yields its URL."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed"
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    try:
        wait_until(up, 20, "redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
