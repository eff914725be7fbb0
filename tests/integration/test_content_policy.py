"""CONTENT_POLICY=signed on the real servers, over REST and the widget's socket.io channel.

A signed answer is sent, an unsigned one is withheld with the hand-over and the offer of a
clinician (and counted), and the emergency message is sent although nobody signed it.
"""

from __future__ import annotations

import uuid

import pytest

from clinic.paths import PROJECT_ROOT
from clinic.resources import get_resources
from knowledge.signoffs import SIGNED_OFF, SignoffStore
from local.services import RunningServices, running_services
from stores.urls import sqlite_url
from tests.integration.test_widget_channel import Widget

MODEL = PROJECT_ROOT / "models" / "clinic.tar.gz"
ORIGIN = "https://partner.example"
EMERGENCY = "my son can't breathe properly since the botox injection"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> RunningServices:
    assert MODEL.exists(), f"{MODEL} is missing: run `make train`"
    work_dir = tmp_path_factory.mktemp("policy")
    # Signed before the servers start, in the database they use (running_services' default).
    store = SignoffStore(sqlite_url(work_dir / "escalations.db"))
    store.record(get_resources().content.answers["pain"], SIGNED_OFF, "dr.lee")
    store.dispose()
    with running_services(MODEL, work_dir, extra_env={
        "CONTENT_POLICY": "signed", "WIDGET_ALLOWED_ORIGINS": ORIGIN,
    }) as running:
        yield running


@pytest.fixture
def withheld(services):
    store = SignoffStore(services.env["ESCALATION_DB_URL"])
    yield store.withheld_counts
    store.dispose()


def texts(replies):
    return [reply.get("text") for reply in replies]


def test_rest_sends_signed_withholds_unsigned_and_always_the_emergency(services, withheld):
    resources = get_resources()
    answers = resources.content.answers
    sender = f"policy-{uuid.uuid4().hex}"

    signed = texts(services.send(sender, "does it hurt?"))
    assert signed == [answers["pain"].text, f"Source: {answers['pain'].source}",
                      resources.message("disclaimer")]

    unsigned = texts(services.send(sender, "how long does the injection take?"))
    assert answers["procedure_duration"].text not in unsigned
    assert unsigned == [resources.message("answer_withheld"),
                        resources.message("escalation_offer")]
    assert resources.settings.phone in unsigned[0]
    assert withheld() == {"procedure_duration": 1}

    emergency = texts(services.send(f"policy-{uuid.uuid4().hex}", EMERGENCY))
    assert emergency[0] == resources.message("emergency")


async def test_widget_sends_signed_withholds_unsigned_and_always_the_emergency(services):
    resources = get_resources()
    answers = resources.content.answers
    widget = Widget(services, ORIGIN)
    session = await widget.open()
    try:
        signed = await widget.say("does it hurt?", session, count=3)
        assert texts(signed) == [answers["pain"].text, f"Source: {answers['pain'].source}",
                                 resources.message("disclaimer")]
        unsigned = await widget.say("how long does the injection take?", session, count=2)
        assert texts(unsigned) == [resources.message("answer_withheld"),
                                   resources.message("escalation_offer")]
        emergency = await widget.say(EMERGENCY, session, count=1)
        assert texts(emergency)[0] == resources.message("emergency")
    finally:
        await widget.client.disconnect()
