"""A new web worker's warm-up readies "for you", so its first visitor does not wait for the window."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from paperfeed.core import warmup
from paperfeed.recs import index, services
from tests.conftest import paperfeed
from tests.recs.conftest import SEED_SHELL, site_model
from tests.recs.test_store import printed, saved_windows
from tests.reliability.support import Server, wait_until


@pytest.fixture
def builds(monkeypatch):
    """Every window built from the database in this test (the real build, counted)."""
    made: list[index.Candidates] = []
    real = index.build

    def counted(*args, **kwargs):
        made.append(out := real(*args, **kwargs))
        return out

    monkeypatch.setattr(index, "build", counted)
    return made


def test_the_warm_up_builds_the_window_once_then_each_new_worker_maps_it(catalogue, home, builds, caplog):
    user = get_user_model().objects.create_user("reader", "reader@example.org", "a long enough password")
    coll = site_model("feed.Collection").objects.create(user=user, name="Reading", slug="reading")
    for p in catalogue["diffusion"][:3]:
        site_model("feed.CollectionItem").objects.create(collection=coll, paper=p)

    with caplog.at_level(logging.INFO):
        took = warmup.warm_up()
    assert took["recs"] is not None and took["urls"] is not None, caplog.text
    assert index.loaded() and len(builds) == 1  # no saved window yet: this worker built and saved it
    [saved] = saved_windows(home)

    index.reset()  # a new worker on the same home
    warmup.warm_up()
    assert index.loaded() and len(builds) == 1
    assert index.candidates().source == saved.name  # mapped, not built
    recs = services.recommend(user, limit=3)
    assert len(builds) == 1  # the first recommendation only scored
    assert {r.paper.arxiv_id for r in recs} == {p.arxiv_id for p in catalogue["diffusion"][3:]}


# The topics' papers and the reader "cli", who also follows cs.CL, signed in with a session and a token.
SEED = (
    SEED_SHELL
    + """
