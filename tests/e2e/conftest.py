"""A real server on loopback and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from egards.app import create_app
from egards.config import Settings
from egards.db import Database, make_engine
from egards.demo.generate import generate
from egards.migrate import upgrade
from tests.conftest import REQUIRE_ALL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served(settings: Settings, db: Database) -> Iterator[str]:
    """The app on a free loopback port, in a thread, until the block ends: its address. The
    socket is bound here and handed to the server, so that no other process (another xdist
    worker's server) can take the port between choosing it and listening on it."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    """The demo served once for the session: its address and its database (for what a
    browser cannot read, such as a portal sign-in link waiting in the outbox)."""
    data_dir: Path = tmp_path_factory.mktemp("e2e")
    settings = Settings(data_dir=data_dir, secret_key="e2e-" + "k" * 40, default_locale="en")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    generate(db, customers=60, seed=3)
    with served(settings, db) as url:
        yield url, db


@pytest.fixture(scope="session")
def live_server(live_app: tuple[str, Database]) -> str:
    return live_app[0]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if REQUIRE_ALL:
            pytest.fail(f"{CHROMIUM} is missing (EGARDS_REQUIRE_ALL=1 forbids skipping)")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []  # the console's own pages work under its Content-Security-Policy
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert refused == []
