from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from paperfeed.conf import env_int
from paperfeed.core.commands import PaperfeedCommand, bounded_int
from paperfeed.core.logs import IN_MESSAGE
from paperfeed.core.static import collect as collect_static

log = logging.getLogger(__name__)


def _warm_up(worker: Any) -> None:
    from paperfeed.core.warmup import mark_serving, start_in_background

    mark_serving()  # with the warm-up off too: a request must not build what takes minutes
    start_in_background()


def _links_to_this_server(host: str, port: int) -> None:
    """Without PAPERFEED_BASE_URL, links in feeds and mail point at the address served here, not
    at the setting's default port: `serve --port 8123` must not send people to :8000. Set in the
    environment too, so the `--with-worker` process (which sends the mail) agrees."""
    if os.environ.get("PAPERFEED_BASE_URL"):
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104  # nosec B104 (compared, not bound)
    url = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    os.environ["PAPERFEED_BASE_URL"] = settings.BASE_URL = url
    settings.CSRF_TRUSTED_ORIGINS = [url]


# AF_UNIX paths longer than this (108 bytes with the terminating NUL on Linux) cannot be bound.
_UNIX_PATH_MAX = 107


def control_socket(port: int) -> Path | None:
    """gunicorn's control socket (for `gunicornc`): under PAPERFEED_HOME, one per port. gunicorn's
    default, ~/.gunicorn/gunicorn.ctl, was shared by every `serve` of the user, and the first to
    stop deleted it under the others (and sits outside systemd's ReadWritePaths). None (no socket)
    when the home's path is too long for a Unix socket."""
    path = settings.HOME / f"gunicorn-{port}.ctl"
    return path if len(os.fsencode(path)) <= _UNIX_PATH_MAX else None


def serving_line(host: str, port: int, base_url: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    listening = f"http://{shown}:{port}/"
    if base_url.rstrip("/") + "/" == listening:
        return f"serving {listening}"
    return f"listening on {listening}; links in mail and feeds use {base_url} (PAPERFEED_BASE_URL)"


def socket_activated() -> bool:
    """Started by systemd socket activation (or anything that hands over sockets its way): gunicorn
    serves on the sockets it was given, and the address is already bound, by whoever gave them."""
    return os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS", "0") != "0"


def refuse_unusable_address(host: str, port: int) -> None:
    """gunicorn reports an address it cannot bind in three log lines after our "serving …" one,
    then exits 1 without a reason of ours: try it first (as gunicorn will, SO_REUSEADDR on)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as e:
        why = e.strerror or str(e)
        raise CommandError(
            f"cannot listen on {host}:{port} ({why}); nothing was started: another server may be "
            "using that port (pick another with --port), or --host is not an address of this machine"
        ) from None


class Command(PaperfeedCommand):
    help = "Serve the site and the API with the production server (gunicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)"
        )
        parser.add_argument(
            "--port", type=bounded_int(1, 65535), default=8000, help="TCP port (1-65535; default 8000)"
        )
        workers = env_int("PAPERFEED_WEB_WORKERS")
        parser.add_argument(
            "--workers",
            type=bounded_int(1),
            default=workers,
            help=f"web processes (default {workers}, from PAPERFEED_WEB_WORKERS)",
        )
        parser.add_argument(
            "--with-worker", action="store_true", help="also run `paperfeed worker` alongside"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from paperfeed.core import webworker
        from paperfeed.core.weblog import GunicornLogger, logconfig

        if not socket_activated():
            refuse_unusable_address(options["host"], options["port"])
        collect_static()
        _links_to_this_server(options["host"], options["port"])
        worker = None
        if options["with_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "paperfeed", "worker"])

        class App(BaseApplication):
            def load_config(self) -> None:
                self.cfg.set("bind", f"{options['host']}:{options['port']}")
                self.cfg.set("workers", options["workers"])
                # A stuck request frees its worker (PyPI's 2017 lesson); a sync worker reading a
                # trickling request is stuck too, so this also drops slowloris clients (§4c).
                self.cfg.set("timeout", env_int("PAPERFEED_WEB_TIMEOUT"))
                self.cfg.set("graceful_timeout", 10)
                self.cfg.set("keepalive", 5)
                # gunicorn's most (4,094 by default): a long pasted query then reaches the search
                # page, which searches its first 500 characters and says so. A longer line still
                # meets gunicorn, answered by the worker class with the site's 414 page, not
                # gunicorn's bare one.
                self.cfg.set("limit_request_line", webworker.LIMIT)
                self.cfg.set("worker_class", "paperfeed.core.webworker.SiteSyncWorker")
                # Recycling bounds a slow leak; each new worker reconnects and warms up again (a
                # model load), so at ~1,000 requests/s 5,000 requests meant one restart per worker
                # every ~15 s, and the requests queued behind it made the p99 tail.
                self.cfg.set("max_requests", 50_000)
                self.cfg.set("max_requests_jitter", 5_000)
                # gunicorn's lines and the access log in PAPERFEED_LOG_FORMAT, on the one stderr.
                self.cfg.set("logger_class", GunicornLogger)
                self.cfg.set("logconfig_dict", logconfig())
                ctl = control_socket(options["port"])
                if ctl is None:
                    self.cfg.set("control_socket_disable", True)
                else:
                    self.cfg.set("control_socket", str(ctl))
                self.cfg.set("post_worker_init", _warm_up)

            def load(self) -> Any:
                from paperfeed.wsgi import application

                return application

        # A log record like gunicorn's lines after it (PAPERFEED_LOG_FORMAT), so that a JSON log
        # holds no bare line; at INFO at any log level (settings.LOGGING), as the warm-up's.
        log.info(
            serving_line(options["host"], options["port"], settings.BASE_URL),
            extra={
                "bind": f"{options['host']}:{options['port']}",
                "base_url": settings.BASE_URL,
                IN_MESSAGE: True,
            },
        )
        try:
            App().run()
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=15)
