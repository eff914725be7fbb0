"""The conversation lock store without Redis (tests/integration/test_lock_store_redis.py: with)."""

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from stores.locks import ClinicLockStore, describe, redis_lock_store


def test_in_memory_without_redis_url(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    store = ClinicLockStore()
    assert isinstance(store.backend, InMemoryLockStore)
    store.issue_ticket("parent")
    assert store.get_lock("parent") is not None
    assert store.health.ok


def test_redis_url_is_parsed():
    store = redis_lock_store("redis://:pw@cache.example:6380/3", socket_timeout=1)
    assert isinstance(store, RedisLockStore)
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.example", 6380, 3)
    assert "pw" not in describe("redis://:pw@cache.example:6380/3")


def test_bad_redis_url_is_refused():
    with pytest.raises(ValueError, match="REDIS_URL"):
        redis_lock_store("http://cache.example", socket_timeout=1)
