"""The CLI end to end (real processes, real SMTP): subscribers, digest send, E1 (small), E2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.chaos.targets import digest as chaos
from tests.conftest import paperfeed
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.database


def _json(*args: str, env: dict[str, str], stdin: str | None = None) -> dict:  # type: ignore[type-arg]
    return json.loads(paperfeed(*args, "--json", env=env, input=stdin).stdout)


def _scaled_sender_env(cli_env: dict[str, str], sink: SmtpSink, scale: float) -> dict[str, str]:
    """`paperfeed` children that mail to `sink`, unthrottled, on a clock `scale` times as fast."""
    return {
        **cli_env,
        "EMAIL_URL": sink.url,
        "PAPERFEED_DIGEST_RATE": "0",
        "PAPERFEED_DIGEST_HOURLY": "0",
        "PAPERFEED_TIME_SCALE": str(scale),
    }


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~6 s quiet, 12 s at load 7
def test_subscribers_add_and_list(cli_env: dict[str, str]) -> None:
    many = "\n".join(
        ["Alice@X.com", "alice@x.com", *["dup@example.org"] * 1000, "", "   ", '"a b"@x.org', "c@bücher.de"]
    )
    out = _json("subscribers", "add", "--confirmed", "--frequency", "weekly", env=cli_env, stdin=many)
    assert (out["created"], out["existing"], out["invalid"]) == (3, 1000, 1)
    assert "Quoted" in out["errors"][0]
    listed = _json("subscribers", "list", env=cli_env)["subscribers"]
    assert sorted(s["email"] for s in listed) == ["alice@x.com", "c@xn--bcher-kva.de", "dup@example.org"]
    assert {s["status"] for s in listed} == {"confirmed"} and {s["frequency"] for s in listed} == {"weekly"}
    assert _json("subscribers", "remove", "dup@example.org", "nobody@example.org", env=cli_env) == {
        "changed": 1, "unchanged": [], "unknown": ["nobody@example.org"]}  # fmt: skip
    assert (
        _json("subscribers", "list", "--status", "unsubscribed", env=cli_env)["subscribers"][0]["email"]
        == "dup@example.org"
    )


# S13: a run of `paperfeed` children (each boots Django) against a real SMTP sink: 30-45 s
# on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_digest_send_twice_dry_run_and_bad_period(cli_env: dict[str, str]) -> None:
    sink = SmtpSink().start()
    env = {
        **cli_env,
        "EMAIL_URL": sink.url,
        "PAPERFEED_BASE_URL": "https://papers.example.org",
        "PAPERFEED_DIGEST_RATE": "0",
    }
    try:
        paperfeed(
            "subscribers", "add", "--confirmed", "--send-empty", "a@example.org", "b@example.org", env=env
        )
        dry = _json("digest", "send", "--frequency", "daily", "--period", chaos.PERIOD, "--dry-run", env=env)
        assert dry["dry_run"] and dry["digests"][0]["eligible"] == 2 and sink.received == []
        first = _json("digest", "send", "--frequency", "daily", "--period", chaos.PERIOD, env=env)
        second = _json("digest", "send", "--frequency", "daily", "--period", chaos.PERIOD, env=env)
        assert first["sent"] == second["sent"] == 2 and first["complete"] and second["complete"]
        assert sorted(r.rcpt for r in sink.received) == ["a@example.org", "b@example.org"]
        assert "Nothing new" in sink.received[0].text()  # asked for empty digests
        bad = paperfeed(
            "digest", "send", "--frequency", "daily", "--period", "2026-11-28", env=env, check=False
        )
        # An argument mistake (status 2, one line), refused before anything runs.
        assert bad.returncode == 2 and bad.stderr.splitlines() == [
            "paperfeed digest send: error: --period: daily digests go out on weekdays; 2026-11-28 is a "
            "Saturday (`paperfeed digest send --help` lists the options)"
        ]
        status = _json("digest", "status", env=env)["digests"][0]
        assert (status["status"], status["sent"]) == ("complete", 2)
    finally:
        sink.stop()


# S13: a run of `paperfeed` children (each boots Django) against a real SMTP sink: 30-45 s
# on a loaded 2-core machine. The full form's own `init` (run.py --target digest) is its setup, not
# its subject: here the database starts migrated.
@pytest.mark.migrated
@pytest.mark.timeout(120)  # two CLI children
def test_mail_printed_without_email_url_leaves_stdout_to_the_json(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "EMAIL_URL"}  # the console mailer
    paperfeed("subscribers", "add", "--confirmed", "--send-empty", "a@example.org", env=env)
    run = paperfeed("digest", "send", "--frequency", "daily", "--period", chaos.PERIOD, "--json", env=env)
    # Django's console mailer wrote each mail on stdout, before the one JSON document.
    assert json.loads(run.stdout)["sent"] == 1
    assert "To: a@example.org" in run.stderr and "Subject: paperfeed daily" in run.stderr


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_e1_small_kill_and_rerun(cli_env: dict[str, str]) -> None:
    """The chaos scenario of tests/chaos/targets/digest.py, smaller (the full one: run.py --target digest)."""
    result = chaos.run_scenario(cli_env, kills=5, seed=7, confirmed=120)
    assert result["missing"] == 0 and result["distinct_pairs"] == 120 and result["kills"] >= 1


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children and a kill: ~6-7 s quiet, 17 s at load 7
def test_e1_kill_after_250_repeats_one_message_with_its_message_id(cli_env: dict[str, str]) -> None:
    sink = SmtpSink().start()
    env = {**cli_env, "EMAIL_URL": sink.url, "PAPERFEED_DIGEST_RATE": "0"}
    try:
        readers = [f"r{i}@example.org" for i in range(10)]
        paperfeed("subscribers", "add", "--confirmed", "--send-empty", *readers, env=env)
        args = ("digest", "send", "--frequency", "daily", "--period", chaos.PERIOD)
        killed = paperfeed(*args, env={**env, "FAILPOINT": "digest-after-250:4"}, check=False)
        assert killed.returncode == -9 and len(sink.received) == 4
        paperfeed(*args, env=env)
    finally:
        sink.stop()
    per = Counter(r.rcpt for r in sink.received)
    assert set(per) == set(readers) and sum(per.values()) == 11  # one repeat: the 4th
    (again,) = [r for r, n in per.items() if n == 2]
    assert len({m.message_id for m in sink.to(again)}) == 1


@pytest.mark.migrated
@pytest.mark.timeout(300)
def test_a_notice_whose_worker_died_after_the_250_is_repeated_with_its_message_id(
    cli_env: dict[str, str],
) -> None:
    # As a digest (above): a worker killed between the server's 250 and the job's end leaves the
    # job to run again, and the mail it sends then is the same message. Each notice job took a new
    # Message-ID when it ran, so the repeat was a second, different mail.
    sink = SmtpSink().start()
    env = {**cli_env, "EMAIL_URL": sink.url, "DJANGO_SUPERUSER_PASSWORD": "a long enough passphrase 1"}
    worker = ("worker", "--batch", "--no-schedule")
    try:
        paperfeed("subscribers", "add", "a@example.org", "b@example.org", env=env)  # confirmation links
        paperfeed(
            "createsuperuser", "--noinput", "--username", "boss", "--email", "boss@example.org", env=env
        )
        reset = "from paperfeed.accounts.services import request_password_reset as r; r('boss@example.org')"
        paperfeed("shell", "-c", reset, env=env)
        # The first job's mail goes out, then its worker dies; the next worker sends it again and
        # dies after the third mail (the reset, queued last); the last one sends that again.
        first = paperfeed(*worker, env={**env, "FAILPOINT": "notice-sent:1"}, check=False)
        assert first.returncode == -9 and len(sink.received) == 1, first.stderr[-2000:]
        second = paperfeed(*worker, env={**env, "FAILPOINT": "notice-sent:3"}, check=False)
        assert second.returncode == -9 and len(sink.received) == 4, second.stderr[-2000:]
        paperfeed(*worker, env=env)
    finally:
        sink.stop()
    per = Counter(r.rcpt for r in sink.received)
    assert set(per) == {"a@example.org", "b@example.org", "boss@example.org"}  # none lost
    assert sum(per.values()) == 5 and per["boss@example.org"] == 2, per  # two repeats, one each kill
    for rcpt in per:
        assert len({m.message_id for m in sink.to(rcpt)}) == 1, [m.message_id for m in sink.to(rcpt)]
    assert {m.message["Subject"] for m in sink.to("boss@example.org")} == {"Reset your paperfeed password"}


# S13: a run of `paperfeed` children (each boots Django) against a real SMTP sink: 30-45 s
# on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_e2_two_senders_and_two_ticks_at_once(cli_env: dict[str, str]) -> None:
    sink = SmtpSink().start()
    env = {
        **cli_env,
        "EMAIL_URL": sink.url,
        "PAPERFEED_DIGEST_RATE": "0",
        "PAPERFEED_NOW": f"{chaos.PERIOD}T12:00:00+00:00",
    }
    try:
        readers = [f"r{i}@example.org" for i in range(60)]
        paperfeed(
            "subscribers",
            "add",
            "--confirmed",
            "--send-empty",
            "--hour",
            "7",
            "-",
            env=env,
            input="\n".join(readers),
        )
        cmd = [sys.executable, "-m", "paperfeed"]
        send = [*cmd, "digest", "send", "--frequency", "daily", "--period", chaos.PERIOD, "--json"]
        tick = [*cmd, "schedule", "tick", "--json"]
        procs = [
            subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in (send, send, tick, tick)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
        ticks = [json.loads(o[0])["enqueued"] for o in outs[2:]]
        claimed = [job for t in ticks for job in t]
        assert claimed.count("digests.send") == 1  # one tick claimed the slot
        assert len(claimed) == len(set(claimed))  # so did every other job's (core.housekeeping)
        paperfeed("worker", "--batch", env=env)  # runs the scheduled send: nothing left to send
        paperfeed("worker", "--batch", env=env)
    finally:
        sink.stop()
    per = Counter(r.rcpt for r in sink.received)
    assert per == Counter(readers)


# S13: a run of `paperfeed` children (each boots Django) against a real SMTP sink: 30-45 s
# on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_saved_search_alerts_come_from_the_search_service(cli_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from tests.conftest import SNAPSHOT

    sample = tmp_path / "sample.jsonl"
    with gzip.open(SNAPSHOT, "rt") as src:
        sample.write_text("".join(line for _, line in zip(range(500), src, strict=False)))
    sink = SmtpSink().start()
    env = {**cli_env, "EMAIL_URL": sink.url, "PAPERFEED_DIGEST_RATE": "0"}
    try:
        paperfeed("import", str(sample), env=env)
        paperfeed("index", env=env)
        query = "diffusion cat:cs.CV"
        paperfeed("subscribers", "add", "--confirmed", "--search", query, "reader@example.org", env=env)
        paperfeed("digest", "send", "--frequency", "daily", "--period", "2025-03-19", env=env)
        found = _json("search", "diffusion", "--category", "cs.CV", "--since", "2025-03-19", "--until",
                      "2025-03-19", "--mode", "keyword", "--limit", "10", env=env)["results"]  # fmt: skip
    finally:
        sink.stop()
    assert found, "the fixture day has papers about diffusion in cs.CV"
    (got,) = sink.received
    text = got.text()
    assert "Your saved searches" in text and f"matches “{query}”" in text
    for hit in found:
        assert f"/papers/{hit['id']}" in text


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~5 s quiet
def test_subscribers_add_at_a_terminal_says_it_reads_the_addresses(cli_env: dict[str, str]) -> None:
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "paperfeed", "subscribers", "add", "--confirmed", "--json"],
        env=cli_env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(follower)
    os.write(leader, b"ada@example.org\n\x04")  # Ctrl-D at the start of a line: end of input
    out, err = child.communicate(timeout=100)
    os.close(leader)
    assert child.returncode == 0, err
    assert "reading addresses from the terminal, one a line; Ctrl-D ends the list" in err
    assert json.loads(out)["created"] == 1


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


# Three CLI children and a wait for a lease of 10 s (real): ~30 s quiet.
@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_sender_that_stalled_past_its_lease_does_not_mail_the_row_taken_over(
    cli_env: dict[str, str],
) -> None:
    """Sender A stops (SIGSTOP, as a suspended VM or a swapping host would) right after claiming its
    first mail. Its lease lapses; sender B, a process of its own, takes it over, re-sends the row A
    left in flight and the rest, and releases it. Then A wakes: it used to send the mail it had
    claimed (the reader got two copies), and only failed when recording it. Now it checks the lease
    before the mail goes on the wire, sends nothing and says why."""
    scale = 30  # the 300 s lease lasts 10 s of real time
    sink = SmtpSink().start()
    env = _scaled_sender_env(cli_env, sink, scale)
    readers = [f"r{i}@example.org" for i in range(3)]
    send = list(chaos.SEND)
    try:
        paperfeed("subscribers", "add", "--confirmed", "--send-empty", *readers, env=env)
        a = subprocess.Popen(
            [*send, "--json"],
            env={**env, "FAILPOINT": "digest-claimed:1:SIGSTOP"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while not _stopped(a.pid):
                assert a.poll() is None, a.communicate()
                time.sleep(0.1)
            assert sink.received == []
            while True:  # B, until A's lease has lapsed (another process: another holder)
                b = _json(*send[3:], env=env)
                if not b["busy"]:
                    break
            assert b["complete"] and b["resent"] == 1 and b["this_run"]["sent"] == 3, b
        finally:
            a.send_signal(signal.SIGCONT)
            out, err = a.communicate(timeout=120)
    finally:
        sink.stop()
    assert Counter(r.rcpt for r in sink.received) == Counter(readers)
    assert a.returncode == 1 and "lease 'digests.sender'" in err, err[-2000:]
    assert json.loads(out)["lost"]


@pytest.mark.migrated
@pytest.mark.timeout(240)
def test_a_sender_killed_mid_send_while_its_heartbeat_runs_is_taken_over(cli_env: dict[str, str]) -> None:
    """Sender A is SIGKILLed while the server holds back the 250 to its first mail, the heartbeat
    keeping A's lease meanwhile. The heartbeat dies with A: sender B on this machine takes the lease
    over at once (not busy), sends every reader their digest, the one in flight again under its
    Message-ID, and no reader gets two different digests."""
    scale = 30  # the 300 s lease lasts 10 s of real time, a send at most 2.5 s
    sink = SmtpSink().start()
    sink.slow_data = {1: 2.0}
    env = _scaled_sender_env(cli_env, sink, scale)
    readers = [f"r{i}@example.org" for i in range(3)]
    send = ["digest", "send", "--frequency", "daily", "--period", chaos.PERIOD]
    try:
        paperfeed("subscribers", "add", "--confirmed", "--send-empty", *readers, env=env)
        a = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", *send],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not sink.received:  # A's first mail is on the wire, its 250 held back
                assert a.poll() is None, "the sender ended before its first mail"
                time.sleep(0.01)
        finally:
            a.kill()
            a.wait()
        b = _json(*send, env=env)
    finally:
        sink.stop()
    assert not b["busy"] and not b["lost"], b
    assert b["complete"] and b["sent"] == 3 and b["resent"] == 1, b
    ids: dict[str, set[str]] = {}
    for r in sink.received:
        ids.setdefault(r.rcpt, set()).add(r.message_id)
    assert sorted(ids) == readers and all(len(v) == 1 for v in ids.values())
    assert len(sink.received) <= len(readers) + 1  # at most the mail in flight twice
