"""Benchmarks the project's configuration against Rasa's stock configuration, in one run.

    python scripts/bench.py [--quick] [--out results]

Trains both configurations on the project's data from scratch (no Rasa cache), starts each with
its action server, and drives both with the same load over the REST channel, interleaving the
two so machine noise hits both: 1, 10 and 50 concurrent 6-turn conversations, each with a fresh
sender. Reports per configuration: p50/p95/p99 latency, messages/s, errors, Rasa server CPU
milliseconds per message (from /proc), peak RSS of each process, model load time (start to
first answer), training time, held-out intent accuracy, and the cost at turn 5 vs turn 200 of
one long conversation. Writes <out>/bench.md and <out>/bench.png and prints the ratios.

--quick is the smoke version `make test` runs: 1 training epoch, 1 and 2 concurrent
conversations, a 20-turn long conversation. Its numbers mean nothing; it proves the benchmark
works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.paths import PROJECT_ROOT
from local.services import RunningServices, running_services

BIN = PROJECT_ROOT / ".venv" / "bin"
CONFIGS = {"stock": PROJECT_ROOT / "scripts" / "stock_config.yml",
           "project": PROJECT_ROOT / "config.yml"}
CONVERSATION = [
    "hello",
    "does it hurt?",
    "how long does the injection take?",
    "can my son ride his bike after?",
    "what about eye spasms?",
    "thanks, bye",
]
LONG_QUESTIONS = [
    "does it hurt?", "how long does the effect last?", "is botox safe?",
    "when does physiotherapy start?", "what are the side effects?", "how is it given?",
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- measurements
def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process."""
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def find_pid(port: int, kind: str) -> int:
    """The pid of the `rasa run` (kind 'rasa') or `rasa run actions` process on `port`."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if "run" not in args or str(port) not in args:
            continue
        if (kind == "actions") == ("actions" in args):
            return int(proc.name)
    raise RuntimeError(f"no {kind} process on port {port}")


def percentile(values: List[float], pct: float) -> float:
    """Nearest-rank percentile (values in any order)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Server:
    """One running configuration."""

    name: str
    services: RunningServices
    rasa_pid: int
    action_pid: int
    load_seconds: float


@dataclass
class LoadResult:
    """What one configuration did at one concurrency level (all rounds together)."""

    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    messages: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> bool:
    """One REST message; True when the bot answered."""
    async with session.post(f"{url}/webhooks/rest/webhook",
                            json={"sender": sender, "message": text}) as response:
        body = await response.json(content_type=None) if response.status == 200 else None
        return bool(body)


async def conversation(session: aiohttp.ClientSession, url: str, result: LoadResult) -> None:
    """A 6-turn conversation with a fresh sender."""
    sender = f"bench-{uuid.uuid4().hex}"
    for text in CONVERSATION:
        start = time.perf_counter()
        try:
            ok = await send(session, url, sender, text)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        result.latencies_ms.append((time.perf_counter() - start) * 1000)
        result.messages += 1
        result.errors += 0 if ok else 1


async def run_load(server: Server, concurrency: int, result: LoadResult) -> None:
    """`concurrency` conversations at once; adds to `result`."""
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    cpu_before = process_cpu_seconds(server.rasa_pid)
    start = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(conversation(session, server.services.rasa_url, result)
                               for _ in range(concurrency)))
    result.wall_seconds += time.perf_counter() - start
    result.cpu_seconds += process_cpu_seconds(server.rasa_pid) - cpu_before


async def long_conversation(server: Server, turns: int) -> List[Tuple[float, float]]:
    """(latency ms, server CPU ms) for each turn of one long conversation."""
    costs = []
    sender = f"bench-long-{uuid.uuid4().hex}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for turn in range(turns):
            cpu_before = process_cpu_seconds(server.rasa_pid)
            start = time.perf_counter()
            await send(session, server.services.rasa_url, sender,
                       LONG_QUESTIONS[turn % len(LONG_QUESTIONS)])
            costs.append(((time.perf_counter() - start) * 1000,
                          (process_cpu_seconds(server.rasa_pid) - cpu_before) * 1000))
    return costs


