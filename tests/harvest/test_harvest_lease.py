"""The harvest's lease through arXiv's long waits, against another machine's harvest of the same feed
(tests/harvest/rival.py): held while a live harvest waits out a Retry-After of an hour, taken over
once a harvest killed mid-wait has been silent for the lease's ttl, taken back by a harvest that
was suspended past it while nobody else took it, and fencing the pages of one suspended while
another took it: that one writes nothing more.

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
from pathlib import Path
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


_STORED = """
import django, json, os
os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'
django.setup()
from paperfeed.papers.models import HarvestState, Paper
print(json.dumps({
    'states': {h.name: h.state for h in HarvestState.objects.all()},
    'papers': sorted(Paper.objects.values_list('arxiv_id', 'status', 'content_hash', 'version')),
}))
"""


def _other_machine(env: dict[str, str], home: Path) -> dict[str, str]:
    """`env` for a process on another machine: its own home, the same database."""
    db = env.get("DATABASE_URL") or f"sqlite:///{Path(env['PAPERFEED_HOME']) / 'paperfeed.sqlite3'}"
    return env | {"PAPERFEED_HOME": str(home), "DATABASE_URL": db}


def _stored(env: dict[str, str]) -> dict[str, Any]:
    """The harvest's database as the checkpoints and the paper rows say."""
    out = subprocess.run([sys.executable, "-c", _STORED], env=env, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_harvest_suspended_while_another_took_over_and_finished_writes_nothing_more(
    fake: FakeArxiv, harvest: Callable[..., subprocess.Popen[str]], cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Stopped (SIGSTOP) through an hour's wait for longer than its lease lasts, while another harvest
    of the feed took the lease over, ran to the end and let it go. On waking the first fetched its
    next page, stored it with the checkpoint, and only then renewed its lease and stopped: its page and
    checkpoint went in after the other run's (here a page where one paper has since been withdrawn,
    and a checkpoint pointing back into a finished window). The renewal is the page transaction's
    fence now: it finds the lease lost, rolls the page back and stops; the store is the other run's."""
    first = harvest("ok", HOUR)
    _asked(fake, 2, first)
    first.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.5 * TTL_REAL)
        # Another machine's harvest (its own home, so its own request slot: the first holds this
        # machine's through its wait). The lease has expired: it takes it, continues the window, ends.
        second = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", "harvest", *WINDOW, "--json"],
            env=_other_machine(_env(fake, cli_env), tmp_path / "other"),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        done = _finished(second)
        assert done["pages"] == 5, done  # the first's page 1 stays, pages 2 to 6 are the second's
        after = _stored(_env(fake, cli_env))
        # What the first would store next: page 2 (records 20 to 39), with one paper withdrawn since.
        withdrawn = fake.listing(*WINDOW[1::2], None)[25]
        withdrawn.deleted = True
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 1, err[-3000:]
    assert "lease expired and another run took over" in err.strip().splitlines()[-1], err[-3000:]
    assert after["states"] == {f"oai:{fake.oai}:*": {"next_from": "2026-06-27"}}, after
    assert _stored(_env(fake, cli_env)) == after
