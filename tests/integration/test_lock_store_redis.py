"""The conversation lock store on a real Redis server (started here), down, and restarted.

Moved from tests/unit/stores/test_locks.py: these start redis-server or wait out retries.
"""

import pytest
import redis
from rasa.core.lock_store import LockError

from local.services import free_port
from stores.locks import ClinicLockStore
from tests.integration.test_faults import redis_server

pytestmark = pytest.mark.integration


async def test_redis_down_is_a_lock_error_and_recorded(monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    store = ClinicLockStore()
    with pytest.raises(LockError):
        async with store.lock("parent"):
            pass
    assert store.health.ok is False
    assert store.health.last_error is not None
    with pytest.raises(redis.exceptions.ConnectionError):
        store.ping()


@pytest.fixture
def redis_url(monkeypatch):
    """A real Redis on a free port, as the cluster runs it; lease 1 s so the tests are short."""
    port = free_port()
    with redis_server(port):
        url = f"redis://127.0.0.1:{port}/0"
        monkeypatch.setenv("REDIS_URL", url)
        monkeypatch.setenv("TICKET_LOCK_LEASE", "1")
        yield url


DEAD_HOLDER = """
import asyncio, os, signal, sys
from stores.locks import ClinicLockStore

async def main():
    async with ClinicLockStore().lock(sys.argv[1]):
        print("held", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # a replica killed mid-turn

asyncio.run(main())
"""


async def test_a_turn_whose_lock_holder_was_killed_proceeds_within_seconds(redis_url):
    import asyncio
    import subprocess
    import sys
    import time

    holder = subprocess.run([sys.executable, "-c", DEAD_HOLDER, "parent"],  # noqa: S603
                            capture_output=True, text=True, timeout=60)
    assert holder.stdout.strip() == "held" and holder.returncode == -9, holder.stderr[-500:]
    started = time.monotonic()

    async def next_turn() -> None:
        async with ClinicLockStore().lock("parent"):
            pass

    await asyncio.wait_for(next_turn(), timeout=15)
    waited = time.monotonic() - started
    # Rasa's 60 s ticket kept the next turn waiting a minute; the lease is 1 s here.
    assert waited < 3, waited


async def test_a_live_holder_keeps_its_lock_past_the_lease(redis_url):
    import asyncio

    store, order = ClinicLockStore(), []

    async def turn(name: str, hold: float) -> None:
        async with store.lock("parent"):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    first = asyncio.create_task(turn("first", 3.5))  # 3.5 leases: renewed three times
    await asyncio.sleep(0.2)
    await asyncio.gather(first, turn("second", 0))
    assert order == ["first in", "first out", "second in", "second out"]
    assert store.get_lock("parent") is None  # the last ticket took the lock with it


async def test_the_lease_is_capped_by_the_lifetime(redis_url, monkeypatch):
    monkeypatch.setenv("TICKET_LOCK_LIFETIME", "0.5")
    with pytest.raises(ValueError, match="TICKET_LOCK_LEASE"):
        ClinicLockStore()


async def test_a_turn_waits_for_a_redis_restart_instead_of_failing(monkeypatch):
    import asyncio

    port = free_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    store = ClinicLockStore()  # Redis is down (killed, being restarted)

    async def restart_redis_soon() -> None:
        await asyncio.sleep(1)
        stack.enter_context(redis_server(port))

    from contextlib import ExitStack

    with ExitStack() as stack:
        restart = asyncio.create_task(restart_redis_soon())
        async with store.lock("parent"):
            pass
        await restart
    assert store.health.failures >= 1  # it was down, and reported
