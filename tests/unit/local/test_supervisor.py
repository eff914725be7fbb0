"""The cluster's supervisor: a crashed child comes back, the rest keep running, a loop stops all."""

import sys
import time
from pathlib import Path

import pytest

from local import supervisor as supervisor_module
from local.cluster import Cluster, ClusterPorts
from local.supervisor import CrashLoopError, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


@pytest.fixture
def cluster(tmp_path: Path):
    cluster = Cluster(model=tmp_path / "model.tar.gz", work_dir=tmp_path, ports=ClusterPorts.free(),
                      env={})
    yield cluster
    cluster.stop_all()


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_child_is_restarted_and_the_others_keep_running(cluster, monkeypatch):
    # The replicas' health checks are not what this test is about (no replicas run here).
    monkeypatch.setattr(Supervisor, "check_replicas", lambda self: None)
    cluster.start("redis", SLEEPER)
    cluster.start("rasa-1", SLEEPER)
    survivor = cluster.processes["rasa-1"].pid
    supervisor = Supervisor(cluster, report=lambda line: None)
    supervisor.start()
    try:
        killed_at = time.monotonic()
        old = cluster.kill("redis")
        wait_for(lambda: cluster.processes["redis"].pid != old)
        assert cluster.processes["redis"].poll() is None
        assert time.monotonic() - killed_at < 5  # first backoff 1 s
        assert cluster.processes["rasa-1"].pid == survivor
        assert supervisor.restarted_after("redis", killed_at) is not None
        assert supervisor.failure is None
    finally:
        supervisor.stop()


def test_a_stopped_child_is_not_restarted(cluster, monkeypatch):
    monkeypatch.setattr(Supervisor, "check_replicas", lambda self: None)
    cluster.start("rasa-1", SLEEPER)
    supervisor = Supervisor(cluster, report=lambda line: None)
    supervisor.start()
    try:
        cluster.stop("rasa-1")  # what the SIGTERM soak and an orderly stop do
        time.sleep(1.5)
        assert "rasa-1" not in cluster.processes and supervisor.events == []
    finally:
        supervisor.stop()


def test_a_crash_loop_stops_with_the_child_its_exit_code_and_its_log(cluster, monkeypatch):
    monkeypatch.setattr(Supervisor, "check_replicas", lambda self: None)
    monkeypatch.setattr(supervisor_module, "FIRST_BACKOFF", 0.01)
    cluster.start("actions-1", [sys.executable, "-c",
                                "import sys; print('no module named actions'); sys.exit(3)"])
    supervisor = Supervisor(cluster, report=lambda line: None)
    with pytest.raises(CrashLoopError) as loop:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            supervisor.check_once()
            time.sleep(0.05)
    message = str(loop.value)
    assert "actions-1 exited 5 times" in message and "exit code 3" in message
    assert "no module named actions" in message


def test_an_unhealthy_replica_is_marked_down_in_nginx_and_never_both(cluster, monkeypatch):
    healthy = {cluster.rasa_urls[0]: True, cluster.rasa_urls[1]: True}
    monkeypatch.setattr(supervisor_module, "replica_healthy", lambda url: healthy[url])
    marked = []
    monkeypatch.setattr(Cluster, "mark_down", lambda self, down: marked.append(set(down)))
    cluster.processes["nginx"] = cluster.processes.get("nginx")  # nginx "running"
    supervisor = Supervisor(cluster, report=lambda line: None)
    healthy[cluster.rasa_urls[0]] = False
    supervisor.check_replicas()
    assert marked == []  # one failed report is not an outage
    supervisor.check_replicas()
    assert marked == [{0}]
    healthy[cluster.rasa_urls[1]] = False
    supervisor.check_replicas()
    supervisor.check_replicas()
    assert marked == [{0}, set()]  # both failing: both stay in (they apologise; nginx would 502)
    healthy[cluster.rasa_urls[0]] = healthy[cluster.rasa_urls[1]] = True
    supervisor.check_replicas()
    assert marked == [{0}, set()]


def test_a_drained_replica_stays_out_until_a_new_process_answers(cluster, monkeypatch):
    monkeypatch.setattr(supervisor_module, "replica_healthy", lambda url: True)
    marked = []
    monkeypatch.setattr(Cluster, "mark_down", lambda self, down: marked.append(set(down)))
    cluster.start("rasa-1", SLEEPER)
    cluster.start("nginx", SLEEPER)
    supervisor = Supervisor(cluster, report=lambda line: None)
    supervisor.drain(0)
    supervisor.check_replicas()  # still healthy while it finishes its turns: stays out
    assert marked == [{0}]
    cluster.stop("rasa-1")
    supervisor.check_replicas()
    cluster.start("rasa-1", SLEEPER)
    supervisor.check_replicas()
    assert marked == [{0}, set()]


def test_a_replica_whose_action_server_died_is_taken_out_at_once(cluster, monkeypatch):
    monkeypatch.setattr(supervisor_module, "replica_healthy", lambda url: True)
    marked = []
    monkeypatch.setattr(Cluster, "mark_down", lambda self, down: marked.append(set(down)))
    cluster.start("nginx", SLEEPER)
    cluster.start("actions-2", SLEEPER)
    supervisor = Supervisor(cluster, report=lambda line: None)
    supervisor._next_health = float("inf")  # no health report yet: the exit alone decides
    cluster.kill("actions-2")
    wait_for(lambda: cluster.processes["actions-2"].poll() is not None)
    supervisor.check_once()
    assert marked == [{1}]
