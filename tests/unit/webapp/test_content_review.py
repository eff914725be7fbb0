"""/staff/content: clinicians sign off texts or request changes; staff cannot; all audited."""

import dataclasses
import re

import pytest

from knowledge.signoffs import (
    CHANGES_REQUESTED,
    SIGNED_OFF,
    SignoffStore,
    content_reviews,
    entry_hash,
    withheld_answers,
)
from tests.unit.webapp.conftest import store_fixtures
from tests.unit.webapp.test_answer_report import get, login, table_rows

pytestmark = pytest.mark.asyncio(loop_scope="package")


running, server = store_fixtures(SignoffStore, content_reviews, withheld_answers)


async def post(client, path, data, headers):
    async with client.post(path, data=data, headers=headers, allow_redirects=False) as resp:
        return resp.status, resp.headers, await resp.text()


async def review_form(client, headers, text_id):
    status, _, body = await get(client, f"/staff/content/{text_id}", headers)
    assert status == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    text_hash = re.search(r'name="text_hash" value="([^"]+)"', body).group(1)
    return body, {"csrf": csrf, "text_hash": text_hash}


async def test_staff_accounts_cannot_open_the_review_page_or_sign(server, resources):
    client, store = server
    staff = await login(client, "nurse.kim")
    for path in ("/staff/content", "/staff/content/pain"):
        status, _, body = await get(client, path, staff)
        assert status == 403 and "Only clinician accounts" in body
    _, form = await review_form(client, await login(client, "dr.lee"), "pain")
    _, _, inbox = await get(client, "/staff/", staff)
    staff_csrf = re.search(r'name="csrf" value="([^"]+)"', inbox).group(1)
    status, _, _ = await post(client, "/staff/content/pain/review",
                              {**form, "csrf": staff_csrf, "action": SIGNED_OFF}, staff)
    assert status == 403
    assert store.history() == []
    assert "/staff/content" not in inbox
    status, headers, _ = await get(client, "/staff/content")
    assert status == 302 and headers["Location"] == "/staff/login"


async def test_clinician_signs_off_and_requests_changes_with_an_audit(server, resources):
    client, store = server
    headers = await login(client, "dr.lee")
    _, form = await review_form(client, headers, "pain")
    pain = resources.content.answers["pain"]
    assert form["text_hash"] == entry_hash(pain)

    status, _, _ = await post(client, "/staff/content/pain/review",
                              {**form, "action": SIGNED_OFF, "note": "matches the article"},
                              headers)
    assert status == 302
    assert store.is_signed(pain)
    # A request for changes needs a comment.
    status, resp_headers, _ = await post(client, "/staff/content/pain/review",
                                         {**form, "action": CHANGES_REQUESTED}, headers)
    assert resp_headers["Location"] == "/staff/content/pain?error=comment"
    assert store.is_signed(pain)
    await post(client, "/staff/content/pain/review",
               {**form, "action": CHANGES_REQUESTED, "note": "name the numbing cream"}, headers)
    assert not store.is_signed(pain)

    body, _ = await review_form(client, headers, "pain")
    assert re.search(r'id="state">changes requested<', body)
    history = re.findall(r"<li>[^<]* – dr\.lee: ([a-z ]+)(?: – ([^<]*))?</li>", body)
    assert history == [("changes requested", "name the numbing cream"),
                       ("signed off", "matches the article")]
    status, _, listing = await get(client, "/staff/content", headers)
    assert status == 200 and "name the numbing cream" in listing


async def test_actions_need_the_csrf_token_and_the_text_the_reviewer_saw(server, resources):
    client, store = server
    headers = await login(client, "dr.lee")
    _, form = await review_form(client, headers, "onset")
    status, _, _ = await post(client, "/staff/content/onset/review",
                              {**form, "csrf": "forged", "action": SIGNED_OFF}, headers)
    assert status == 403
    status, resp_headers, _ = await post(client, "/staff/content/onset/review",
                                         {**form, "text_hash": "0" * 64, "action": SIGNED_OFF},
                                         headers)
    assert resp_headers["Location"] == "/staff/content/onset?error=changed"
    assert store.history() == []


async def test_every_text_is_listed_with_grade_and_the_unsigned_emergency_message_first(
        server, resources):
    client, _ = server
    status, _, body = await get(client, "/staff/content", await login(client, "dr.lee"))
    assert status == 200
    rows = table_rows(body, "<h1>Texts to review</h1>")
    ids = [re.sub(r"<[^>]+>", "", row[0]) for row in rows]
    assert ids[0] == "emergency"
    assert sorted(ids) == sorted(resources.content.parent_facing())
    kinds = {row[1] for row in rows}
    assert kinds == {"answer", "variant", "message"}
    pain = next(row for row in rows if ">pain<" in row[0])
    assert pain[2:6] == ["1", str(len(resources.content.answers["pain"].text.split())),
                         pain[4], "unsigned"]
    assert float(pain[4]) > 0


async def test_answer_report_shows_signoff_state_and_withheld_counts(server, resources):
    client, store = server
    store.record(resources.content.answers["pain"], SIGNED_OFF, "dr.lee")
    store.count_withheld("onset")
    status, _, body = await get(client, "/staff/answers", await login(client, "dr.lee"))
    assert status == 200
    rows = {row[1]: row[4:] for row in table_rows(body, "<h1>Answer feedback</h1>")}
    assert rows["pain"] == ['<a href="/staff/content/pain">signed</a>', "0"]
    assert rows["onset"] == ['<a href="/staff/content/onset">unsigned</a>', "1"]


async def test_the_word_diff_shows_what_changed_since_the_signoff(server, resources):
    client, store = server
    pain = resources.content.answers["pain"]

    older = dataclasses.replace(pain, text=pain.text.replace("cream", "lotion", 1))
    assert older.text != pain.text
    store.record(older, SIGNED_OFF, "dr.lee")
    body, _ = await review_form(client, await login(client, "dr.lee"), "pain")
    assert re.search(r'id="state">changed since sign-off<', body)
    assert "<del>" in body and "<ins>" in body
    assert re.search(r"<del>[^<]*lotion[^<]*</del> <ins>[^<]*cream[^<]*</ins>", body)
