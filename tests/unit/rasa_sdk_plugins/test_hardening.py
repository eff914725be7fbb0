import json
import zlib

import pytest

from rasa_sdk_plugins import action_call_problem

VALID = {"next_action": "action_answer_topic", "version": "3.6.21", "domain": {},
         "tracker": {"sender_id": "c", "slots": {}, "latest_message": {}, "events": [],
                     "paused": False, "followup_action": None, "active_loop": {},
                     "latest_action_name": "action_listen", "latest_event_time": 1.5}}


def encoded(value):
    return json.dumps(value).encode()


def test_an_action_call_from_rasa_is_accepted():
    assert action_call_problem(encoded(VALID)) is None
    assert action_call_problem(zlib.compress(encoded(VALID)), deflated=True) is None


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b"5", b"\xff\xfe"])
def test_not_a_json_object(body):
    assert action_call_problem(body) == "the body must be a JSON object"


@pytest.mark.parametrize("change,problem", [
    ({"next_action": ["a"]}, "next_action must be an action name"),
    ({"next_action": ""}, "next_action must be an action name"),
    ({"version": 3}, "version must be a string"),
    ({"domain": []}, "domain must be an object"),
    ({"tracker": []}, "tracker must be an object with a sender_id"),
    ({"tracker": {"slots": {}}}, "tracker must be an object with a sender_id"),
    ({"tracker": {"sender_id": "c", "slots": []}}, "tracker.slots has the wrong type"),
    ({"tracker": {"sender_id": "c", "events": [1]}}, "tracker.events must be objects"),
])
def test_malformed_calls_are_named(change, problem):
    assert action_call_problem(encoded({**VALID, **change})) == problem


def test_a_broken_deflate_body():
    assert action_call_problem(b"not deflated", deflated=True) == "the body must be a JSON object"


def test_the_action_server_runs_without_sanic_cors():
    # Only the Rasa server calls the action server; CORS matching was 30 % of its CPU.
    from rasa_sdk.endpoint import create_app
    from sanic_cors.extension import CORSErrorHandler

    from rasa_sdk_plugins import _Hardening

    app = create_app("actions", cors_origins="*")
    _Hardening.attach_sanic_app_extensions(app)
    listeners = [future.listener for future in app._future_listeners]
    listeners += [listener for group in app.listeners.values() for listener in group]
    assert not [f for f in listeners if getattr(f, "__qualname__", "").startswith("CORS.")]
    assert not isinstance(app.error_handler, CORSErrorHandler)
    # The hardening's own handler is on the handler Sanic uses.
    assert app.error_handler.lookup(RuntimeError(), None).__name__ == "internal_error"