import json
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from paperfeed.accounts.services import create_api_token
Follow.objects.create(user=u, kind=Follow.Kind.CATEGORY, value="cs.CL")
s = SessionStore()
s["_auth_user_id"] = str(u.pk)
s["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
s["_auth_user_hash"] = u.get_session_auth_hash()
s.create()
print(json.dumps({"session": s.session_key, "token": create_api_token(u).secret}))
"""
)

# A builder that dies in the middle of its save: it holds the lock and has written part of a window
# under the temporary name, then waits to be killed.
CRASHING_BUILDER = """
import fcntl, os, sys, time
from pathlib import Path
recs = Path(sys.argv[1]) / "recs"
recs.mkdir(parents=True, exist_ok=True)
lock = open(recs / "window.lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
half = recs / f"window-{time.time_ns():020d}.tmp{os.getpid()}"
half.mkdir()
(half / "counts.npy").write_bytes(b"\\x93NUMPY half a file")
print("locked", flush=True)
time.sleep(3600)
"""


@pytest.mark.migrated
@pytest.mark.timeout(300)  # a real server with two workers (each loads the search model) and a builder
def test_serving_workers_answer_at_once_while_the_window_is_built_elsewhere(cli_env, tmp_path):
    made = printed(paperfeed("shell", "-c", SEED, env=cli_env).stdout)
    home = Path(cli_env["PAPERFEED_HOME"])
    crashing = subprocess.Popen(
        [sys.executable, "-c", CRASHING_BUILDER, str(home)], stdout=subprocess.PIPE, text=True
    )
    server = None
    try:
        assert crashing.stdout is not None and crashing.stdout.readline().strip() == "locked"
        env = {**cli_env, "PAPERFEED_WARM_UP": "1"}
        server = Server(env, tmp_path / "server.log", workers=2).wait_ready()
        api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {made['token']}"})
        site = httpx.Client(base_url=server.url, cookies={"sessionid": made["session"]})
        with api, site:
            # Another process builds (holds the lock): every request is answered without waiting for it.
            for _ in range(3):  # each worker, likely
                r = api.get("/api/recommendations")
                assert r.status_code == 503, r.text
                assert int(r.headers["Retry-After"]) >= 1 and r.json()["retryAfter"] >= 1
                assert "being prepared" in r.json()["error"]
                assert site.get("/for-you?format=json").status_code == 503
                page = site.get("/for-you")
                assert page.status_code == 200 and "being prepared" in page.text
                # Labelled: the newest papers of the followed category, not a ranking.
                assert "New in cs.CL, which you follow" in page.text and "2606.00013" in page.text
                assert "2606.00001" not in page.text  # a cs.CV paper
                assert api.get("/api/daily_papers").status_code == 200  # other pages as ever
            assert "building the candidate window" not in server.output()

            crashing.kill()  # the builder dies: the lock is free, its half window left behind
            crashing.wait()
            wait_until(lambda: api.get("/api/recommendations").status_code == 200, None, "the window")
            wait_until(lambda: server.output().count("warmed up: ") >= 2, None, "both warm-ups")
            recs = api.get("/api/recommendations?limit=6").json()
            assert {r["paper"]["id"] for r in recs} == {f"2606.{n:05d}" for n in range(13, 19)}
            page = site.get("/for-you")
            assert page.status_code == 200 and "being prepared" not in page.text
    finally:
        crashing.kill()
        crashing.wait()
        if server is not None:
            server.stop()
    out = server.output()
    # One builder, a child of one worker; the other worker waited for it and mapped what it saved.
    assert out.count("building the candidate window in a child process") == 1, out[-3000:]
    assert out.count('saved the "for you" window: 24 papers') == 1, out[-3000:]
    warmed = [line for line in out.splitlines() if "warmed up: " in line]
    assert len(warmed) == 2 and all("recs None" not in line for line in warmed), warmed
    [window] = saved_windows(home)  # complete; the killed builder's half one removed by the save
    assert ".tmp" not in window.name and (window / "manifest.json").exists()


@pytest.mark.migrated
@pytest.mark.timeout(300)
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="a table lock holds the builder mid-build (PostgreSQL)")
def test_a_builder_killed_mid_build_leaves_no_window_and_a_builder_runs_again(cli_env, tmp_path):
    import psycopg

    made = printed(paperfeed("shell", "-c", SEED, env=cli_env).stdout)
    home = Path(cli_env["PAPERFEED_HOME"])
    server = None
    with psycopg.connect(cli_env["DATABASE_URL"]) as held:
        # The builder reads the papers' categories after their texts; no page of this test reads them.
        held.execute("LOCK TABLE papers_papercategory IN ACCESS EXCLUSIVE MODE")
        try:
            server = Server({**cli_env, "PAPERFEED_WARM_UP": "1"}, tmp_path / "server.log", workers=2)
            server.wait_ready()

            def builders() -> list[int]:  # the workers' children (a worker starts no other)
                ps = [
                    subprocess.run(["pgrep", "-P", str(w)], capture_output=True, text=True)
                    for w in server.pids()[1:]
                ]
                return [int(p) for r in ps for p in r.stdout.split()]

            def waiting() -> bool:  # the builder, mid-build: its texts read, waiting for the categories
                row = held.execute(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE NOT granted AND relation = 'papers_papercategory'::regclass"
                ).fetchone()
                return bool(row and row[0])

            wait_until(waiting, None, "the builder to reach the categories")
            assert len(builders()) == 1
            os.kill(builders()[0], signal.SIGKILL)
            wait_until(lambda: "builder exited -9" in server.output(), None, "its worker to see it die")
        finally:
            held.rollback()  # the table free again
        try:
            api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {made['token']}"})
            with api:
                # Once a second apart, as a client told Retry-After: the wait can last the pause after
                # a failed build (below), and ten a second would spend the address's 300 API requests
                # in 5 minutes (api:ip) before it ends, then meet only 429s.
                wait_until(
                    lambda: api.get("/api/recommendations").status_code == 200, None, "the window", 1.0
                )
        finally:
            server.stop()
    out = server.output()
    # A second builder: started by the other worker, waiting on the lock the killed one held, when it
    # takes the lock before the killed builder's worker notes the failure; else, that note pausing
    # every worker's next builder (RETRY_FAILED_S), by the first request after the pause.
    assert out.count("building the candidate window in a child process") == 2, out[-3000:]
    assert out.count('saved the "for you" window: 24 papers') == 1, out[-3000:]
    [window] = saved_windows(home)
    assert ".tmp" not in window.name and (window / "manifest.json").exists()
