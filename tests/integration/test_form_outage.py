"""A tracker-store outage in the middle of the escalation form: the parent is told, not dropped."""

from __future__ import annotations

import uuid

import pytest

from clinic.resources import get_resources
from tests.integration.test_faults import health, texts

pytestmark = pytest.mark.integration


def test_form_during_a_tracker_store_outage_says_requests_cannot_be_taken(
        tracker_in_postgres):
    msg = get_resources().message
    database, services = tracker_in_postgres
    sender = f"o-{uuid.uuid4().hex}"
    assert texts(services.send(sender, "I want to talk to a person"))[-1] == msg(
        "escalation_offer")
    assert texts(services.send(sender, "yes")) == [msg("ask_parent_name")]

    database.stop()
    # The form cannot go on (its state is in the store): the parent is told so, with the
    # clinic's number, instead of a form that silently starts over afterwards.
    replies = texts(services.send(sender, "Alex Morgan"))
    assert replies[-1] == msg("store_unavailable"), replies
    # Vetted answers still go on, with the same notice.
    replies = texts(services.send(sender, "does it hurt?"))
    assert get_resources().content.answers["pain"].text in replies
    assert replies[-1] == msg("store_unavailable")
    assert health(services.rasa_url)[0] == 503

    database.start()
    # Back: the form resumes at the step it was at, and no notice.
    assert texts(services.send(sender, "Alex Morgan")) == [msg("ask_contact")]
