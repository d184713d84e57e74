"""RELIABILITY §4b L2 (mixed traffic) and the constant-rate search leg of L1, for locust.

    locust -f perf/locustfile.py --headless -u 40 -r 10 -t 120s --host http://127.0.0.1:8000 \
        --csv perf/out --exit-code-on-error 1 MixedUser

`paperfeed bench load` runs it (pinned to its own core) against a home it seeded; the fixture it
wrote is named by PAPERFEED_LOAD_FIXTURE (JSON: papers, the day with submissions, search terms,
users with API tokens, accounts with passwords). The site must trust one proxy hop
(PAPERFEED_PROXY_COUNT=1): each simulated user sends its own X-Forwarded-For, as real users behind
a reverse proxy would, so the per-address API limit counts users, not the load generator.

Classes: MixedUser (80% browse, 10% search, 5% vote, 3% comment, 2% login), SearchUser (keyword
search at 1 request/s per user: `-u 20` is RELIABILITY's 20 req/s) and ProbeUser (a paper's API
record at 1/s: the same run's baseline for the search figure), both paced with their users' requests
spread evenly over each second (`_Paced`). An expected 429 (a rate limit
doing its job) counts as a success and is tallied apart; PAPERFEED_LOAD_COUNTS names a file where
those tallies are written at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from collections import Counter
from typing import Any

import gevent
from locust import HttpUser, between, events, task

FIXTURE: dict[str, Any] = json.loads(open(os.environ["PAPERFEED_LOAD_FIXTURE"]).read())  # noqa: SIM115
_ids = itertools.count(1)
_lock = threading.Lock()
COUNTS: Counter[str] = Counter()  # "429 <name>" for each expected 429, "votes" for acknowledged votes


def _address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"


class _Base(HttpUser):
    abstract = True

    def on_start(self) -> None:
        with _lock:
            self.n = next(_ids)
        self.rng = random.Random(self.n)
        self.client.headers["X-Forwarded-For"] = _address(self.n)
        self.uid, self.username, self.token = FIXTURE["users"][self.n % len(FIXTURE["users"])]

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as r:
            self._judge(r, name)

    def _judge(self, r: Any, name: str, ok: tuple[int, ...] = (200,)) -> None:
        if r.status_code in ok:
            r.success()
        elif r.status_code == 429:  # a limit at work, not a failure (RELIABILITY L2)
            with _lock:
                COUNTS[f"429 {name}"] += 1
            r.success()
        else:
            r.failure(f"{r.status_code}: {r.text[:200]}")

    def _search_path(self) -> str:
        term = self.rng.choice(FIXTURE["search_terms"])
        return f"/api/papers/search?q={term}&mode=keyword"


GOLDEN = (5**0.5 - 1) / 2


class _Paced(_Base):
    """A user that runs its task `per_second` times a second, at its own phase of the period.

    locust's `constant_throughput` paces each user from the moment it was created, and `-r N` creates
    N users at once: 20 users at 1/s then send 20 searches in the same millisecond every second, a
    burst that three workers on one core drain in ~400 ms (measured: p50 240 ms, p95 450 ms). That is
    a thundering herd, not RELIABILITY's constant 20 req/s, which this gives: user n starts at
    phase frac(n x golden ratio) of the period, so any number of users stay evenly apart, and a user
    that falls behind starts again from now instead of catching up in a burst."""

    abstract = True
    per_second = 1.0

    def on_start(self) -> None:
        super().on_start()
        gevent.sleep((self.n * GOLDEN) % 1 / self.per_second)
        self.due = time.monotonic()

    def wait_time(self) -> float:
        now = time.monotonic()
        self.due = max(self.due + 1 / self.per_second, now)
        return self.due - now


class MixedUser(_Base):
    wait_time = between(0.5, 1.5)

    @task(80)
    def browse(self) -> None:
        day = FIXTURE["date"]
        page = self.rng.choice(["home", "daily", "paper", "api-daily", "api-paper"])
        paper = self.rng.choice(FIXTURE["papers"])
        path = {
            "home": "/",
            "daily": f"/papers?date={day}",
            "paper": f"/papers/{paper}",
            "api-daily": f"/api/daily_papers?date={day}",
            "api-paper": f"/api/papers/{paper}",
        }[page]
        self._get(path, f"browse {page}")

    @task(10)
    def search(self) -> None:
        self._get(self._search_path(), "search")

    @task(5)
    def vote(self) -> None:
        paper = self.rng.choice(FIXTURE["papers"])
        method = self.rng.choice(["POST", "DELETE"])
        with self.client.request(
            method,
            f"/api/papers/{paper}/upvote",
            name=f"vote {method}",
            headers={"Authorization": f"Bearer {self.token}"},
            catch_response=True,
        ) as r:
            self._judge(r, "vote")

    @task(3)
    def comment(self) -> None:
        paper = self.rng.choice(FIXTURE["papers"])
        body = {"body": f"Load test note {self.rng.randrange(10**6)}: does $O(n \\log n)$ hold?"}
        with self.client.post(
            f"/api/papers/{paper}/comments",
            name="comment",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            catch_response=True,
        ) as r:
            self._judge(r, "comment", ok=(201,))

    @task(2)
    def login(self) -> None:
        username, password = self.rng.choice(FIXTURE["logins"])
        # A fresh session: the form's CSRF cookie and token, then the POST.
        self.client.cookies.clear()
        with self.client.get("/login", name="login form", catch_response=True) as r:
            self._judge(r, "login form")
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text or "")
        if not found:
            return
        with self.client.post(
            "/login",
            name="login",
            data={"username": username, "password": password, "csrfmiddlewaretoken": found[1]},
            headers={"Referer": f"{self.host}/login"},
            allow_redirects=False,
            catch_response=True,
        ) as r:
            self._judge(r, "login", ok=(302,))  # a wrong password re-renders the form with 200
        self.client.cookies.clear()


class SearchUser(_Paced):
    weight = 4  # of 25 users with ProbeUser: 20 searching, 5 probing

    @task
    def search(self) -> None:
        self._get(self._search_path(), "search")


class ProbeUser(_Paced):
    weight = 1

    @task
    def paper(self) -> None:
        self._get(f"/api/papers/{self.rng.choice(FIXTURE['papers'])}", "probe")


@events.test_stop.add_listener
def _write_counts(**_: Any) -> None:
    path = os.environ.get("PAPERFEED_LOAD_COUNTS")
    if path:
        with open(path, "w") as f:
            json.dump(dict(COUNTS), f)
