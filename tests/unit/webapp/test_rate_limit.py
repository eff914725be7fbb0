from safety import rate_limit
from webapp.rate_limit import WindowLimit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_limit_per_key_in_a_sliding_window():
    clock = Clock()
    limit = WindowLimit(3, 60, clock=clock)
    assert [limit.take("a") for _ in range(4)] == [True, True, True, False]
    assert limit.blocked("a") and not limit.blocked("b")
    assert limit.take("b")
    clock.now += 59
    assert not limit.take("a")  # refused attempts do not count, but the window is not over
    clock.now += 1.5
    assert limit.take("a") and not limit.blocked("a")
    assert limit.take("a") and limit.take("a") and not limit.take("a")


def test_give_back_uncounts_one_event():
    limit = WindowLimit(2, 60, clock=Clock())
    limit.add("a")
    limit.add("a")
    assert limit.blocked("a")
    limit.give_back("a")
    assert not limit.blocked("a")
    limit.give_back("a")
    limit.give_back("a")  # nothing left: no error
    assert limit.take("a") and limit.take("a") and not limit.take("a")


def test_keys_are_bounded(monkeypatch):
    monkeypatch.setattr(rate_limit, "MAX_KEYS", 10)
    clock = Clock()
    limit = WindowLimit(1, 60, clock=clock)
    for number in range(25):
        limit.add(f"name-{number}")
    assert len(limit._events) <= 10
    assert limit.blocked("name-24")  # the newest keys are kept
