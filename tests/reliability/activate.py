"""`python -m tests.reliability.activate FD COMMAND...`: run COMMAND on a listening socket handed
over the way systemd's socket activation does (file descriptor 3, LISTEN_FDS=1, LISTEN_PID naming
the process meant to use it: this one, as exec keeps the pid). gunicorn then serves on that socket
instead of binding one of its own, so the port was never free for another process to take."""

from __future__ import annotations

import os
import sys

FIRST_FD = 3  # SD_LISTEN_FDS_START


def main() -> None:
    fd, cmd = int(sys.argv[1]), sys.argv[2:]
    if fd != FIRST_FD:
        os.dup2(fd, FIRST_FD)
        os.close(fd)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execv(cmd[0], cmd)  # noqa: S606  # nosec B606 (the test's own command line)


if __name__ == "__main__":
    main()
