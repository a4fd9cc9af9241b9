"""Real headless Chromium (Debian's system browser, driven by Playwright) for the dashboard and
report.html. Skipped, with the reason, where the browser or Playwright is missing; Playwright
never downloads a browser here (executable_path points at the system one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = os.environ.get("BOTFAKES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PTB_BOT = Path(__file__).with_name("ptb_bot.py")
SCREENSHOTS = Path(os.environ.get("BOTFAKES_SCREENSHOTS", "")) if os.environ.get("BOTFAKES_SCREENSHOTS") else None

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if sync_playwright is None:
        reason = "playwright (python) is not installed: pip install -e '.[test]'"
    elif not os.path.exists(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM}: apt-get install chromium (or set BOTFAKES_CHROMIUM)"
    if reason:
        here = Path(__file__).parent
        for item in items:
            if here in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on the main
# thread while it is open, and pytest-asyncio cannot run another module's async tests on that
# worker until it is closed (pytest tears a module fixture down before the next module's tests).
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageErrors(list):
    """Console errors and uncaught exceptions of a page, as text."""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    errors = PageErrors()
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.errors = errors
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def runtime():
    """Fakes of their own per test: a page sees exactly this test's journal."""
    from botfakes.fakes.runtime import FakesRuntime

    with FakesRuntime(["botapi"]) as rt:
        yield rt


def screenshot(page, name: str) -> None:
    """Keep a screenshot where BOTFAKES_SCREENSHOTS says (to look at; nothing asserts on it)."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


class PtbBot:
    """tests/browser/ptb_bot.py (python-telegram-bot) as a process, against the fake Bot API."""

    def __init__(self, runtime, token: str, log: Path) -> None:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": runtime.url("botapi"),
               "PYTHONUNBUFFERED": "1"}
        self.log = log
        self._log_file = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, str(PTB_BOT)], env=env, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_file.close()

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def ptb_bots(runtime, tmp_path) -> Iterator:
    started: list[PtbBot] = []

    def start(token: str) -> PtbBot:
        bot = PtbBot(runtime, token, tmp_path / f"bot{len(started) + 1}.log")
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()
