"""Headless Debian chromium driven by Playwright against Django's live server (loopback only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """One browser per test: Playwright's sync API runs an event loop in this thread while it
    lives, so it must not outlive the test (later tests' ORM calls would see that loop)."""
    from playwright.sync_api import sync_playwright

    # The test's own ORM calls stay synchronous beside that loop: nothing for Django's guard to catch.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make services` installs it")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()
        # ORM calls made while Playwright runs see a context of their own, hence connections of
        # their own: close them here, or one would outlive the test database.
        connections.close_all()


class Watch:
    """Dialogs (any alert() means an injection ran) and console errors of a page."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    contexts = []

    def make(width: int = 1280, height: int = 900, *, javascript: bool = True) -> tuple[Any, Watch]:
        ctx = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        return page, Watch(page)

    yield make
    for ctx in contexts:
        ctx.close()
