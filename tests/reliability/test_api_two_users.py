"""S10 with two users: schemathesis runs with the API tokens of two accounts as peers, so its
`ignored_auth` check (a write without credentials, or with wrong ones, must be refused) and its
`object_level_authorization` check (one user's objects are not served to the other) cover every
operation, next to `not_a_server_error`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.feed import services
from tests.sitedata import load_papers, make_user

# Who may see and change what is the views' rule, whichever database holds the rows; the inputs that
# could fail on one database only are fuzzed on both by tests/api/test_live.py. SQLite only.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.database_agnostic]


# S13: schemathesis as a child making hundreds of requests: ~45 s on a loaded machine.
@pytest.mark.timeout(300)
def test_schemathesis_with_two_users(live_server, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for scope in ("api:ip", "vote:user", "comment:user", "submit:user"):
        monkeypatch.setitem(throttle.LIMITS, scope, throttle.Limit(100_000, 300))
    papers = load_papers(6)
    alice, bob = make_user("alice"), make_user("bob")
    for p in papers[:3]:
        services.submit(p.arxiv_id, alice)
    services.upvote(alice, papers[0])
    services.upvote(bob, papers[1])
    tokens = {u.username: accounts.create_api_token(u).secret for u in (alice, bob)}
    (tmp_path / "auth.json").write_text(
        json.dumps(
            {
                "auth": [
                    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
                    for name, token in tokens.items()
                ]
            }
        )
    )
    # Real identifiers, or every operation on one paper or user stops at 404.
    (tmp_path / "schemathesis.toml").write_text(
        '[auth.wfc]\npath = "auth.json"\npeers = ["alice", "bob"]\n\n'
        f'[parameters]\narxiv_id = "{papers[0].arxiv_id}"\nusername = "alice"\n'
        f'code = "{papers[0].primary_category_id}"\n'
    )
    st = Path(sys.executable).with_name("st")
    proc = subprocess.run(
        [
            str(st),
            "--config-file",
            str(tmp_path / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/openapi.json",
            "--url",
            live_server.url,
            "--checks",
            "not_a_server_error,ignored_auth,object_level_authorization",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    print(proc.stdout[-1200:])  # the summary, for -s
