"""gunicorn's logging for `paperfeed serve`: its lines through paperfeed's own handler and
formatter (PAPERFEED_LOG_FORMAT), and an access log of one line per request (but a healthy
/healthz: logs.QUIET_ACCESS)."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from django.conf import settings
from gunicorn.glogging import Logger

from paperfeed.conf import env, env_bool
from paperfeed.core.logs import IN_MESSAGE, QUIET_ACCESS


def logconfig() -> dict[str, Any]:
    """settings.LOGGING, with gunicorn's two loggers handing their records to its root handler
    (gunicorn would otherwise give each a text handler of its own)."""
    config: dict[str, Any] = copy.deepcopy(settings.LOGGING)
    config["loggers"] = {
        **config.get("loggers", {}),
        "gunicorn.error": {"level": env("PAPERFEED_LOG_LEVEL"), "handlers": [], "propagate": True},
        # At any log level: PAPERFEED_ACCESS_LOG alone turns it off.
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    }
    return config


class GunicornLogger(Logger):
    def setup(self, cfg: Any) -> None:
        self._paperfeed_access = env_bool("PAPERFEED_ACCESS_LOG")
        super().setup(cfg)

    @property
    def access_log_enabled(self) -> bool:
        return self._paperfeed_access

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta) -> None:
        if not self.access_log_enabled or environ.get(QUIET_ACCESS):
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        # RAW_URI as sent, still percent-encoded: a decoded PATH_INFO could carry a line break into
        # a text log. No query string: it holds what people search for.
        path = environ.get("RAW_URI", environ.get("PATH_INFO", "")).split("?", 1)[0]
        method = environ.get("REQUEST_METHOD", "-")
        ms = round(request_time.total_seconds() * 1000, 1)
        sent = getattr(resp, "sent", None) or 0
        self.access_log.info(
            "%s %s %s %.1f ms %d B",
            method,
            path,
            status,
            ms,
            sent,
            extra={
                "method": method,
                "path": path,
                "status": int(status),
                "duration_ms": ms,
                "bytes": sent,
                IN_MESSAGE: True,
            },
        )
