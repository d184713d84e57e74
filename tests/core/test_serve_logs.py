"""`paperfeed serve`'s output: gunicorn's lines in paperfeed's log format, an access log that can be
turned off and leaves out healthy health checks, a control socket of its own, and a start-up record
that says what each address is."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from paperfeed.core.management.commands.serve import control_socket, serving_line
from tests.reliability.support import Server, wait_until

pytestmark = [pytest.mark.database]


def test_serving_line_names_what_each_address_is() -> None:
    assert serving_line("127.0.0.1", 8125, "http://127.0.0.1:8125") == "serving http://127.0.0.1:8125/"
    assert serving_line("127.0.0.1", 8125, "http://127.0.0.1:8123") == (
        "listening on http://127.0.0.1:8125/; links in mail and feeds use http://127.0.0.1:8123"
        " (PAPERFEED_BASE_URL)"
    )
    assert serving_line("::1", 8000, "http://[::1]:8000") == "serving http://[::1]:8000/"


def test_control_socket_is_per_home_and_port(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.HOME = tmp_path
    assert control_socket(8000) == tmp_path / "gunicorn-8000.ctl"
    assert control_socket(8001) != control_socket(8000)
    settings.HOME = tmp_path / ("x" * 120)  # longer than a Unix socket path may be
    assert control_socket(8000) is None


@pytest.mark.migrated
@pytest.mark.timeout(180)  # two real servers: ~10 s idle
def test_serve_logs_json_with_an_access_log(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env.items() if k != "PAPERFEED_BASE_URL"}
    env |= {"PAPERFEED_WARM_UP": "0", "PAPERFEED_LOG_FORMAT": "json"}
    home = Path(env["PAPERFEED_HOME"])
    server = Server(env, tmp_path / "json.log", workers=1).wait_ready()
    try:
        # gunicorn opens its control socket from a thread after the first worker is serving
        wait_until((home / f"gunicorn-{server.port}.ctl").exists, None, "the control socket")
        assert httpx.get(f"{server.url}/search", params={"q": "private words"}, timeout=30).status_code == 200
    finally:
        server.stop()
    docs = [json.loads(line) for line in server.output().splitlines() if line.strip()]  # every line
    # The start line is a record like the others: it was a bare line, the one line that was not JSON.
    assert docs[0]["logger"] == "paperfeed.core.management.commands.serve" and docs[0]["level"] == "INFO"
    assert docs[0]["message"] == f"serving {server.url}/" and docs[0]["bind"] == f"127.0.0.1:{server.port}"
    assert any(d["logger"] == "gunicorn.error" and "Listening at" in d["message"] for d in docs)
    (search,) = [d for d in docs if d["logger"] == "gunicorn.access" and d["path"] == "/search"]
    assert search["method"] == "GET" and search["status"] == 200
    assert search["bytes"] > 0 and search["duration_ms"] >= 0
    assert "private" not in json.dumps(search)  # the query string is not logged
    assert datetime.fromisoformat(search["time"]).tzinfo is not None

    server = Server(env | {"PAPERFEED_ACCESS_LOG": "0"}, tmp_path / "quiet.log", workers=1).wait_ready()
    try:
        httpx.get(f"{server.url}/search", params={"q": "graphs"}, timeout=30)
    finally:
        server.stop()
    docs = [json.loads(line) for line in server.output().splitlines() if line.strip()]
    assert docs and not [d for d in docs if d["logger"] == "gunicorn.access"]


@pytest.mark.migrated
# The database's kind changes nothing here, and SQLite's file is simply taken away (a connection per
# request): runs on SQLite only.
@pytest.mark.database_agnostic
@pytest.mark.timeout(180)  # one real server: ~5 s idle
def test_a_healthy_healthz_is_not_in_the_access_log_and_an_unhealthy_one_is(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Load balancers poll /healthz every few seconds: a line each drowned the access log. An
    answer that is not "ok" is what an operator looks there for, so it stays."""
    env = cli_env | {"PAPERFEED_WARM_UP": "0", "PAPERFEED_LOG_FORMAT": "json"}
    server = Server(env, tmp_path / "serve.log", workers=1).wait_ready()  # polls /healthz itself
    database = Path(env["PAPERFEED_HOME"]) / "paperfeed.sqlite3"
    try:
        for _ in range(3):
            assert httpx.get(f"{server.url}/healthz", timeout=30).json()["status"] == "ok"
        assert httpx.head(f"{server.url}/healthz", timeout=30).status_code == 200
        assert httpx.get(f"{server.url}/login", timeout=30).status_code == 200
        database.rename(tmp_path / "away.sqlite3")
        database.mkdir()  # no file SQLite can open: the next connection fails
        down = httpx.get(f"{server.url}/healthz", timeout=30)
        assert down.status_code == 503 and down.json()["status"] == "down"
    finally:
        server.stop()
    docs = [json.loads(line) for line in server.output().splitlines() if line.strip()]
    access = [(d["path"], d["status"]) for d in docs if d["logger"] == "gunicorn.access"]
    assert access == [("/login", 200), ("/healthz", 503)]


@pytest.mark.migrated
@pytest.mark.timeout(180)  # one real server: ~5 s idle
def test_a_request_line_over_the_limit_gets_the_sites_414_page(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """gunicorn answers a request line over its limit before Django reads it, with its own bare page;
    the worker class gives the site's page instead, saying what the limit is. A line just inside the
    limit still reaches the site (the search page cuts the query and says so)."""
    from paperfeed.core.webworker import LIMIT

    env = cli_env | {"PAPERFEED_WARM_UP": "0"}
    server = Server(env, tmp_path / "serve.log", workers=1).wait_ready()
    try:
        fits = "/search?q=" + "a" * (LIMIT - len("GET /search?q= HTTP/1.1") - 10)
        assert httpx.get(server.url + fits, timeout=30).status_code == 200
        r = httpx.get(f"{server.url}/search?q={'a' * (LIMIT + 10)}", timeout=30)
        assert r.status_code == 414 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>Address too long</h1>" in r.text and "up to 8,190 bytes" in r.text
        assert "gunicorn" not in r.text.lower() and 'href="/static/css/site.' in r.text
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200  # the worker serves on
    finally:
        server.stop()
    assert "Request Line is too large" in server.output()  # logged, as gunicorn logs it
