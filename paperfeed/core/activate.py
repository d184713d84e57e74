"""Serving on a port that is ours from the start, the way systemd's socket activation does it.

A port picked free and closed again can be taken by any process before the server binds it (an
outgoing connection of another test or benchmark takes its local port from the same range), and
then the server fails to start or, worse, someone else answers there. Instead the parent binds and
listens (`listening_socket`) and the child serves on that very socket (`activated`), which gunicorn
does when LISTEN_FDS/LISTEN_PID name it (`serve` skips its address pre-check then).

`python -m paperfeed.core.activate FD COMMAND...` runs COMMAND on the socket at file descriptor FD,
moved to 3 (SD_LISTEN_FDS_START) with LISTEN_FDS=1 and LISTEN_PID naming this process, which exec
keeps as COMMAND's pid.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence

FIRST_FD = 3  # SD_LISTEN_FDS_START


def listening_socket() -> socket.socket:
    """A loopback socket already bound to a port the kernel picked and listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def activated(listener: socket.socket, cmd: Sequence[str]) -> list[str]:
    """`cmd` run on `listener` (pass the socket's fd to the child: `pass_fds=(listener.fileno(),)`)."""
    return [sys.executable, "-m", "paperfeed.core.activate", str(listener.fileno()), *cmd]


def main() -> None:
    fd, cmd = int(sys.argv[1]), sys.argv[2:]
    if fd != FIRST_FD:
        os.dup2(fd, FIRST_FD)
        os.close(fd)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execvp(cmd[0], cmd)  # noqa: S606  # nosec B606 (the caller's own command line; a bare name, e.g. taskset, from PATH)


if __name__ == "__main__":
    main()
