"""Shared pieces of the admin's browser tests: Debian's Chromium under Playwright, screenshots, overflow.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for people to look at.
"""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.admin.flows import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# The page scrolls sideways when the document's scrollWidth passes its clientWidth. The admin also
# wraps its lists in a box that scrolls on its own (overflow-x: auto), which hides columns without
# widening the page: such a box counts too. Text cut on purpose with an ellipsis (a title holds
# all of it) and form fields do not.
HORIZONTAL_OVERFLOW_JS = """() => {
  const root = document.documentElement;
  const found = {};
  if (root.scrollWidth > root.clientWidth) found.document = root.scrollWidth - root.clientWidth;
  for (const el of document.body.querySelectorAll("*")) {
    if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth <= 1) continue;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) continue;
    const style = getComputedStyle(el);
    if (style.overflowX === "visible" || style.textOverflow === "ellipsis") continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (el.className ? "." + String(el.className).split(" ")[0] : "");
    found[name] = el.scrollWidth - el.clientWidth;
  }
  return found;
}"""


@contextmanager
def browser_page(monkeypatch, *, width: int = 1400, height: int = 1000):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium chromium-driver)")
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM checks are
    # plain blocking calls between browser steps, so Django's async-context guard is lifted.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # While Playwright's event loop runs, Django keys this thread's database connections by
            # context instead of by thread, so the test's own connection is not the one Django's
            # teardown closes; close it here, or it keeps the test database from being dropped.
            connections.close_all()


def shoot(page, name: str) -> None:
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def horizontal_overflow(page) -> dict[str, int]:
    """What scrolls sideways, and by how many CSS pixels: {} when the page fits its window."""
    return page.evaluate(HORIZONTAL_OVERFLOW_JS)


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#support-overview").wait_for()
