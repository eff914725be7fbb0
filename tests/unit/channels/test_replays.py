import shutil
from types import SimpleNamespace

import pytest

from channels.replays import RecentUpdates, lock_store_redis
from local.services import free_port
from stores.locks import ClinicLockStore
from tests.integration.test_faults import redis_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_update_is_new_once_within_the_window():
    clock = Clock()
    recent = RecentUpdates("telegram", window=60, memory=100, clock=clock)
    assert await recent.first_time(7)
    assert not await recent.first_time(7)
    assert not await recent.first_time("7")
    assert await recent.first_time(8)
    clock.now += 61
    assert await recent.first_time(7)


async def test_updates_without_an_id_are_always_new():
    recent = RecentUpdates("facebook", window=60, memory=100)
    for _ in range(2):
        assert await recent.first_time(None)
        assert await recent.first_time("")


async def test_memory_is_bounded_oldest_forgotten_first():
    recent = RecentUpdates("whatsapp", window=60, memory=3)
    for update_id in ("a", "b", "c", "d"):
        assert await recent.first_time(update_id)
    assert len(recent._seen) == 3
    assert await recent.first_time("a")  # forgotten
    assert not await recent.first_time("d")


def app_with_lock_store(monkeypatch, redis_url=None):
    """A Sanic app stand-in holding an agent with the project's lock store."""
    if redis_url:
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(
        lock_store=ClinicLockStore())))


def test_without_redis_nothing_is_shared(monkeypatch):
    assert lock_store_redis(app_with_lock_store(monkeypatch)) is None
    assert lock_store_redis(SimpleNamespace(ctx=SimpleNamespace())) is None


async def test_the_lock_stores_redis_sees_replays_sent_to_another_replica(monkeypatch):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (make system-packages)")
    port = free_port()
    with redis_server(port):
        app = app_with_lock_store(monkeypatch, f"redis://127.0.0.1:{port}/0")
        redis = lock_store_redis(app)
        assert redis is not None
        replica_1 = RecentUpdates("whatsapp", window=600, memory=100)
        replica_2 = RecentUpdates("whatsapp", window=600, memory=100)
        assert not await replica_1.is_replay(app, "SM1")
        assert await replica_2.is_replay(app, "SM1")
        assert await replica_2.is_replay(app, "SM1")
        assert 590 <= redis.ttl("clinic:update:whatsapp:SM1") <= 600
        assert replica_2._seen == {}  # kept in Redis, not in the process


async def test_redis_down_falls_back_to_this_process(monkeypatch, caplog):
    app = app_with_lock_store(monkeypatch, f"redis://127.0.0.1:{free_port()}/0")  # nothing there
    recent = RecentUpdates("telegram", window=600, memory=100)
    assert not await recent.is_replay(app, 5)
    assert await recent.is_replay(app, 5)
    assert "Redis did not answer" in caplog.text


@pytest.mark.parametrize("window", ["600", "30"])
def test_the_window_comes_from_the_environment(monkeypatch, window):
    monkeypatch.setenv("REPLAY_WINDOW_SECONDS", window)
    assert RecentUpdates("telegram").window == float(window)
