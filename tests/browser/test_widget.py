"""The web widget in a real browser (Debian's Chromium, headless) against the real servers."""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest

from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from local.services import running_services

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
SHOTS = PROJECT_ROOT / "results" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(shared_services):
    # The session's services (tests/conftest.py); nothing else votes on them.
    return shared_services


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
    # Shift+Tab from the input reaches the newest messages' controls first: a suggestion
    # button, the "No" feedback button or a tap-to-call link in the disclaimer, all in the log.
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("[document.activeElement.tagName,"
                            " Boolean(document.activeElement.closest('.cw-log'))]")
    assert focused[0] in ("BUTTON", "A") and focused[1], focused
    shot(page, "08-keyboard-phone")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name=resources.message("widget_open"))).to_be_focused()
    assert re.search("false", page.get_by_role(
        "button", name=resources.message("widget_open")).get_attribute("aria-expanded"))
    page.close()


def open_widget(page, site):
    """Opens the demo page's widget and waits for the greeting; returns the log."""
    resources = get_resources()
    page.goto(f"http://127.0.0.1:{site.env['WEBAPP_PORT']}/")
    page.get_by_role("button", name=resources.message("widget_open")).click()
    log = page.get_by_role("log")
    expect(log).to_contain_text(resources.message("greet"), timeout=30_000)
    return log


def stored(page, name):
    """A value the widget keeps in localStorage (`clinicWidget:<server>:<name>`)."""
    return page.evaluate(
        """name => { const key = Object.keys(localStorage).find(k => k.endsWith(":" + name));
                      return key ? JSON.parse(localStorage.getItem(key)) : null; }""", name)


def test_reload_opens_at_the_newest_message(site, browser):
    """Issue 15 item 1: after a long conversation a reload shows the emergency alert."""
    resources = get_resources()
    answers = resources.content.answers
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log = open_widget(page, site)
    for question, topic in (("does it hurt?", "pain"),
                            ("how long does the injection take?", "procedure_duration"),
                            ("can my son ride his bike after?", "aftercare_activities")):
        ask(page, question)
        expect(log).to_contain_text(answers[topic].text, timeout=30_000)
    ask(page, "he can't breathe properly since the injection")
    expect(page.get_by_role("alert")).to_contain_text(resources.message("emergency"),
                                                      timeout=30_000)
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text(resources.message("emergency"))
    expect(page.get_by_role("alert")).to_be_in_viewport()
    # The greeting is far above: the log really was long.
    assert page.evaluate("document.querySelector('.cw-log').scrollTop") > 200
    shot(page, "09-reload-at-newest")
    page.close()


def test_header_links_used_buttons_counter_and_no_vote(site, browser):
    """Issue 15 item 5: what parents expect of a clinic chat, on a phone."""
    resources = get_resources()
    settings = resources.settings
    answers = resources.content.answers
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log = open_widget(page, site)

    # The fixed line in the header, its emergency number a tap-to-call link.
    notice = page.locator(".cw-notice")
    expect(notice).to_have_text(resources.message("widget_notice"))
    expect(notice.get_by_role("link", name=settings.emergency_number)).to_have_attribute(
        "href", "tel:" + re.sub(r"[^0-9+]", "", settings.emergency_number))
    shot(page, "10-phone-header")

    # A topic button, once used, is disabled with its siblings (the keyboard skips them).
    greeting_buttons = log.locator(".cw-msg").first.get_by_role("button")
    greeting_buttons.filter(has_text=answers["pain"].title).click()
    expect(log).to_contain_text(answers["pain"].text, timeout=30_000)
    for index in range(greeting_buttons.count()):
        expect(greeting_buttons.nth(index)).to_be_disabled()

    # A source with a URL in the content file is a link; the parent's typed URL is not.
    ask(page, "who does the injections? see https://example.org/x")
    expect(log).to_contain_text(answers["who_injects"].text, timeout=30_000)
    url = re.search(r"https?://[^\s()]+", answers["who_injects"].source)[0]
    expect(log.locator(f'a[href="{url}"]').first).to_be_visible()
    expect(log.locator('a[href="https://example.org/x"]')).to_have_count(0)

    # A "No" vote is followed by an offer to ask again or to reach a clinician.
    feedback = log.get_by_role("group", name=resources.message("widget_helpful")).last
    feedback.get_by_role("button", name=resources.message("widget_helpful_no")).click()
    expect(log).to_contain_text(resources.message("widget_not_helpful"))
    offer = log.locator(".cw-msg").last
    expect(offer.get_by_role("button", name=resources.message("widget_ask_again"))).to_be_visible()
    shot(page, "11-after-no-vote")
    offer.get_by_role("button", name=resources.message("widget_ask_clinician")).click()
    expect(log).to_contain_text(resources.message("escalation_offer"), timeout=30_000)

    # The form ends with a reference number: it does not wrap at its hyphens; the clinic's
    # number in the confirmation is a tap-to-call link.
    log.locator(".cw-msg").last.get_by_role("button", name=resources.message("button_yes")).click()
    for expected, reply in (("ask_parent_name", "Alex Morgan"), ("ask_contact", "+1 555 0100 777"),
                            ("ask_child_age", "7"),
                            ("ask_question_confirm", "He is stiffer since the injection, why?")):
        expected_text = resources.message(expected, question="")
        expect(log.locator(".cw-bot").last).to_contain_text(expected_text[:25], timeout=30_000)
        ask(page, reply)
    expect(log).to_contain_text(resources.message("ask_consent"), timeout=30_000)
    ask(page, "yes")
    reference = log.locator(".cw-ref").last
    expect(reference).to_have_text(re.compile(r"ESC-\d{4}-\d+"), timeout=30_000)
    assert reference.evaluate("node => getComputedStyle(node).whiteSpace") == "nowrap"
    assert log.locator('a[href^="tel:"]').count() >= 1
    shot(page, "12-reference")

    # A counter before the 1,000-character limit; a longer text is not cut and not sent.
    box = page.get_by_label(resources.message("widget_input_label"))
    counter = page.locator(".cw-counter")
    expect(counter).to_be_hidden()
    box.fill("a" * 950)
    expect(counter).to_have_text(f"{resources.message('widget_chars_left')} 50")
    box.fill("a" * 1005)
    expect(counter).to_have_text(f"{resources.message('widget_too_long')} 5")
    sent = log.locator(".cw-user").count()
    page.get_by_role("button", name=resources.message("widget_send")).click()
    assert box.input_value() == "a" * 1005
    assert log.locator(".cw-user").count() == sent
    shot(page, "13-counter")
    page.close()


