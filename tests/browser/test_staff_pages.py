"""The staff pages in a real browser (Debian's Chromium, headless): styled, no CSP violation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from clinic.escalation_store import EscalationStore
from clinic.local_services import free_port
from clinic.paths import PROJECT_ROOT
from webapp.staff_auth import hash_password

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery"  # noqa: S105

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def webapp(tmp_path_factory):
    """The web app alone (`python -m webapp`), as `make run` starts it."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('staff') / 'escalations.db'}"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "WEBAPP_PORT": str(port),
           "ESCALATION_DB_URL": db_url, "STAFF_USERS": f"nurse.kim:{hash_password(PASSWORD)}"}
    env.pop("ESCALATION_WEBHOOK_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "webapp"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/staff/login", timeout=5).close()  # noqa: S310
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "web app did not start"
            time.sleep(0.3)
    store = EscalationStore(db_url)
    store.create(channel="rest", conversation_id="c", urgency="urgent", reason="emergency: x",
                 transcript=[], question="<script>alert(1)</script> breathing", consent=False)
    yield base
    store.dispose()
    process.terminate()
    process.wait(timeout=20)


def test_staff_pages_are_styled_without_csp_violations(webapp):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        console, dialogs = [], []
        page.on("console", lambda message: console.append(message.text))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(webapp + "/staff/login")
        page.get_by_label("User name").fill("nurse.kim")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Open escalations")
        header = page.locator("header")
        # The colours come from /staff/static/staff.css: the stylesheet was loaded and applied.
        expect(header).to_have_css("background-color", "rgb(29, 78, 137)")
        expect(page.locator(".urgent")).to_have_css("background-color", "rgb(176, 0, 32)")
        page.get_by_role("link", name="Answer feedback and escalated questions").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Answer feedback")
        expect(header).to_have_css("display", "flex")
        expect(page.get_by_role("cell", name="<script>alert(1)</script> breathing")).to_be_visible()
        browser.close()
    assert not [text for text in console if "Content Security Policy" in text], console
    assert dialogs == []