# ----------------------------------------------------------------------------- orchestration
def train(name: str, config: Path, out_dir: Path, quick: bool) -> Tuple[Path, float]:
    """Trains one configuration from scratch; returns the model and the seconds it took."""
    if quick:
        data = yaml.safe_load(config.read_text())
        for item in data.get("pipeline", []) + data.get("policies", []):
            if "epochs" in item:
                item["epochs"] = 1
        config = out_dir / f"{name}-quick.yml"
        config.write_text(yaml.safe_dump(data))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": str(PROJECT_ROOT),
           # A private cache directory: each configuration trains from scratch.
           "RASA_CACHE_DIRECTORY": str(out_dir / f"cache-{name}")}
    start = time.perf_counter()
    subprocess.run(  # noqa: S603
        [str(BIN / "rasa"), "train", "--config", str(config), "--out", str(out_dir),
         "--fixed-model-name", f"bench-{name}", "--quiet"],
        cwd=PROJECT_ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out_dir / f"bench-{name}.tar.gz", time.perf_counter() - start


def heldout_accuracy(model: Path) -> float:
    """Held-out intent accuracy, from scripts/evaluate.py."""
    output = subprocess.run(  # noqa: S603
        [str(BIN / "python"), str(PROJECT_ROOT / "scripts" / "evaluate.py"), "heldout",
         "--model", str(model), "--brief"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"},
    ).stdout
    found = re.search(r"= (\d\.\d+)", output)
    if found is None:
        raise RuntimeError(f"no accuracy in scripts/evaluate.py's output: {output!r}")
    return float(found.group(1))


async def first_answer_seconds(services: RunningServices, started: float) -> float:
    """Seconds from start until the server answers a question."""
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                if await send(session, services.rasa_url, f"bench-{uuid.uuid4().hex}", "hello"):
                    return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


def summarise(name: str, level: int, result: LoadResult) -> Dict[str, Union[str, float]]:
    """One table row."""
    ok = max(result.messages - result.errors, 1)
    return {
        "config": name, "concurrency": level, "messages": result.messages,
        "errors": result.errors,
        "p50_ms": percentile(result.latencies_ms, 50),
        "p95_ms": percentile(result.latencies_ms, 95),
        "p99_ms": percentile(result.latencies_ms, 99),
        "msgs_per_s": result.messages / result.wall_seconds if result.wall_seconds else 0,
        "cpu_ms_per_msg": result.cpu_seconds * 1000 / ok,
    }


def write_report(out: Path, rows: List[Dict], facts: Dict[str, Dict], long_costs: Dict,
                 quick: bool) -> str:
    """Writes bench.md and bench.png; returns the ratio summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = sorted({row["concurrency"] for row in rows})
    by = {(row["config"], row["concurrency"]): row for row in rows}
    mid = levels[len(levels) // 2]
    ratios = {
        "cpu per message (project/stock)":
            by[("project", mid)]["cpu_ms_per_msg"] / by[("stock", mid)]["cpu_ms_per_msg"],
        f"messages/s at {mid} concurrent (project/stock)":
            by[("project", mid)]["msgs_per_s"] / by[("stock", mid)]["msgs_per_s"],
        "p50 latency at 1 concurrent (project/stock)":
            by[("project", 1)]["p50_ms"] / by[("stock", 1)]["p50_ms"],
    }
    lines = ["# Benchmark: project config vs Rasa's stock config", ""]
    if quick:
        lines += ["**Quick smoke run (1 training epoch): these numbers are not measurements.**", ""]
    lines += ["Same machine, same data, same load, interleaved. Latency is end to end over REST, "
              "including the action server call.", "",
              "| config | concurrent | messages | errors | p50 ms | p95 ms | p99 ms | msg/s | "
              "server CPU ms/msg |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['config']} | {row['concurrency']} | {row['messages']} | {row['errors']} | "
            f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['msgs_per_s']:.1f} | {row['cpu_ms_per_msg']:.1f} |")
    lines += ["", "| config | training s | model load to first answer s | Rasa peak RSS MB | "
              "action server peak RSS MB | held-out accuracy | CPU ms turn 5 | CPU ms last turn |",
              "|---|---|---|---|---|---|---|---|"]
    for name, fact in facts.items():
        costs = long_costs[name]
        lines.append(
            f"| {name} | {fact['train_s']:.0f} | {fact['load_s']:.1f} | {fact['rasa_rss']:.0f} | "
            f"{fact['action_rss']:.0f} | {fact['accuracy']:.3f} | {costs['early']:.1f} | "
            f"{costs['late']:.1f} (turn {costs['turns']}) |")
    lines += ["", "Ratios:", ""] + [f"- {key}: {value:.2f}" for key, value in ratios.items()]
    (out / "bench.md").write_text("\n".join(lines) + "\n")

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in CONFIGS:
        left.plot(levels, [by[(name, lv)]["p50_ms"] for lv in levels], marker="o", label=name)
        right.plot(levels, [by[(name, lv)]["cpu_ms_per_msg"] for lv in levels], marker="o",
                   label=name)
    left.set(title="p50 latency (ms)", xlabel="concurrent conversations", xscale="log")
    right.set(title="Rasa server CPU per message (ms)", xlabel="concurrent conversations",
              xscale="log")
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out / "bench.png", dpi=100)
    return "\n".join(f"{key}: {value:.2f}" for key, value in ratios.items())


async def bench(out: Path, quick: bool) -> str:
    """The whole benchmark."""
    levels = [1, 2] if quick else [1, 10, 50]
    rounds = 1 if quick else 2
    long_turns = 20 if quick else 200
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out))
    facts: Dict[str, Dict] = {}
    models = {}
    for name, config in CONFIGS.items():
        print(f"training {name} ...", flush=True)
        models[name], seconds = train(name, config, work, quick)
        facts[name] = {"train_s": seconds, "accuracy": heldout_accuracy(models[name])}

    servers: Dict[str, Server] = {}
    contexts = []
    try:
        for name, model in models.items():
            started = time.perf_counter()
            # One bench conversation sends far faster than a parent types (200 turns in seconds):
            # the per-conversation flood limit would answer most of it with "please slow down".
            context = running_services(model, work / name, timeout=300,
                                       extra_env={"MESSAGE_RATE_LIMIT": "1000000"})
            (work / name).mkdir(exist_ok=True)
            services = context.__enter__()
            contexts.append(context)
            load = await first_answer_seconds(services, started)
            port = int(services.rasa_url.rsplit(":", 1)[1])
            action_port = int(services.action_url.rsplit(":", 1)[1])
            servers[name] = Server(name, services, find_pid(port, "rasa"),
                                   find_pid(action_port, "actions"), load)
            facts[name]["load_s"] = load

        results = {(name, level): LoadResult() for name in servers for level in levels}
        for level in levels:
            for round_number in range(rounds):
                # Alternate which configuration goes first, so drift hits both alike.
                order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
                for name in order:
                    print(f"load: {name}, {level} concurrent, round {round_number + 1}",
                          flush=True)
                    await run_load(servers[name], level, results[(name, level)])
        long_costs = {}
        for name, server in servers.items():
            costs = await long_conversation(server, long_turns)
            cpu = [c for _, c in costs]
            long_costs[name] = {"early": statistics.mean(cpu[2:7]),
                                "late": statistics.mean(cpu[-5:]), "turns": long_turns}
            facts[name]["rasa_rss"] = peak_rss_mb(server.rasa_pid)
            facts[name]["action_rss"] = peak_rss_mb(server.action_pid)
    finally:
        for context in reversed(contexts):
            context.__exit__(None, None, None)

    rows = [summarise(name, level, results[(name, level)]) for level in levels
            for name in servers]
    (out / "bench.json").write_text(json.dumps(
        {"rows": rows, "facts": facts, "long": long_costs, "quick": quick}, indent=2))
    return write_report(out, rows, facts, long_costs, quick)


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke version (make test)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(bench(args.out, args.quick))
    print(f"\n{(args.out / 'bench.md')} written\n{summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
