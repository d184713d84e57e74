"""The harvest's lease through arXiv's long waits, against another machine's harvest of the same feed
(tests/harvest/rival.py): held while a live harvest waits out a Retry-After of an hour, taken over
once a harvest killed mid-wait has been silent for the lease's ttl, and taken back by a harvest that
was suspended past it while nobody else took it.

In scaled time (LEASE_SCALE): an hour's Retry-After lasts 9 s of real time, the 900 s lease 2.25 s,
and the heartbeat renews it every 0.56 s."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.arxiv import FakeArxiv
from tests.harvest.conftest import cli_fake_env
from tests.reliability.support import REPO, wait_until

pytestmark = [pytest.mark.migrated, pytest.mark.database, pytest.mark.timeout(180)]

LEASE_SCALE = 400.0
HOUR = "503:3600"  # a Retry-After of an hour, four times the lease
WINDOW = ("--from", "2026-06-25", "--until", "2026-06-27")  # 6 pages
TTL_REAL = 900 / LEASE_SCALE  # seconds of real time the harvest's lease lasts


@pytest.fixture
def harvest(fake: FakeArxiv, cli_env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts `paperfeed harvest` (6 pages) as a child, the fake answering with `faults` in turn."""
    children: list[subprocess.Popen[str]] = []

    def start(*faults: str) -> subprocess.Popen[str]:
        fake.faults.extend(None if f == "ok" else f for f in faults)  # type: ignore[misc]
        child = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "harvest", *WINDOW, "--json"],
            env=_env(fake, cli_env),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate()


def _env(fake: FakeArxiv, cli_env: dict[str, str]) -> dict[str, str]:
    return cli_fake_env(cli_env, fake, PAPERFEED_TIME_SCALE=str(LEASE_SCALE))


@pytest.fixture
def rival(fake: FakeArxiv, cli_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Another machine's harvest, started and ready: `_go(rival)` has it try."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.harvest.rival", f"harvest:oai:{fake.oai}:*"],
        env=_env(fake, cli_env),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise AssertionError(child.communicate()[1][-3000:])
    yield child
    if child.poll() is None:
        child.kill()
    child.communicate()


def _go(rival: subprocess.Popen[str]) -> None:
    assert rival.stdin is not None
    rival.stdin.write("go\n")
    rival.stdin.flush()


def _asked(fake: FakeArxiv, n: int, child: subprocess.Popen[str]) -> None:
    """Until the harvest has sent its n-th request (the one answered with a Retry-After: it waits)."""
    wait_until(lambda: len(fake.oai_requests()) >= n or child.poll() is not None, 60, f"request {n}", 0.01)
    assert child.poll() is None, child.communicate()[1][-3000:]


def _outcome(rival: subprocess.Popen[str]) -> list[str]:
    """The rival's last line, split."""
    assert rival.stdout is not None
    out = rival.stdout.read()
    rival.wait(timeout=120)
    err = rival.stderr.read() if rival.stderr else ""
    assert out.strip(), err[-3000:]
    return out.strip().splitlines()[-1].split()


def _finished(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    return json.loads(out)  # type: ignore[no-any-return]


def test_a_harvest_waiting_out_an_hour_keeps_its_lease(
    fake: FakeArxiv, harvest: Callable[..., subprocess.Popen[str]], rival: subprocess.Popen[str]
) -> None:
    """arXiv asks for an hour between two pages; the lease lasts 15 minutes and was renewed only
    per page, so another machine took it a quarter of the way through the wait and the two harvests
    wrote the same pages (this one then stopped with "another run took over"). The heartbeat keeps
    it through the wait: the other machine is refused until this harvest ends and lets it go."""
    child = harvest("ok", HOUR)
    _asked(fake, 2, child)
    _go(rival)
    outcome = _outcome(rival)
    assert outcome[0] == "released" and int(outcome[1]) > 0, outcome
    out = _finished(child)
    assert (out["pages"], out["created"], out["retries"]) == (6, 120, 1)


def test_a_harvest_killed_mid_wait_is_taken_over_after_the_ttl(
    fake: FakeArxiv, harvest: Callable[..., subprocess.Popen[str]], rival: subprocess.Popen[str]
) -> None:
    """The heartbeat dies with its process: another machine, which cannot see that the process is
    gone, is refused while the lease runs and takes it over once it has expired."""
    child = harvest("ok", HOUR)
    _asked(fake, 2, child)
    _go(rival)
    assert rival.stdout is not None and rival.stdout.readline().strip() == "refused"
    child.send_signal(signal.SIGKILL)
    child.wait()
    outcome = _outcome(rival)
    assert outcome[0] == "took" and outcome[1].startswith(f"{socket.gethostname()}:{child.pid}:"), outcome


def test_a_harvest_suspended_past_its_lease_takes_it_back_and_keeps_it_through_the_next_wait(
    fake: FakeArxiv, harvest: Callable[..., subprocess.Popen[str]], rival: subprocess.Popen[str]
) -> None:
    """Stopped (SIGSTOP, as a laptop goes to sleep) for longer than the lease lasts, its heartbeat
    stopped too: the lease lapsed. Nobody took it meanwhile, so the harvest takes it back at the next
    page and goes on; and its heartbeat renews it again through the next hour's wait, while another
    machine tries to take it (the heartbeat had stopped for good on finding the lease lapsed)."""
    child = harvest("ok", HOUR, "ok", HOUR)
    _asked(fake, 2, child)
    child.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.5 * TTL_REAL)
    finally:
        child.send_signal(signal.SIGCONT)
    _asked(fake, 4, child)
    _go(rival)
    outcome = _outcome(rival)
    assert outcome[0] == "released" and int(outcome[1]) > 0, outcome
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    assert "nobody took it: resumed" in err
    assert (json.loads(out)["pages"], json.loads(out)["retries"]) == (6, 2)
