"""The web widget in a real browser (Debian's Chromium, headless) against the real servers."""

from __future__ import annotations

import re

import pytest

from clinic.local_services import running_services
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
SHOTS = PROJECT_ROOT / "results" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    assert MODEL.exists(), f"{MODEL} is missing: run `make train`"
    work_dir = tmp_path_factory.mktemp("browser")
    with running_services(MODEL, work_dir, extra_env={
        "WIDGET_SESSION_SECRET": "browser-test-secret",
    }) as services:
        yield services


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ask(page, text):
    page.get_by_label(get_resources().message("widget_input_label")).fill(text)
    page.get_by_role("button", name=get_resources().message("widget_send")).click()


def test_conversation_history_emergency_and_hostile_input(site, browser):
    resources = get_resources()
    answers = resources.content.answers
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"http://127.0.0.1:{site.env['WEBAPP_PORT']}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Botox")
    shot(page, "01-demo-page")

    page.get_by_role("button", name=resources.message("widget_open")).click()
    log = page.get_by_role("log")
    expect(log).to_contain_text(resources.message("greet"), timeout=30_000)
    shot(page, "02-greeting")

    log.get_by_role("button", name=answers["what_is_botox"].title).click()
    expect(log).to_contain_text(answers["what_is_botox"].text, timeout=30_000)
    shot(page, "03-topic")

    ask(page, "does it hurt?")
    expect(log).to_contain_text(answers["pain"].text, timeout=30_000)
    expect(log).to_contain_text(f"Source: {answers['pain'].source}")
    feedback = log.get_by_role("group", name=resources.message("widget_helpful")).last
    feedback.get_by_role("button", name=resources.message("widget_helpful_yes")).click()
    expect(log).to_contain_text(resources.message("widget_helpful_thanks"))
    shot(page, "04-answer-with-source")

    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text(answers["pain"].text)
    expect(log).to_contain_text(answers["what_is_botox"].text)
    shot(page, "05-history-after-reload")

    ask(page, "he can't breathe properly since the injection")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(resources.message("emergency"), timeout=30_000)
    assert "cw-emergency" in alert.get_attribute("class")
    shot(page, "06-emergency-alert")

    hostile = "<img src=x onerror=alert(1)>"
    ask(page, hostile)
    expect(log.locator(".cw-user").last).to_have_text(hostile)
    expect(page.locator(".cw-root img")).to_have_count(0)
    page.wait_for_timeout(1500)
    assert dialogs == []
    shot(page, "07-html-as-text")

    # The vote was stored for the answer id, with nothing else.
    [row] = [r for r in _feedback_counts(site) if r.answer_id == "pain"]
    assert (row.helpful, row.unhelpful) == (1, 0)
    page.close()


def test_keyboard_only_on_a_phone(site, browser):
    resources = get_resources()
    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto(f"http://127.0.0.1:{site.env['WEBAPP_PORT']}/")
    # Tab to the launcher and open it with Enter.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "cw-launcher":
            break
    page.keyboard.press("Enter")
    input_box = page.get_by_label(resources.message("widget_input_label"))
    expect(input_box).to_be_focused()
    log = page.get_by_role("log")
    expect(log).to_contain_text(resources.message("greet"), timeout=30_000)
    panel = page.locator(".cw-panel").bounding_box()
    assert panel["width"] <= 375

    page.keyboard.type("how long does the injection take?")
    page.keyboard.press("Enter")
    answer = resources.content.answers["procedure_duration"].text
    expect(log).to_contain_text(answer, timeout=30_000)
    # Shift+Tab from the input reaches the "No" feedback button first.
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused in (resources.message("widget_helpful_no"), "")
    shot(page, "08-keyboard-phone")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name=resources.message("widget_open"))).to_be_focused()
    assert re.search("false", page.get_by_role(
        "button", name=resources.message("widget_open")).get_attribute("aria-expanded"))
    page.close()


def _feedback_counts(site):
    from clinic.feedback_store import FeedbackStore

    store = FeedbackStore(site.env["ESCALATION_DB_URL"])
    try:
        return store.counts()
    finally:
        store.dispose()
