"""A small closed-loop load generator: N threads, each cycling through its own client addresses
and a list of paths, logging every request (when sent, how long, what status, body start)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from tests.reliability.support import client


@dataclass(frozen=True)
class Sample:
    sent: float  # time.monotonic()
    took: float
    path: str
    status: int  # 0: no HTTP answer (connection error or timeout)
    body: str
    retry_after: str | None


class Load:
    def __init__(self, base: str, paths: list[str], threads: int = 4, ips_per_thread: int = 4) -> None:
        self.base, self.paths = base, paths
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # 127.0.9.x: addresses of their own, so per-IP limits of other tests never mix with these.
        self._threads = [
            threading.Thread(
                target=self._run,
                args=([f"127.0.9.{t * ips_per_thread + i + 1}" for i in range(ips_per_thread)],),
            )
            for t in range(threads)
        ]

    def _run(self, ips: list[str]) -> None:
        clients = [client(ip, timeout=40) for ip in ips]
        n = 0
        try:
            while not self._stop.is_set():
                c, path = clients[n % len(clients)], self.paths[n % len(self.paths)]
                n += 1
                t0 = time.monotonic()
                try:
                    r = c.get(self.base + path)
                    status, body, ra = r.status_code, r.text[:500], r.headers.get("Retry-After")
                except httpx.HTTPError as e:
                    status, body, ra = 0, repr(e), None
                with self._lock:
                    self.samples.append(Sample(t0, time.monotonic() - t0, path, status, body, ra))
        finally:
            for c in clients:
                c.close()

    def start(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        return sorted(self.samples, key=lambda s: s.sent)
