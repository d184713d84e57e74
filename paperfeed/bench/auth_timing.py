"""Auth timing: log-in, password reset and sign-up for existing vs unknown accounts, median latency.

RELIABILITY S4: an attacker must not tell from the time of an answer whether an account exists, so
the medians over --runs requests of each pair differ by at most 10%. A reset request takes a few
milliseconds, where a shared machine's noise is about one, so it gets --reset-runs (500): 50 cannot
tell 10% of it from noise. A fresh home gets an account per run; `paperfeed serve` (one worker)
answers; each measured POST comes from a loopback address of its own (127.x.y.z), so no rate limit
is ever reached, and existing and unknown alternate, which puts any drift of a shared machine on
both sides. Log-in uses a wrong password for both; sign-up gives a taken address (its owner gets a
notice) or a new one (a new account and its verification mail, printed to the server's console); a
reset request enqueues its mail job either way (no worker runs, so the job's own work is outside
the figure by design).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from paperfeed.bench.common import fresh_env, paperfeed, serve

TARGET_DIFFERENCE = 0.10  # |median existing / median unknown - 1|
PASSWORD = secrets.token_urlsafe(18)  # the accounts' own and the sign-ups' (one a run)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

SETUP = """
import os
from django.contrib.auth.hashers import make_password
from paperfeed.accounts.models import User
encoded = make_password(os.environ["BENCH_PASSWORD"])  # one hash for all: each verifies alike
User.objects.bulk_create(
    User(username=f"known{i}", email=f"known{i}@example.org", password=encoded, email_verified=True)
    for i in range(int(os.environ["BENCH_ACCOUNTS"]))
)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=50, help="requests per side of log-in and sign-up")
    parser.add_argument("--reset-runs", type=int, default=500, help="requests per side of reset")
    parser.add_argument("--warmup", type=int, default=5)


def _post(base: str, source: str, form_path: str, data: dict[str, str], expect: int) -> float:
    """GET the form (for the CSRF cookie and token), then time the POST alone; milliseconds."""
    import httpx

    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=base, transport=transport, timeout=60) as client:
        page = client.get(form_path)
        token = CSRF.search(page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"GET {form_path} from {source}: {page.status_code}")
        started = time.perf_counter()
        r = client.post(form_path, data={**data, "csrfmiddlewaretoken": token.group(1)})
        ms = (time.perf_counter() - started) * 1000
    if r.status_code != expect:
        raise RuntimeError(f"POST {form_path} from {source}: {r.status_code}, expected {expect}")
    return ms


def _flows(i: int) -> dict[str, tuple[str, int, dict[str, str], dict[str, str]]]:
    """Per flow: form path, expected status, the existing account's form and the unknown one's."""
    wrong = "not the password 99"
    return {
        "login": (
            "/login",
            200,
            {"username": f"known{i}", "password": wrong},
            {"username": f"ghost{i}", "password": wrong},
        ),
        "reset": (
            "/password-reset",
            302,
            {"email": f"known{i}@example.org"},
            {"email": f"ghost{i}@example.org"},
        ),
        "signup": (
            "/signup",
            302,
            {"username": f"taken-{i}", "email": f"known{i}@example.org", "password": PASSWORD},
            {"username": f"fresh-{i}", "email": f"fresh{i}@example.org", "password": PASSWORD},
        ),
    }


def _summary(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=4)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p25_ms": round(q[0], 2),
        "p75_ms": round(q[2], 2),
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    warmup = options["warmup"]
    runs_of = {"login": options["runs"], "reset": options["reset_runs"], "signup": options["runs"]}
    accounts = max(runs_of.values()) + warmup
    if min(runs_of.values()) < 5 or accounts > 25_000:
        raise SystemExit("runs must be between 5 and 25,000 (one loopback address each)")
    with fresh_env("sqlite") as env:
        paperfeed(["init"], env)
        subprocess.run(
            [sys.executable, "-m", "paperfeed", "shell", "-c", SETUP],
            env={**env, "BENCH_PASSWORD": PASSWORD, "BENCH_ACCOUNTS": str(accounts)},
            capture_output=True,
            check=True,
        )
        log_path = Path(env["PAPERFEED_HOME"]) / "serve.log"
        times: dict[str, dict[str, list[float]]] = {}
        with serve(env, 1) as base:
            try:
                for n, (name, _) in enumerate(_flows(0).items()):
                    side_ms: dict[str, list[float]] = {"existing": [], "unknown": []}
                    for i in range(runs_of[name] + warmup):
                        path, expect, existing_form, unknown_form = _flows(i)[name]
                        pair = [("existing", existing_form), ("unknown", unknown_form)]
                        for side, data in pair if i % 2 == 0 else pair[::-1]:
                            # Addresses of their own: 127.flow.(side, block).host
                            block = (0 if side == "existing" else 100) + i // 250
                            source = f"127.{10 + n}.{block}.{i % 250 + 1}"
                            ms = _post(base, source, path, data, expect)
                            if i >= warmup:
                                side_ms[side].append(ms)
                    times[name] = side_ms
            except Exception:
                sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
                raise
    flows = {}
    for name, side_ms in times.items():
        existing, unknown = _summary(side_ms["existing"]), _summary(side_ms["unknown"])
        ratio = existing["median_ms"] / unknown["median_ms"]
        flows[name] = {
            "existing": existing,
            "unknown": unknown,
            "ratio": round(ratio, 3),
            "difference": round(abs(ratio - 1), 3),
            "meets_target": abs(ratio - 1) <= TARGET_DIFFERENCE,
        }
    return {
        "benchmark": "auth-timing",
        "runs": runs_of,
        "warmup": warmup,
        "flows": flows,
        "target_difference": TARGET_DIFFERENCE,
        "meets_target": all(f["meets_target"] for f in flows.values()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
