"""/staff/answers and the staff pages' stylesheet, on the real app served in-process."""

import datetime as dt
import json
import re
import uuid
from http.cookies import SimpleCookie

import pytest

from escalation.store import EscalationStore, audit_log, escalations
from feedback.store import answer_feedback
from tests.unit.webapp.conftest import STAFF_PASSWORD, store_fixtures

PARENT = {"parent_name": "Alex Parentname", "contact": "alex.parent@example.com",
          "child_age": "7 years"}

pytestmark = pytest.mark.asyncio(loop_scope="package")


running, server = store_fixtures(EscalationStore, answer_feedback, audit_log, escalations)


async def get(client, path, headers=None):
    async with client.get(path, headers=headers or {}, allow_redirects=False) as resp:
        return resp.status, resp.headers, await resp.text()


async def login(client, username="nurse.kim"):
    """Signs in like a browser (the cookies are Secure, so they are sent by hand)."""
    status, headers, body = await get(client, "/staff/login")
    assert status == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    login_cookie = SimpleCookie(headers["Set-Cookie"])["staff_login_csrf"].value
    async with client.post("/staff/login", allow_redirects=False,
                           data={"username": username, "password": STAFF_PASSWORD, "csrf": csrf},
                           headers={"Cookie": f"staff_login_csrf={login_cookie}"}) as resp:
        assert resp.status == 302
        session = SimpleCookie(resp.headers["Set-Cookie"])["staff_session"].value
    return {"Cookie": f"staff_session={session}"}


async def vote(client, answer_id, helpful):
    """A vote from its own conversation, as the widget on the demo page sends it."""
    async with client.post("/api/feedback", data=json.dumps(
            {"answer_id": answer_id, "helpful": helpful, "vote_key": uuid.uuid4().hex}),
            headers={"Content-Type": "application/json",
                     "Origin": "http://127.0.0.1:8000"}) as resp:
        assert resp.status == 201


def escalate(store, reason, question, urgency="routine", minutes_ago=0):
    return store.create(
        channel="socketio", conversation_id="c", urgency=urgency, reason=reason,
        transcript=[{"speaker": "user", "text": question}], question=question, consent=True,
        now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago), **PARENT,
    )


def table_rows(html, heading):
    """The cell texts of each row of the table after `heading`."""
    section = html.split(heading, 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)
            if "<td" in row]


async def test_answers_page_needs_a_staff_login(server):
    client, store = server
    escalate(store, "out_of_scope", "can my son swim after it?")
    status, headers, body = await get(client, "/staff/answers")
    assert status == 302 and headers["Location"] == "/staff/login"
    assert "swim" not in body
    status, headers, _ = await get(client, "/staff/answers",
                                   headers={"Cookie": "staff_session=forged"})
    assert status == 302 and headers["Location"] == "/staff/login"


async def test_answers_listed_by_votes_most_unhelpful_first(server, resources):
    client, _ = server
    for answer_id, helpful in [("pain", True), ("pain", True), ("pain", False),
                               ("side_effects", False), ("side_effects", False),
                               ("safety", True)]:
        await vote(client, answer_id, helpful)
    status, headers, body = await get(client, "/staff/answers", await login(client))
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    rows = table_rows(body, "<h1>Answer feedback</h1>")
    answers = resources.content.answers
    assert rows[:3] == [
        [answers["side_effects"].title, "side_effects", "0", "2", "unsigned", "0"],
        [answers["pain"].title, "pain", "2", "1", "unsigned", "0"],
        [answers["safety"].title, "safety", "1", "0", "unsigned", "0"],
    ]
    # Then every answer nobody voted on yet, so none is missing from the list.
    assert [row[1] for row in rows[3:]] == [
        answer_id for answer_id in answers if answer_id not in {"pain", "side_effects", "safety"}
    ]
    assert all(row[2:] == ["0", "0", "unsigned", "0"] for row in rows[3:])


async def test_escalated_questions_newest_first_with_counts_by_reason(server):
    client, store = server
    older = escalate(store, "out_of_scope", "is there a clinic near the sea?", minutes_ago=30)
    newer = escalate(store, "ask_pain", "does the second injection hurt more?", minutes_ago=5)
    again = escalate(store, "out_of_scope", "can we fly the week after?", minutes_ago=1)
    store.set_status(older.reference, "closed", actor="nurse.kim")
    status, _, body = await get(client, "/staff/answers", await login(client))
    assert status == 200
    rows = table_rows(body, "<h2>Questions that ended in an escalation</h2>")
    assert [row[0] for row in rows] == [
        f'<a href="/staff/escalations/{case.reference}">{case.reference}</a>'
        for case in (again, newer, older)
    ]
    assert [row[3] for row in rows] == ["can we fly the week after?",
                                       "does the second injection hurt more?",
                                       "is there a clinic near the sea?"]
    counts = table_rows(body, "<h2>Escalations by reason</h2>")
    assert counts == [["out_of_scope", "–", "2"], ["ask_pain", "pain", "1"]]


async def test_everything_is_escaped(server):
    client, store = server
    escalate(store, "<b>reason</b>", "<script>alert('x')</script> does it hurt?")
    status, _, body = await get(client, "/staff/answers", await login(client))
    assert status == 200
    assert "<script>alert" not in body and "<b>reason" not in body
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; does it hurt?" in body
    assert "&lt;b&gt;reason&lt;/b&gt;" in body


async def test_no_personal_details_of_parents(server):
    client, store = server
    escalate(store, "out_of_scope",
             "please call 07700 900123 or write to sam.smith@example.org about swimming")
    status, _, body = await get(client, "/staff/answers", await login(client))
    assert status == 200
    for value in (*PARENT.values(), "07700 900123", "sam.smith@example.org"):
        assert value not in body
    assert "please call [phone removed] or write to [e-mail removed] about swimming" in body


async def test_staff_pages_use_the_stylesheet_and_no_inline_code(server):
    client, store = server
    case = escalate(store, "out_of_scope", "can we swim?")
    session = await login(client)
    pages = ["/staff/login", "/staff/", "/staff/answers", f"/staff/escalations/{case.reference}",
             "/staff/escalations/ESC-0000-000000"]
    for path in pages:
        status, headers, body = await get(client, path, session)
        assert status in (200, 404), path
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert '<link rel="stylesheet" href="/staff/static/staff.css">' in body, path
        assert not re.search(r"<style|<script|\sstyle=|\son[a-z]+=", body, re.I), path
    status, headers, css = await get(client, "/staff/static/staff.css")
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert ".urgent" in css and "header" in css
