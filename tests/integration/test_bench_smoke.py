"""The benchmark's smoke version: all configurations (project, stock, floor) train, start, answer
and are reported, with the project's ratios to the floor and to stock."""

import json
import subprocess
import sys

import pytest

from clinic.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_bench_quick_writes_the_report(tmp_path):
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "bench.py"), "--quick",
         "--out", str(tmp_path)],
        # Three configurations train (1 epoch) and start: 20 min was not enough on the shared
        # 2-core machine under other test runs (load average 11).
        cwd=PROJECT_ROOT, check=True, timeout=3000,
    )
    report = (tmp_path / "bench.md").read_text()
    assert "Quick smoke run" in report
    assert (tmp_path / "bench.png").stat().st_size > 1000
    data = json.loads((tmp_path / "bench.json").read_text())
    configs = {row["config"] for row in data["rows"]}
    assert configs == {"stock", "project", "floor"}
    for row in data["rows"]:
        # Both servers answered every message of every conversation.
        assert row["messages"] > 0 and row["errors"] == 0, row
    for name in configs:
        assert data["facts"][name]["rasa_rss"] > 0
        assert data["facts"][name]["load_s"] > 0
    # The floor is the bare FAQ bot: no action server.
    assert data["facts"]["floor"]["action_rss"] is None
    assert data["facts"]["project"]["action_rss"] > 0
    assert "| project/floor | 1 |" in report and "| project/stock | 2 |" in report
