"""Shared fixtures: trackers built by a small factory, the real content and settings, and one
set of running services for the integration and browser tests that need no special set-up."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clinic.paths import PROJECT_ROOT
from clinic.resources import Resources, get_resources
from local.services import RunningServices, running_services

TrackerFactory = Callable[..., Tracker]


@pytest.fixture
def resources() -> Resources:
    """The real vetted content and clinic settings (the files in the repository)."""
    return get_resources()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects what an action sends."""
    return CollectingDispatcher()


@pytest.fixture
def tracker_factory() -> TrackerFactory:
    """Builds a tracker whose latest user message has the given NLU result and slots."""

    def make(
        intent: str,
        text: str = "",
        confidence: float = 0.95,
        ranking: Optional[List[Dict[str, Any]]] = None,
        entities: Optional[List[Dict[str, Any]]] = None,
        slots: Optional[Dict[str, Any]] = None,
        sender_id: str = "test-conversation",
        events: Optional[List[Dict[str, Any]]] = None,
        active_loop: Optional[str] = None,
        requested_slot: Optional[str] = None,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
            "entities": entities or [],
        }
        return Tracker(
            sender_id=sender_id,
            slots={"last_answer_id": None, "disclaimer_shown": False, "body_area": None,
                   "requested_slot": requested_slot, **(slots or {})},
            latest_message=latest,
            events=(events or []) + [
                {"event": "user", "text": text, "parse_data": latest,
                 "input_channel": "rest"}
            ],
            paused=False,
            followup_action=None,
            active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return make


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    """The texts an action sent, in order."""
    return [message["text"] for message in dispatcher.messages]


@pytest.fixture
def escalation_store(tmp_path, monkeypatch):
    """The action server's escalation store, on a fresh SQLite file; no webhook."""
    from escalation.service import get_notifier, get_outbox, get_store

    monkeypatch.setenv("ESCALATION_DB_URL", f"sqlite:///{tmp_path / 'escalations.db'}")
    monkeypatch.setenv("ESCALATION_OUTBOX", str(tmp_path / "outbox.db"))
    monkeypatch.delenv("ESCALATION_WEBHOOK_URL", raising=False)
    caches = (get_store, get_notifier, get_outbox)
    for cache in caches:
        cache.cache_clear()
    store = get_store()
    yield store
    store.dispose()
    for cache in caches:
        cache.cache_clear()


#: The shared services' environment: what the tests using them need, and nothing that changes
#: what the other tests check (a second widget origin; a fixed widget session secret).
SHARED_SERVICES_ENV = {
    "WIDGET_ALLOWED_ORIGINS": "https://partner.example",
    "WIDGET_SESSION_SECRET": "browser-test-secret",
}


@pytest.fixture(scope="session")
def shared_services(tmp_path_factory) -> Iterator[RunningServices]:
    """Action server, Rasa server and web app, started once for every test that uses them.

    One start costs 20-40 s (Rasa loads the model); these tests only talk to the services, each
    in its own conversations. Tests that stop a service, set another environment or fill a
    limit (hostile input, the web app's vote limit) start their own.
    """
    model = PROJECT_ROOT / "models" / "clinic.tar.gz"
    assert model.exists(), f"{model} is missing: run `make train` (make test does it first)"
    work_dir = tmp_path_factory.mktemp("shared-services")
    with running_services(model, work_dir, extra_env=SHARED_SERVICES_ENV) as running:
        yield running
        assert running.process.poll() is None, "a shared service stopped during the tests"
