"""The one way this program talks to arXiv: politely, as its terms of use ask.

- One request every PAPERFEED_ARXIV_DELAY seconds (3 by default) over OAI-PMH, the API and the
  announcement feed together, and across processes: a lock file under PAPERFEED_HOME holds the time
  the next request may start, and is held (fcntl) for the whole request, so there is one connection
  at a time however many harvesters run on this machine.
- A whole request (connect to last byte) is abandoned after PAPERFEED_HTTP_TIMEOUT seconds (≤ 60), so
  a server trickling a byte a second cannot hold a harvest forever; bodies are capped in size.
- 503 and 429 wait for Retry-After (seconds or an HTTP date), clamped to [3 s, 1 h]; without one,
  exponential backoff from 3 s capped at 10 min; network errors and other 5xx back off the same way.
  After PAPERFEED_HTTP_RETRIES consecutive failures the request fails with `ArxivUnavailable`.
- `keep` (a lease heartbeat's `working`) is entered around each wait and request with the longest it
  may take: a harvest waiting out an hour's Retry-After keeps its lease, one stuck past that does not.
- `get_parsed`: a 2xx answer that does not parse (a proxy's HTML page, a body cut short) is asked for
  again the same way, logged, after the same backoff, UNREADABLE_ATTEMPTS times in all, for every
  source (OAI-PMH pages, API answers, the announcement feed).

Every sleep goes through paperfeed.core.clock, so tests run the same code in scaled time.
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from django.conf import settings

from paperfeed.conf import env_float
from paperfeed.core import clock
from paperfeed.papers.sources.xml import MalformedXML

log = logging.getLogger(__name__)
# One line per request from httpx would drown the harvest's own progress lines.
logging.getLogger("httpx").setLevel(logging.WARNING)

MIN_RETRY_AFTER = 3.0
MAX_RETRY_AFTER = 3600.0
MAX_BACKOFF = 600.0
MAX_TIMEOUT = 60.0
MIN_REAL_TIMEOUT = 5.0  # seconds of real time, whatever PAPERFEED_TIME_SCALE says (tests speed the clock up)
UNREADABLE_ATTEMPTS = 3  # an answer that does not parse is asked for this many times in all
MAX_BODY = 256 * 1024 * 1024  # arXiv's largest OAI page is a few MB; anything near this is not a page
USER_AGENT = "paperfeed/0.1 (self-hosted paper feed; polite harvester)"

T = TypeVar("T")
# Entered around one bounded wait or request, with the (scaled) seconds it may take at most.
Keep = Callable[[float], AbstractContextManager[None]]


def _no_keep(seconds: float) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


class ArxivError(Exception):
    """Anything that stops a request to arXiv from giving a usable answer."""


class ArxivUnavailable(ArxivError):
    """arXiv (or the network) failed every attempt. `retry_after`: the seconds arXiv's last 429 or 503
    of the request asked for in its Retry-After, unclamped, for whoever must tell its own client
    when to come back (a submission's 503); None when it gave none, or one that does not read."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ArxivConnectError(ArxivError):
    """No connection at all: DNS failure, connection refused (offline, or a wrong URL)."""


class ArxivBadURL(ArxivError):
    """A URL no request can be made to (no http:// or https://, no host): retrying would not help."""


class ArxivHTTPError(ArxivError):
    """A definite HTTP error (4xx other than 429): retrying would not help."""

    def __init__(self, status: int, body: bytes, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status, self.body, self.url = status, body, url


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, clamped to [3 s, 1 h]; None when there is no usable header."""
    if value is None:
        return None
    seconds = asked_retry_after(value, now)
    if seconds is None:
        return MIN_RETRY_AFTER  # present but unreadable ("abc"): the server did ask for a pause
    return min(max(seconds, MIN_RETRY_AFTER), MAX_RETRY_AFTER)


def asked_retry_after(value: str | None, now: float | None = None) -> float | None:
    """The seconds a Retry-After (seconds or an HTTP date) asks for, as the server wrote them
    (negative for a date past); None when there is none or it does not read."""
    if value is None:
        return None
    value = value.strip()
    try:
        return float(int(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP dates are wall-clock: compare with the real time, not the scaled clock.
    import time as _time

    return when.timestamp() - (now if now is not None else _time.time())


def backoff(attempt: int) -> float:
    """Wait before retry `attempt` (1-based) when the server named no time: 3, 6, 12 … 600 s."""
    return min(MIN_RETRY_AFTER * 2 ** (attempt - 1), MAX_BACKOFF)


def _home() -> Path:
    home = Path(settings.HOME)
    home.mkdir(parents=True, exist_ok=True)
    return home


class Limiter:
    """The shared request slot: a lock file whose content is the (scaled) time the next request may
    start. Holding the slot means holding the file's exclusive lock."""

    def __init__(self, path: Path | None = None, delay: float | None = None) -> None:
        self.path = path or _home() / "arxiv.lock"
        self.delay = env_float("PAPERFEED_ARXIV_DELAY") if delay is None else delay

    def longest_wait(self) -> float:
        """The longest a slot may be waited for once its lock is held (see _next)."""
        return self.delay + MAX_RETRY_AFTER

    @contextlib.contextmanager
    def slot(self, request: float = 0.0, keep: Keep = _no_keep) -> Iterator[None]:
        """Hold the slot for one request that takes at most `request` (scaled) seconds; `keep`
        is entered around the wait for the lock, and around the wait for the slot and the request."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # Another process on this machine holds the lock through one wait and request of its own.
            with keep(self.longest_wait() + request):
                fcntl.flock(fd, fcntl.LOCK_EX)
            wait = max(self._next(fd) - clock.wall(), 0.0)
            with keep(wait + request):
                if wait > 0:
                    clock.sleep(wait)
                try:
                    yield
                finally:
                    # Counted from the end of the request, so the gap between two request starts is
                    # the delay plus the first one's duration: at least the delay, from anywhere.
                    self._write(fd, {"next": max(self._next(fd), clock.wall() + self.delay)})
        finally:
            os.close(fd)  # releases the lock

    def defer(self, seconds: float) -> None:
        """No request from any process before `seconds` from now (a Retry-After)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._write(fd, {"next": max(self._next(fd), clock.wall() + seconds)})
        finally:
            os.close(fd)

    def _next(self, fd: int) -> float:
        """When the next request may start. A stamp further off than any wait we could have asked
        for was written under another time scale (tests) or clock: it is ignored, not slept on."""
        value = self._read(fd).get("next", 0.0)
        if not isinstance(value, int | float) or value - clock.wall() > self.delay + MAX_RETRY_AFTER:
            return 0.0
        return float(value)

    @staticmethod
    def _read(fd: int) -> dict[str, float]:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _write(fd: int, state: dict[str, float]) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(state).encode())


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]
    url: str


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class ArxivClient:
    """GET with arXiv's manners. `get()` returns a 2xx response or raises an ArxivError."""

    def __init__(
        self,
        limiter: Limiter | None = None,
        *,
        timeout: float | None = None,
        attempts: int | None = None,
        keep: Keep = _no_keep,
    ) -> None:
        self.limiter = limiter or Limiter()
        self.keep = keep
        self.timeout = min(timeout or env_float("PAPERFEED_HTTP_TIMEOUT"), MAX_TIMEOUT)
        self.attempts = max(int(attempts or env_float("PAPERFEED_HTTP_RETRIES")), 1)
        self.stats = Stats()
        self._client: httpx.Client | None = None

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        failures = 0
        asked: float | None = None  # the last 429's or 503's Retry-After, for ArxivUnavailable
        while True:
            wait: float | None = None
            try:
                resp = self._once(url, params)
            except ArxivBadURL:
                raise
            except ArxivError as e:
                reason = str(e)
                if isinstance(e, ArxivConnectError) and not self.stats.statuses and failures + 1 >= 2:
                    # Never reached arXiv at all in this run: most likely offline; do not spend
                    # minutes backing off before saying so.
                    raise ArxivUnavailable(
                        f"gave up after {failures + 1} failed attempts: cannot connect (offline?): {e}"
                    ) from None
            else:
                self.stats.statuses[resp.status] = self.stats.statuses.get(resp.status, 0) + 1
                if 200 <= resp.status < 300:
                    return resp
                if resp.status in (429, 503):
                    wait = parse_retry_after(resp.headers.get("retry-after"))
                    asked = asked_retry_after(resp.headers.get("retry-after"))
                    reason = f"HTTP {resp.status}"
                elif resp.status >= 500:
                    reason = f"HTTP {resp.status}"
                else:
                    raise ArxivHTTPError(resp.status, resp.body, resp.url)
            failures += 1
            if failures >= self.attempts:
                raise ArxivUnavailable(
                    f"{url}: gave up after {failures} failed attempts (last: {reason})", retry_after=asked
                )
            pause = wait if wait is not None else backoff(failures)
            log.warning("arXiv request failed (%s); retrying in %.0f s", reason, pause)
            self.stats.retries += 1
            self.limiter.defer(pause)

    def get_parsed(self, url: str, parse: Callable[[bytes], T], params: dict[str, str] | None = None) -> T:
        """`parse` of a 2xx answer. One that does not parse (MalformedXML) is asked for again after a
        logged backoff, as a 5xx is: what a proxy or a cut connection garbles is usually whole the
        next time. ArxivError after UNREADABLE_ATTEMPTS; anything else `parse` raises passes."""
        for attempt in range(1, UNREADABLE_ATTEMPTS + 1):
            resp = self.get(url, params)
            try:
                return parse(resp.body)
            except MalformedXML as e:
                if attempt == UNREADABLE_ATTEMPTS:
                    raise ArxivError(f"{e} (after {attempt} attempts)") from None
                log.warning("unreadable answer from arXiv (%s); retrying in %.0f s", e, backoff(attempt))
                self.stats.retries += 1
                self.limiter.defer(backoff(attempt))
        raise AssertionError("unreachable")

    def _phase_timeout(self) -> float:
        """Real seconds each phase of a request (connect, one read) may take. They need not be
        scaled down with the clock (a busy test machine would trip them); the overall deadline
        (_once) is checked on the scaled clock."""
        return max(self.timeout / clock.scale(), min(self.timeout, MIN_REAL_TIMEOUT))

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self._phase_timeout()),
                # One connection, closed after each answer: nothing stays open between requests.
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=True,
                max_redirects=3,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _once(self, url: str, params: dict[str, str] | None) -> Response:
        # The overall deadline runs on the scaled clock, but never below MIN_REAL_TIMEOUT of real
        # time: a sped-up clock must not make a loaded machine's ordinary page a "stalled" one.
        deadline = max(self.timeout, min(self.timeout, MIN_REAL_TIMEOUT) * clock.scale())
        # It is checked as bytes arrive: a read that stalls ends at the phase timeout after it.
        longest = deadline + self._phase_timeout() * clock.scale()
        with self.limiter.slot(longest, self.keep):
            self.stats.requests += 1
            started = clock.monotonic()
            try:
                with self._http().stream("GET", url, params=params) as resp:
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_BODY:
                            raise ArxivError(f"{url}: response larger than {MAX_BODY} bytes")
                        if clock.monotonic() - started > deadline:
                            raise ArxivError(f"{url}: no complete answer within {self.timeout:.0f} s")
                    return Response(
                        resp.status_code,
                        b"".join(chunks),
                        {k.lower(): v for k, v in resp.headers.items()},
                        str(resp.url),
                    )
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
                raise ArxivBadURL(f"{url}: not a usable URL ({e})") from None
            except httpx.ConnectError as e:
                raise ArxivConnectError(f"{url}: {type(e).__name__}: {e or 'no answer'}") from None
            except httpx.HTTPError as e:
                # DNS failure, refused or reset connection, timeout, corrupt gzip … (a gzip stream cut
                # short decodes without error to a partial body: the page parser refuses that).
                raise ArxivError(f"{url}: {type(e).__name__}: {e or 'no answer'}") from None
