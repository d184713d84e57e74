"""E1: the digest sender killed at random moments and at failpoints (including after the server's
250 and before our commit), then run to completion.

Fixture: `confirmed` confirmed subscribers (1,000 in the full form), plus 50 pending, 20 unsubscribed
and 10 suppressed. Invariants: 0 missing; distinct (recipient, Message-ID) = confirmed; each recipient
saw one Message-ID (a repeat is the same message); raw repeats bounded by the kills that could cause
them; pending/unsubscribed/suppressed got nothing; the digest is complete with sent + failed = eligible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tests.chaos.harness import chaos_env, kill_and_rerun
from tests.fakes.smtp import SmtpSink

PERIOD = "2026-11-27"
# Passed once per mail (a kill at the n-th leaves work for the next round); "digest-composed" (once per
# batch of 200) is exercised by its own test.
FAILPOINTS = ("digest-claimed", "digest-after-250", "digest-sent")
# The sender a scenario kills: the daily digest of PERIOD.
SEND = (sys.executable, "-m", "paperfeed", "digest", "send", "--frequency", "daily", "--period", PERIOD)


def _pf(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"paperfeed {' '.join(args)}: {proc.stderr[-2000:]}")
    return proc.stdout


def scenario(
    kills: int = 20, seed: int = 1, database: str = "sqlite", confirmed: int = 1000
) -> dict[str, Any]:
    """The full form (`tests/chaos/run.py --target digest`): a new home and database, `init`, the run."""
    with chaos_env(database) as env:
        _pf(env, "init")
        return run_scenario(env, kills=kills, seed=seed, confirmed=confirmed)


def run_scenario(env: dict[str, str], kills: int, seed: int, confirmed: int) -> dict[str, Any]:
    """The subscribers added and the sender killed and run again, in the home and database of `env`
    (migrated: `paperfeed init` run), whose children it starts; the invariants checked."""
    home = env["PAPERFEED_HOME"]
    env = env | {
        "PAPERFEED_BASE_URL": "https://papers.example.org",
        "PAPERFEED_DIGEST_RATE": "0",  # the throttle has its own test (E4)
        "PAPERFEED_DIGEST_RETRY_DELAY": "0.05",
        "PAPERFEED_LOG_LEVEL": "WARNING",
    }
    readers = [f"reader{i}@example.org" for i in range(1, confirmed + 1)]
    _pf(env, "subscribers", "add", "--confirmed", "--send-empty", "-", stdin="\n".join(readers))
    others = {
        "pending": [f"pending{i}@example.org" for i in range(1, 51)],
        "unsubscribed": [f"gone{i}@example.org" for i in range(1, 21)],
        "suppressed": [f"bounced{i}@example.org" for i in range(1, 11)],
    }
    _pf(env, "subscribers", "add", "--send-empty", "-", stdin="\n".join(others["pending"]))
    _pf(
        env,
        "subscribers",
        "add",
        "--confirmed",
        "--send-empty",
        "-",
        stdin="\n".join(others["unsubscribed"] + others["suppressed"]),
    )
    _pf(env, "subscribers", "remove", *others["unsubscribed"])
    _pf(env, "subscribers", "suppress", *others["suppressed"], "--reason", "hard bounce (fixture)")

    sink = SmtpSink(log_path=Path(home) / "sink.jsonl").start()
    env["EMAIL_URL"] = sink.url
    try:
        run = kill_and_rerun(
            [*SEND, "--json"],
            env,
            kills=kills,
            seed=seed,
            # Start-up takes ~1 s; kills soon after it land mid-send. Hits up to confirmed/kills
            # leave work for every round, so all of them kill a sender in the middle.
            max_delay=1.8,
            failpoints=FAILPOINTS,
            max_hit=max(2, confirmed // kills) if kills else 1,
            timeout=600,
        )
    finally:
        sink.stop()
    status = json.loads(_pf(env, "digest", "status", "--json"))["digests"][0]

    ids: dict[str, set[str]] = defaultdict(set)
    for r in sink.received:
        ids[r.rcpt].add(r.message_id)
    raw = Counter(r.rcpt for r in sink.received)
    missing = set(readers) - set(ids)
    assert not missing, f"{len(missing)} confirmed subscribers got no digest"
    pairs = sum(len(v) for k, v in ids.items() if k in set(readers))
    assert pairs == confirmed, f"distinct (recipient, Message-ID) = {pairs}, want {confirmed}"
    strays = {r for r in raw if r not in set(readers)}
    assert not strays, f"mail to addresses that must get none: {sorted(strays)[:5]}"
    repeats = sum(n - 1 for n in raw.values())
    after_250 = run.killed_at("digest-after-250")
    delay_kills = sum(1 for r in run.rounds if r.how.startswith("delay") and r.exit_code == -9)
    # Each kill inside the after-250 window repeats at most one message; a kill at a random moment
    # may land in that same window (the server accepted, our commit did not happen) once each.
    assert repeats <= after_250 + delay_kills, (
        f"{repeats} repeats > {after_250} + {delay_kills} kills in the window"
    )
    assert status["status"] == "complete" and status["sent"] + status["failed"] == confirmed, status
    return {
        "database": "postgres" if env.get("DATABASE_URL") else "sqlite",
        "confirmed": confirmed,
        "kills": run.kills,
        "kills_after_250": after_250,
        "delay_kills": delay_kills,
        "missing": len(missing),
        "distinct_pairs": pairs,
        "raw_repeats": repeats,
        "to_others": len(strays),
        "rounds": [r.how + f" -> {r.exit_code}" for r in run.rounds],
    }
