"""Generated hostile input against every HTTP entry point of the real, running services.

Rasa's REST channel, the action server's /webhook and the web app (sign-in form, staff pages,
JSON API with and without the token) get empty, huge, emoji, right-to-left, control-character,
lone-surrogate, HTML/JS and wrongly typed requests, missing fields and typed `/intent{...}`
shortcuts. None may get a 5xx or stop a server; every readable message gets a vetted reply;
an emergency sentence behind a typed shortcut still gets the emergency message; afterwards the
assistant still answers a normal question.

HOSTILE_INPUT_EXAMPLES sets the total number of generated requests (default 10,000: 40 % to
the REST channel, which costs the most per request, 25 % to the action server, 35 % to the
web app).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookies import SimpleCookie
from typing import Any, Dict, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.conversation_ids import rest_conversation_id
from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from escalation.store import EscalationStore
from local.services import RunningServices, running_services
from safety.user_input import clean_text
from webapp.staff_auth import hash_password

pytestmark = pytest.mark.integration

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
TOTAL = int(os.environ.get("HOSTILE_INPUT_EXAMPLES", "10000"))
REST_EXAMPLES = TOTAL * 2 // 5
ACTION_EXAMPLES = TOTAL // 4
WEBAPP_EXAMPLES = TOTAL - REST_EXAMPLES - ACTION_EXAMPLES
API_TOKEN = "hostile-test-token-0123456789"  # noqa: S105
STAFF_PASSWORD = "correct horse battery"  # noqa: S105
FUZZ_PREFIX = "fuzz-"
#: Sanic's REQUEST_MAX_HEADER_SIZE default (bytes).
MAX_HEADER_BYTES = 8192


class KeepAliveClient:
    """One persistent HTTP/1.1 connection; reconnects once when the server closed it."""

    def __init__(self, base_url: str, max_body: int = 100 * 1024 * 1024) -> None:
        self.max_body = max_body  # the server's REQUEST_MAX_SIZE
        parsed = urllib.parse.urlparse(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.connection: Optional[http.client.HTTPConnection] = None
        self.content_type = ""  # of the last response

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        """(status, body) of one request."""
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                self.content_type = response.getheader("content-type", "")
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.close()
                header_bytes = sum(len(k) + len(v) + 4 for k, v in (headers or {}).items())
                if (body is not None and len(body) > self.max_body) or \
                        header_bytes > MAX_HEADER_BYTES:
                    # Sanic refuses an oversized request (413/431) and closes the connection
                    # while it is still being sent: a refusal, not a crash (the next request
                    # and the final checks show the server is still up).
                    return 413, b""
                # An idle keep-alive connection the server timed out; a dead server fails
                # again on the second attempt.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Closes the connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> RunningServices:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp("hostile")
    extra = {"STAFF_USERS": f"nurse.kim:{hash_password(STAFF_PASSWORD)}",
             "STAFF_API_TOKEN": API_TOKEN, "ESCALATION_WEBHOOK_URL": "",
             # Fuzzed sign-ins all come from 127.0.0.1: they must not lock out staff_session.
             "STAFF_LOGIN_ADDRESS_FAILURES": "100000", "STAFF_LOGIN_ACCOUNT_FAILURES": "100000"}
    with running_services(MODEL, work_dir, extra_env=extra) as running:
        yield running
        assert running.process.poll() is None, "a service stopped during the test"


@pytest.fixture(scope="module")
def rest(services):
    client = KeepAliveClient(services.rasa_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def action_server(services):
    client = KeepAliveClient(services.action_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def webapp(services):
    # webapp/app.py: REQUEST_MAX_SIZE = 64 kB.
    client = KeepAliveClient(f"http://127.0.0.1:{services.env['WEBAPP_PORT']}", 64 * 1024)
    yield client
    client.close()


# ------------------------------------------------------------------------------ strategies
INTENTS = ["greet", "affirm", "deny", "emergency", "request_human", "stop", "ask_pain",
           "restart", "session_start", "nlu_fallback", "inform", "x" * 300]
ENTITY_NAMES = ["parent_name", "parent_phone", "contact", "consent", "child_age", "question",
                "body_area", "requested_slot", "age"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# Any code point, lone surrogates included (json.dumps sends them as \udXXX escapes).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
SPECIAL_TEXTS = st.sampled_from([
    "", " ", "\n\t", "\x00", "a\x00b", "\x1b[31mred", "\u202egnirts desrever", "\ufeff",
    "\ud800", "\udfff\ud800", "😀" * 50, "👨‍👩‍👧‍👦🏳️‍🌈", "هل الحقن مؤلم؟", "האם זה כואב?",
    "痛いですか", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %n", "'; DROP TABLE events; --", "x" * 100_000,
    "does it hurt? " * 7000, "😀" * 25_000, "/", "//", "/ /", "/emergency", "/affirm",
    "/deny", "/stop", "/restart", "/session_start", "/request_human",
    '/request_human{"parent_name": "x"}', '/request_human{"parent_phone":"+44 7700 900123"}',
    '/affirm{"consent": true}', '/inform{"contact": "a@b.co", "consent": true}',
    "/ask_pain@0.01", "/ask_pain@", "/ask_pain{", "/ask_pain{}}", '/ask_pain{"body_area": [1]}',
    '/ask_pain{"body_area": {"a": {"b": null}}}', "/greet he can't breathe",
])
INJECTIONS = st.builds(
    lambda intent, confidence, entities, rest: "/" + intent + confidence + entities + rest,
    st.sampled_from(INTENTS) | st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
    st.sampled_from(["", "@1.0", "@0", "@9.9.9", "@"]),
    st.one_of(st.just(""), st.dictionaries(st.sampled_from(ENTITY_NAMES), JSON_VALUES,
                                           max_size=3).map(json.dumps), st.just("{not json}")),
    st.sampled_from(["", " ", " hello", " he can't breathe", "\x00"]),
)
MESSAGES = st.one_of(ANY_TEXT, SPECIAL_TEXTS, INJECTIONS)
EMERGENCIES = st.sampled_from([
    "he can't breathe", "my son is struggling to swallow since his shots yesterday",
    "my daughter is having trouble breathing after the botox",
])
EMERGENCY_PREFIXES = st.sampled_from([
    '/greet{"a": 1} ', "/greet@1.0 ", "/affirm{} ", '/ask_pain{"body_area": "leg"} ', "/greet ",
    "/ ", '/request_human{"consent": true} ',
])
SENDERS = st.one_of(
    st.sampled_from([f"{FUZZ_PREFIX}a", f"{FUZZ_PREFIX}b", f"{FUZZ_PREFIX}c"]),
    st.uuids().map(lambda u: f"{FUZZ_PREFIX}{u.hex}"),
)
WRONG_TYPES = JSON_VALUES.filter(lambda v: not isinstance(v, str))
MISSING = object()


def body_from(fields: Dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if v is not MISSING}).encode()


REST_BODIES = st.one_of(
    # Well-formed requests with hostile text (most of them).
    st.builds(lambda s, m: ("text", s, m, body_from({"sender": s, "message": m})),
              SENDERS, MESSAGES),
    st.builds(lambda s, m: ("text", s, m, body_from({"sender": s, "message": m})),
              SENDERS, MESSAGES),
    st.builds(lambda s, m: ("text", s, m, body_from({"sender": s, "message": m})),
              SENDERS, MESSAGES),
    # Wrong types and missing fields.
    st.builds(lambda s, m: ("bad", None, None, body_from({"sender": s, "message": m})),
              st.one_of(SENDERS, WRONG_TYPES, ANY_TEXT, st.just(MISSING)),
              st.one_of(WRONG_TYPES, st.just(MISSING))),
    st.builds(lambda s, m: ("bad", None, None, body_from({"sender": s, "message": m})),
              st.one_of(WRONG_TYPES, st.just(MISSING), st.just(""), st.just("\ud800")),
              MESSAGES),
    # Not a JSON object at all.
    st.builds(lambda b: ("bad", None, None, b), st.one_of(
        st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.just(b""), st.just(b"{"), st.just(b'{"sender": "x", "message": "a"'),
    )),
)


# ---------------------------------------------------------------------------------- checks
def reply_patterns():
    """Every text the assistant may send: vetted answers, source lines, vetted messages."""
    resources = get_resources()
    exact = {resources.render(entry) for entry in resources.content.answers.values()}
    patterns = []
    marker = "\x00ANY\x00"
    for message_id, entry in resources.content.messages.items():
        names = set(re.findall(r"{(\w+)}", entry.text)) - set(
            resources.settings.template_values())
        if names:
            rendered = resources.render(entry, **{name: marker for name in names})
            patterns.append(re.compile(re.escape(rendered).replace(re.escape(marker), ".*"),
                                       re.DOTALL))
        else:
            exact.add(resources.message(message_id))
    return exact, patterns


EXACT_REPLIES, REPLY_PATTERNS = reply_patterns()


def assert_vetted(reply_text: str) -> None:
    assert (reply_text in EXACT_REPLIES or reply_text.startswith("Source: ")
            or any(p.fullmatch(reply_text) for p in REPLY_PATTERNS)), reply_text


#: Rasa's built-in commands a client may send (the web widget starts with /session_start);
#: they reset or start the conversation and need not say anything.
SILENT_COMMANDS = {"/restart", "/session_start", "/back"}


def send(rest: KeepAliveClient, body: bytes) -> Tuple[int, Any]:
    status, data = rest.request("POST", "/webhooks/rest/webhook", body,
                                {"Content-Type": "application/json"})
    assert status < 500, (status, body[:300], data[:300])
    return status, json.loads(data) if data else None


# ------------------------------------------------------------------------------------ tests
HYPOTHESIS = {"deadline": None, "database": None, "derandomize": True,
              "suppress_health_check": list(HealthCheck)}


@settings(max_examples=REST_EXAMPLES, **HYPOTHESIS)
@given(case=REST_BODIES)
def test_rest_channel_survives_hostile_requests(rest, case):
    kind, _sender, _message, body = case
    status, replies = send(rest, body)
    if kind == "bad":
        assert status in (200, 400)
        return
    assert status == 200 and isinstance(replies, list)
    if clean_text(_message).strip() not in SILENT_COMMANDS:
        assert replies, "every readable message gets a reply"
    for reply in replies:
        assert_vetted(reply.get("text", ""))


@settings(max_examples=50, **HYPOTHESIS)
@given(prefix=EMERGENCY_PREFIXES, sentence=EMERGENCIES)
def test_a_typed_intent_never_skips_the_emergency_message(rest, prefix, sentence):
    sender = f"{FUZZ_PREFIX}{uuid.uuid4().hex}"
    _, replies = send(rest, body_from({"sender": sender, "message": prefix + sentence}))
    assert replies[0]["text"] == get_resources().message("emergency")


ACTION_BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda action, tracker, domain: body_from(
            {"next_action": action, "tracker": tracker, "domain": domain, "version": "3.6.21"}),
        st.one_of(st.sampled_from(["action_answer_topic", "validate_escalation_form",
                                   "action_submit_escalation", "action_emergency",
                                   "action_clarify", "action_offer_escalation"]),
                  WRONG_TYPES, ANY_TEXT, st.just(MISSING)),
        st.one_of(JSON_VALUES, st.fixed_dictionaries(
            {"sender_id": st.one_of(ANY_TEXT, WRONG_TYPES), "slots": JSON_VALUES,
             "latest_message": JSON_VALUES, "events": JSON_VALUES}), st.just(MISSING)),
        st.one_of(JSON_VALUES, st.just(MISSING)),
    ),
)


@settings(max_examples=ACTION_EXAMPLES, **HYPOTHESIS)
@given(body=ACTION_BODIES)
def test_action_server_survives_hostile_requests(action_server, body):
    status, data = action_server.request("POST", "/webhook", body,
                                         {"Content-Type": "application/json"})
    assert status < 500, (status, body[:300], data[:300])


def quoted(text: str) -> str:
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


WEB_REQUESTS = st.one_of(
    st.builds(lambda user, password, csrf, cookie: (
        "POST", "/staff/login",
        urllib.parse.urlencode({"username": user, "password": password, "csrf": csrf},
                               encoding="utf-8", errors="surrogatepass").encode(),
        {"Content-Type": "application/x-www-form-urlencoded",
         "Cookie": f"staff_login_csrf={quoted(cookie)}"}),
        MESSAGES, MESSAGES, MESSAGES, MESSAGES),
    st.builds(lambda raw: ("POST", "/staff/login", raw,
                           {"Content-Type": "application/x-www-form-urlencoded"}),
              st.binary(max_size=300)),
    st.builds(lambda token, status: (
        "GET", f"/api/escalations?status={quoted(status)}", None,
        {"Authorization": token}),
        st.sampled_from([f"Bearer {API_TOKEN}", "Bearer", "Bearer wrong", "", "Basic eA=="]),
        MESSAGES),
    st.builds(lambda token, ref: ("GET", f"/api/escalations/{quoted(ref)}", None,
                                  {"Authorization": token}),
              st.sampled_from([f"Bearer {API_TOKEN}", "Bearer wrong"]),
              st.one_of(ANY_TEXT, st.just("ESC-2026-000001"))),
    st.builds(lambda token, ref, body: (
        "POST", f"/api/escalations/{quoted(ref)}/status", body,
        {"Authorization": token, "Content-Type": "application/json"}),
        st.sampled_from([f"Bearer {API_TOKEN}", "Bearer wrong"]),
        st.one_of(ANY_TEXT, st.just("ESC-2026-000001")),
        st.one_of(JSON_VALUES.map(lambda v: json.dumps(v).encode()), st.binary(max_size=100),
                  st.builds(lambda s, a: body_from({"status": s, "actor": a}),
                            st.one_of(JSON_VALUES, st.sampled_from(["open", "closed"])),
                            JSON_VALUES))),
    st.builds(lambda ref, session: ("GET", f"/staff/escalations/{quoted(ref)}", None,
                                    {"Cookie": f"staff_session={quoted(session)}"}),
              ANY_TEXT, MESSAGES),
    st.builds(lambda path: ("GET", "/staff/" + quoted(path), None, {}), ANY_TEXT),
)


@settings(max_examples=WEBAPP_EXAMPLES, **HYPOTHESIS)
@given(case=WEB_REQUESTS)
def test_webapp_survives_hostile_requests(webapp, case):
    method, path, body, headers = case
    status, data = webapp.request(method, path, body, headers)
    assert status < 500, (status, method, path, (body or b"")[:300], data[:300])
    if webapp.content_type.startswith("text/html"):
        # Pages render what parents typed (transcripts of the fuzzed emergencies) escaped;
        # the JSON API returns it as JSON strings, which is not a render.
        assert b"<script>alert(1)</script>" not in data
        assert b"onerror=alert" not in data


# ------------------------------------------------------------- regression tests of the fixes
def say(rest, sender, message):
    status, replies = send(rest, body_from({"sender": sender, "message": message}))
    assert status == 200
    return [reply.get("text") for reply in replies]


def test_typed_entities_do_not_fill_the_escalation_form(services, rest):
    resources = get_resources()
    sender = f"typed-{uuid.uuid4().hex}"
    first = say(rest, sender,
                '/request_human{"parent_name": "Eve Example", "parent_phone": "+44 7700 900123",'
                ' "contact": "+44 7700 900123", "consent": true}')
    assert resources.message("ask_contact") not in first
    say(rest, sender, "can I talk to a nurse please")
    # The form starts at its first question: nothing was filled by the typed entities.
    assert say(rest, sender, "/affirm") == [resources.message("ask_parent_name")]
    store = EscalationStore(services.env["ESCALATION_DB_URL"])
    assert [c for c in store.list() if c.conversation_id == rest_conversation_id(sender)] == []
    store.dispose()


@pytest.mark.parametrize("message", [
    "/greet he can't breathe",
    '/greet{"a": 1} he can\'t breathe',
    "/greet@1.0 my daughter is having trouble breathing after the botox",
    "/emergency",
])
def test_typed_intents_do_not_skip_the_emergency_path(rest, message):
    replies = say(rest, f"typed-{uuid.uuid4().hex}", message)
    assert replies[0] == get_resources().message("emergency")


def test_the_assistants_own_buttons_still_work(rest):
    resources = get_resources()
    sender = f"typed-{uuid.uuid4().hex}"
    assert say(rest, sender, "/ask_pain")[0] == resources.content.answers["pain"].text
    assert say(rest, sender, "what's the weather in Paris tomorrow?")[-1] == \
        resources.message("escalation_offer")
    assert say(rest, sender, "/affirm") == [resources.message("ask_parent_name")]
    assert say(rest, sender, "/stop") == [resources.message("escalation_cancelled")]


def test_malformed_rest_requests_get_a_400(rest):
    for body in (b"[1, 2]", b"null", b'{"sender": "x", "message": ["a"]}',
                 b'{"sender": "\\ud800", "message": "hi"}', b'{"message": "hi"}'):
        status, data = rest.request("POST", "/webhooks/rest/webhook", body,
                                    {"Content-Type": "application/json"})
        assert status == 400, body
        assert "error" in json.loads(data)
    # A lone surrogate in the text is replaced, not fatal.
    assert say(rest, f"typed-{uuid.uuid4().hex}", "does it hurt?\ud800")


def staff_session(base: str) -> Dict[str, str]:
    """Signs in to the staff inbox; returns the session cookie header."""
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(base + "/staff/login", timeout=30) as page:
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.read().decode()).group(1)
        login_cookie = SimpleCookie(page.headers["Set-Cookie"])["staff_login_csrf"].value
    form = urllib.parse.urlencode({"username": "nurse.kim", "password": STAFF_PASSWORD,
                                   "csrf": csrf}).encode()
    request = urllib.request.Request(base + "/staff/login", data=form,
                                     headers={"Cookie": f"staff_login_csrf={login_cookie}"})
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as redirect:  # 302 to the inbox
        session = SimpleCookie(redirect.headers["Set-Cookie"])["staff_session"].value
        return {"Cookie": f"staff_session={session}"}
    raise AssertionError("sign-in did not redirect")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_hostile_text_in_a_transcript_is_rendered_escaped(services, rest, webapp):
    """An emergency carrying markup becomes an urgent case; its page shows the text escaped."""
    sender = f"markup-{uuid.uuid4().hex}"
    replies = say(rest, sender, "<script>alert(1)</script><img src=x onerror=alert(1)> "
                                "he can't breathe")
    assert replies[0] == get_resources().message("emergency")
    store = EscalationStore(services.env["ESCALATION_DB_URL"])
    [case] = [c for c in store.list() if c.conversation_id == rest_conversation_id(sender)]
    store.dispose()
    status, page = webapp.request("GET", f"/staff/escalations/{case.reference}", None,
                                  staff_session(f"http://127.0.0.1:{services.env['WEBAPP_PORT']}"))
    assert status == 200 and case.reference.encode() in page
    assert b"<script>alert(1)</script>" not in page and b"<img src=x" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_everything_still_works_afterwards(services, rest):
    """Runs last in the module: the assistant answers, the form was never filled by fuzzing."""
    resources = get_resources()
    status, replies = send(rest, body_from({"sender": f"after-{uuid.uuid4().hex}",
                                            "message": "does it hurt?"}))
    assert status == 200
    assert replies[0]["text"] == resources.content.answers["pain"].text
    store = EscalationStore(services.env["ESCALATION_DB_URL"])
    try:
        fuzzed = [case for case in store.list(("open", "contacted", "closed"))
                  if case.conversation_id.startswith(rest_conversation_id(FUZZ_PREFIX))]
    finally:
        store.dispose()
    # Emergencies are recorded as urgent cases (safety rule 1); a routine case would mean the
    # generated input completed the escalation form.
    assert all(case.urgency == "urgent" and not case.consent for case in fuzzed)
    assert services.process.poll() is None


@pytest.fixture(scope="module", autouse=True)
def timing():
    started = time.monotonic()
    yield
    print(f"\nhostile-input module: {TOTAL} generated requests, "
          f"{time.monotonic() - started:.0f} s including start-up")
