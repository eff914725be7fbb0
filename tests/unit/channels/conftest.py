"""Every channel test runs with its own escalation store: the reply guard records the urgent
case of an emergency it answers itself (channels/reply_guard.py)."""

import pytest


@pytest.fixture(autouse=True)
def _own_escalation_store(escalation_store):
    """A fresh SQLite escalation store and outbox (tests/conftest.py), never var/."""
    return escalation_store
