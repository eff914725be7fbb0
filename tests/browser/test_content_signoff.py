"""Clinician sign-off in a real browser, and what the action server then serves (issue 14).

A clinician signs off an answer on /staff/content and the action server (CONTENT_POLICY=signed)
sends it; a `staff` account can neither open the page nor sign; editing the text in content/
withholds the answer again; the history lists both reviews.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, List

import pytest

from clinic.paths import CONTENT_DIR, PROJECT_ROOT
from clinic.resources import get_resources
from local.services import _wait_until_up, free_port
from tests.browser.test_staff_pages import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from webapp.staff_auth import hash_password

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser


class Servers:
    """The web app and the action server on a copy of content/, restartable after an edit."""

    def __init__(self, work: Path) -> None:
        self.content = work / "content"
        shutil.copytree(CONTENT_DIR, self.content)
        self.web_port, self.action_port = free_port(), free_port()
        stored = hash_password(PASSWORD)
        self.env = {
            **os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CLINIC_CONTENT_DIR": str(self.content),
            "CONTENT_POLICY": "signed", "WEBAPP_PORT": str(self.web_port),
            "SANIC_HOST": "127.0.0.1", "ESCALATION_DB_URL": f"sqlite:///{work / 'db.sqlite'}",
            "STAFF_USERS": f"nurse.kim:{stored}:staff,dr.lee:{stored}:clinician",
        }
        self.env.pop("ESCALATION_WEBHOOK_URL", None)
        self.processes: List[subprocess.Popen] = []

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        for command, url in (
            ([sys.executable, "-m", "webapp"], self.site + "/staff/login"),
            ([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port",
              str(self.action_port)], f"http://127.0.0.1:{self.action_port}/health"),
        ):
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env,  # noqa: S603
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.processes.append(process)
            _wait_until_up(url, process, 90)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=20)
        self.processes = []

    def ask_pain(self) -> List[str]:
        """The texts the action server sends for "does it hurt?" (intent ask_pain)."""
        latest: Dict = {"text": "does it hurt?", "intent": {"name": "ask_pain", "confidence": 1},
                        "intent_ranking": [{"name": "ask_pain", "confidence": 1}],
                        "entities": []}
        call = {"next_action": "action_answer_topic", "version": "3.6.2", "domain": {},
                "tracker": {"sender_id": "browser-test", "slots": {}, "latest_message": latest,
                            "events": [{"event": "user", "text": "does it hurt?",
                                        "parse_data": latest}],
                            "paused": False, "followup_action": None, "active_loop": {},
                            "latest_action_name": "action_listen"}}
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.action_port}/webhook", data=json.dumps(call).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return [reply.get("text") for reply in json.load(response)["responses"]]


@pytest.fixture
def servers(tmp_path):
    running = Servers(tmp_path)
    running.start()
    yield running
    running.stop()


def sign_in(browser, site: str, name: str):
    page = browser.new_context().new_page()
    page.goto(site + "/staff/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open escalations")
    return page


def test_clinician_signs_off_an_answer_that_is_then_served_until_its_text_changes(servers):
    resources = get_resources()
    pain, withheld = resources.content.answers["pain"], resources.message("answer_withheld")
    assert servers.ask_pain()[0] == withheld

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        staff = sign_in(browser, servers.site, "nurse.kim")
        expect(staff.get_by_role("link", name="Texts to review (sign-off)")).to_have_count(0)
        csrf = staff.locator("input[name=csrf]").first.get_attribute("value")
        staff.goto(servers.site + "/staff/content/pain")
        expect(staff.get_by_role("heading", level=1)).to_have_text("Not allowed")
        refused = staff.request.post(servers.site + "/staff/content/pain/review", form={
            "csrf": csrf, "action": "signed_off", "text_hash": "x"}, max_redirects=0)
        assert refused.status == 403

        clinician = sign_in(browser, servers.site, "dr.lee")
        clinician.get_by_role("link", name="Texts to review (sign-off)").click()
        clinician.get_by_role("link", name="pain", exact=True).click()
        expect(clinician.locator("#state")).to_have_text("unsigned")
        clinician.get_by_label("Note (optional)").fill("Matches the article")
        clinician.get_by_role("button", name="Sign off").click()
        expect(clinician.locator("#state")).to_have_text("signed")
        assert servers.ask_pain()[:2] == [pain.text, f"Source: {pain.source}"]

        # A content edit (and the redeploy that loads it) invalidates the sign-off.
        answers_file = servers.content / "answers.yml"
        answers_file.write_text(answers_file.read_text(encoding="utf-8").replace(
            "A numbing cream is put on the skin", "A numbing cream goes on the skin", 1),
            encoding="utf-8")
        servers.stop()
        servers.start()
        assert servers.ask_pain()[0] == withheld

        clinician = sign_in(browser, servers.site, "dr.lee")
        clinician.goto(servers.site + "/staff/content/pain")
        expect(clinician.locator("#state")).to_have_text("changed since sign-off")
        expect(clinician.locator(".diff del")).to_contain_text(["is put"])
        expect(clinician.locator(".diff ins")).to_contain_text(["goes"])
        clinician.get_by_label("What should change (required)").fill("Keep 'is put on'")
        clinician.get_by_role("button", name="Request changes").click()
        expect(clinician.locator("#state")).to_have_text("changes requested")
        history = clinician.locator("ul.history li")
        expect(history).to_have_count(2)
        expect(history.nth(0)).to_contain_text("dr.lee: changes requested – Keep 'is put on'")
        expect(history.nth(1)).to_contain_text("dr.lee: signed off – Matches the article")
        clinician.goto(servers.site + "/staff/content")
        expect(clinician.locator("ul.history li")).to_have_count(2)
        browser.close()