def test_start_again_clears_the_conversation_for_good(site, browser):
    """Issue 15 item 5: "Start again" on a shared device: new session, old one not restorable."""
    resources = get_resources()
    answers = resources.content.answers
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log = open_widget(page, site)
    ask(page, "does it hurt?")
    expect(log).to_contain_text(answers["pain"].text, timeout=30_000)
    old_session = stored(page, "session")
    assert old_session

    page.get_by_role("button", name=resources.message("widget_start_again")).click()
    expect(log).to_contain_text(resources.message("greet"), timeout=30_000)
    expect(log).not_to_contain_text(answers["pain"].text)
    page.wait_for_function("old => { const key = Object.keys(localStorage).find(k => "
                           "k.endsWith(':session')); const id = JSON.parse(localStorage"
                           ".getItem(key)); return id && id !== old; }", arg=old_session)
    assert "does it hurt" not in str(stored(page, "transcript"))

    # Someone puts the old id back (e.g. from a backup of the browser's storage): the server
    # does not resume that conversation.
    page.evaluate("""old => {
        const key = Object.keys(localStorage).find(k => k.endsWith(':session'));
        localStorage.setItem(key, JSON.stringify(old)); }""", old_session)
    page.reload()
    page.wait_for_function("old => { const key = Object.keys(localStorage).find(k => "
                           "k.endsWith(':session')); return JSON.parse(localStorage"
                           ".getItem(key)) !== old; }", arg=old_session, timeout=30_000)
    page.close()


def test_server_restart_and_offline_with_a_page_open(browser, tmp_path):
    """Issue 15 items 2 and 3: the services restart while a parent has the widget open.

    While they are down the widget says "Reconnecting…" and keeps the notice with the emergency
    number in view; a question asked meanwhile is marked "not sent yet" and answered once the
    services are back, without a reload.
    """
    resources = get_resources()
    answers = resources.content.answers
    secret = {"WIDGET_SESSION_SECRET": "browser-restart-secret"}
    page = browser.new_page(viewport={"width": 390, "height": 844})
    with ExitStack() as first:
        site = first.enter_context(running_services(MODEL, tmp_path, extra_env=secret))
        ports = {name: site.env[name] for name in ("RASA_PORT", "ACTION_SERVER_PORT",
                                                   "ACTION_ENDPOINT_URL", "WEBAPP_PORT")}
        log = open_widget(page, site)
        ask(page, "does it hurt?")
        expect(log).to_contain_text(answers["pain"].text, timeout=30_000)
    # The services are stopped.
    status = page.locator(".cw-status")
    expect(status).to_contain_text(resources.message("widget_reconnecting"), timeout=30_000)
    offline_note = page.get_by_role("alert")
    expect(offline_note).to_have_text(resources.message("widget_offline"), timeout=30_000)
    expect(offline_note).to_be_in_viewport()
    ask(page, "how long does the injection take?")
    question = log.locator(".cw-user").last
    expect(question).to_contain_text(resources.message("widget_queued"))
    expect(question.get_by_role("button", name=resources.message("widget_retry"))).to_be_visible()
    shot(page, "14-offline-queued")
    expect(offline_note).to_be_in_viewport()

    with running_services(MODEL, tmp_path, extra_env={**secret, **ports}):
        expect(log).to_contain_text(answers["procedure_duration"].text, timeout=60_000)
        expect(status).to_be_hidden()
        expect(question).not_to_contain_text(resources.message("widget_queued"))
        expect(page.locator(".cw-typing")).to_be_hidden()
        # The conversation is the same one: the first answer is still there, once.
        expect(log.get_by_text(answers["pain"].text)).to_have_count(1)
        shot(page, "15-back-online")
    page.close()


def _feedback_counts(site):
    from feedback.store import FeedbackStore

    store = FeedbackStore(site.env["ESCALATION_DB_URL"])
    try:
        return store.counts()
    finally:
        store.dispose()
