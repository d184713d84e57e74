"""Kill a command again and again, then let it finish: the crash harness of RELIABILITY.md.

Each round starts the command; it is killed with SIGKILL either after a random delay or, when the
round picks one, at a named failpoint (env FAILPOINT=name:n, see paperfeed.core.failpoints). After
`kills` rounds the command runs to completion; the target then checks its invariants.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Round:
    how: str  # "delay 1.23s", "failpoint name:n", "finished"
    exit_code: int | None
    seconds: float


@dataclass
class ChaosRun:
    rounds: list[Round] = field(default_factory=list)

    @property
    def kills(self) -> int:
        return sum(1 for r in self.rounds if r.exit_code == -signal.SIGKILL)

    def killed_at(self, failpoint: str) -> int:
        return sum(1 for r in self.rounds if r.how.startswith(f"failpoint {failpoint}") and r.exit_code == -9)


def kill_and_rerun(
    cmd: Sequence[str],
    env: dict[str, str],
    *,
    kills: int,
    seed: int,
    max_delay: float,
    failpoints: Sequence[str] = (),
    max_hit: int = 50,
    timeout: float = 600,
) -> ChaosRun:
    """Run `cmd` `kills` times with a kill each, then once to completion (which must exit 0)."""
    rng = random.Random(seed)
    run = ChaosRun()
    for _ in range(kills):
        round_env = dict(env)
        if failpoints and rng.random() < 0.5:
            point = f"{rng.choice(list(failpoints))}:{rng.randint(1, max_hit)}"
            round_env["FAILPOINT"] = point
            how, delay = f"failpoint {point}", timeout
        else:
            delay = rng.uniform(0.2, max_delay)
            how = f"delay {delay:.2f}s"
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, env=round_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        run.rounds.append(Round(how, proc.returncode, time.monotonic() - started))
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    run.rounds.append(Round("finished", done.returncode, time.monotonic() - started))
    if done.returncode != 0:
        raise AssertionError(
            f"the final run of {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return run


@contextlib.contextmanager
def chaos_env(database: str) -> Iterator[dict[str, str]]:
    """Environment for a full-size scenario's `paperfeed` children (tests/chaos/run.py): a home and,
    for postgres, a database of its own, removed afterwards; nothing shared with another scenario
    running at the same time (`make chaos` runs TEST_WORKERS at once)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from paperfeed.bench.common import fresh_env

    with fresh_env(database) as env:
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.setdefault("PAPERFEED_SECRET_KEY", "chaos-" + "k" * 44)
        yield env
