"""Web processes keep no state of their own (issue 7): two `paperfeed serve` processes on one
database share a login session and the rate-limit counters, with the counters in the database
(default) or in Redis (PAPERFEED_CACHE_URL), so any number can run behind a load balancer."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.support import Server, client, redis_server, tool
from tests.sitedata import PASSWORD

pytestmark = [pytest.mark.database, pytest.mark.slow]


@contextlib.contextmanager
def _store(kind: str, root: Path) -> Iterator[str | None]:
    if kind == "redis":
        with redis_server(root) as url:
            yield url
    else:
        yield None


def _csrf(c: httpx.Client, url: str) -> str:
    page = c.get(url)
    assert page.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def _login(c: httpx.Client, base: str, username: str, password: str) -> httpx.Response:
    token = _csrf(c, f"{base}/login")
    return c.post(
        f"{base}/login", data={"csrfmiddlewaretoken": token, "username": username, "password": password}
    )


# S13: two server children (and Redis in one form): ~30 s on a loaded machine.
@pytest.mark.migrated
@pytest.mark.timeout(300)
@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_web_processes_share_sessions_and_rate_limits(
    cli_env: dict[str, str], tmp_path: Path, store: str
) -> None:
    with _store(store, tmp_path / "redis") as cache_url:
        env = {**cli_env, "PAPERFEED_LOG_LEVEL": "WARNING"}
        if cache_url:
            env["PAPERFEED_CACHE_URL"] = cache_url
        tool("user", "alice", PASSWORD, env=env)
        a = Server(env, tmp_path / "a.log", workers=1)
        b = Server(env, tmp_path / "b.log", workers=1)
        try:
            a.wait_ready(), b.wait_ready()
            # One browser (one cookie jar: cookies ignore the port), two web processes.
            with client("127.0.8.1", follow_redirects=False, timeout=30) as c:
                assert _login(c, a.url, "alice", PASSWORD).status_code == 302
                assert c.get(f"{b.url}/settings").status_code == 200  # logged in on B too
                token = _csrf(c, f"{b.url}/settings")
                assert c.post(f"{b.url}/logout", data={"csrfmiddlewaretoken": token}).status_code == 302
                assert c.get(f"{a.url}/settings").status_code == 302  # logged out on A too

            # Failed logins counted together: 10 per 5 min per account and address, spread
            # over both processes; the 11th is refused whichever process gets it.
            with client("127.0.8.2", follow_redirects=False, timeout=30) as c:
                codes = [
                    _login(c, (a, b)[i % 2].url, "alice", "not the password at all").status_code
                    for i in range(11)
                ]
                assert codes == [200] * 10 + [429], codes
                refused = _login(c, a.url, "alice", PASSWORD)  # even the right password, for now
                assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        finally:
            a.stop(), b.stop()
        if cache_url:
            import redis

            assert redis.Redis.from_url(cache_url).keys("*rl:login*")  # the counters lived in Redis
