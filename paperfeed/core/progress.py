"""Progress for long work: a bar on a terminal (stderr), periodic counts in the log otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from tqdm import tqdm

from paperfeed.core.logs import IN_MESSAGE


class Progress:
    """A tqdm bar when stderr is a terminal; else an INFO log line with the counts every `every` s."""

    def __init__(
        self,
        desc: str,
        total: float | None = None,
        unit: str = "it",
        logger: logging.Logger | None = None,
        every: float = 10.0,
        **tqdm_kwargs: Any,
    ) -> None:
        self.desc, self.total, self.unit = desc, total, unit
        self.log = logger or logging.getLogger("paperfeed.progress")
        self.every, self.n = every, 0.0
        self.counts: dict[str, Any] = {}
        self._last = time.monotonic()
        self._emitted: tuple[float, dict[str, Any]] | None = None
        self.bar = (
            tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **tqdm_kwargs)
            if sys.stderr.isatty()
            else None
        )

    def update(self, n: float = 1, **counts: Any) -> None:
        self.n += n
        self.counts.update(counts)
        if self.bar is not None:
            self.bar.update(n)
            if counts:
                self.bar.set_postfix(self.counts, refresh=False)
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self._emit()

    def _emit(self) -> None:
        self._emitted = (self.n, dict(self.counts))
        total = f"/{self.total:.0f}" if self.total else ""
        extra = " ".join(f"{k}={v}" for k, v in self.counts.items())
        self.log.info(
            "%s: %.0f%s %s %s",
            self.desc,
            self.n,
            total,
            self.unit,
            extra,
            extra={"counts": dict(self.counts), IN_MESSAGE: True},
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self._emitted != (self.n, self.counts):  # the last periodic line may already be the total
            self._emit()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
