"""The staff pages in a real browser (Debian's Chromium, headless): styled, no CSP violation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from clinic.paths import PROJECT_ROOT
from escalation.store import EscalationStore
from local.services import free_port
from tests.browser.test_widget import shot
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
    for number, name in enumerate(("Morgan Whitaker-Fairweather", "Robin Ashdown")):
        store.create(channel="socketio", conversation_id=f"family-{number}", urgency="routine",
                     reason="request_human", transcript=[], parent_name=name,
                     contact=f"{name.split()[0].lower()}@example.org", consent=True)
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


def signed_in_page(browser, base, **context):
    page = browser.new_page(**context)
    page.goto(base + "/staff/login")
    page.get_by_label("User name").fill("nurse.kim")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open escalations")
    return page


def page_scrolls_sideways(page):
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_inbox_fits_a_phone_and_search_and_filters_work(webapp):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = signed_in_page(browser, webapp, viewport={"width": 390, "height": 844})
        rows = page.locator("table.cases tbody tr")
        expect(rows).to_have_count(3)
        # The 8-column table made the page 904 px wide here: it scrolled sideways.
        assert not page_scrolls_sideways(page)
        expect(page.get_by_text("Asked for a person").first).to_be_visible()
        shot(page, "20-staff-inbox-phone")

        page.get_by_label("Search (reference, name or contact)").fill("whitaker")
        page.get_by_role("button", name="Show").click()
        expect(rows).to_have_count(1)
        expect(page.locator(".count")).to_contain_text("1 case")
        rows.first.get_by_role("link").click()
        expect(page.get_by_text("Morgan Whitaker-Fairweather")).to_be_visible()
        assert not page_scrolls_sideways(page)
        shot(page, "21-staff-case-phone")
        page.go_back()

        page.get_by_label("Search (reference, name or contact)").fill("")
        page.get_by_label("Urgency").select_option("urgent")
        page.get_by_role("button", name="Show").click()
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".urgent")).to_be_visible()
        page.get_by_label("Urgency").select_option("")
        page.get_by_label("Status").select_option("closed")
        page.get_by_role("button", name="Show").click()
        expect(rows).to_have_count(0)
        expect(page.get_by_role("heading", level=1)).to_have_text("Closed escalations")
        expect(page.get_by_text("No cases.")).to_be_visible()
        browser.close()
