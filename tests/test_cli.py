"""The console script itself (paperfeed/cli.py), on a real terminal where colours are at stake."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

pytestmark = pytest.mark.database


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What `paperfeed ARGS` writes with stdout and stderr on one pseudo-terminal (Django colours
    only then)."""
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert child.wait(timeout=100) == 0, out
    return out.decode()


@pytest.mark.migrated
@pytest.mark.timeout(120)  # two CLI children: ~5 s quiet
def test_init_is_not_red_and_no_color_is_honoured(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("NO_COLOR", "DJANGO_COLORS")}
    coloured = _on_a_terminal("init", env=env)
    assert "paperfeed ready" in coloured
    assert "\x1b[31" not in coloured  # stderr's own style is Django's ERROR: a success said in red
    plain = _on_a_terminal("init", env=env | {"NO_COLOR": "1"})
    assert "paperfeed ready" in plain and "\x1b[" not in plain  # https://no-color.org
