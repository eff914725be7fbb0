import asyncio

from escalation import service as escalation_service
from escalation.service import get_outbox, record_escalation


async def test_a_case_kept_in_the_outbox_moves_in_once_the_store_is_back(
    escalation_store, monkeypatch
):
    """The process that kept the case moves it (the web app may not see its outbox)."""
    monkeypatch.setenv("ESCALATION_RETRY_SECONDS", "0.05")

    def broken(**_):
        raise ConnectionError("database is down")

    working = escalation_store.create_or_append
    monkeypatch.setattr(escalation_store, "create_or_append", broken)
    monkeypatch.setattr(escalation_store, "create", broken)
    kept = await record_escalation(
        urgency="urgent", reason="emergency: breathing", channel="socketio",
        conversation_id="session", transcript=[{"speaker": "user", "text": "help"}])
    assert kept.reference.startswith("ESC-") and get_outbox().waiting() == 1
    await asyncio.sleep(0.2)
    assert get_outbox().waiting() == 1  # still down: kept, tried again later

    monkeypatch.setattr(escalation_store, "create_or_append", working)
    monkeypatch.setattr(escalation_store, "create",
                        lambda **fields: working(**fields)[0])
    await asyncio.wait_for(escalation_service._draining["task"], 5)
    assert get_outbox().waiting() == 0
    [case] = escalation_store.list()
    assert case.reference == kept.reference and case.urgency == "urgent"
