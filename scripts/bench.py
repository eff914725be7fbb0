"""Benchmarks the project against Rasa's stock configuration and a bare FAQ bot, in one run.

    python scripts/bench.py [--quick] [--out results] [--configs project,floor]
                            [--model project=models/clinic.tar.gz] [--variant before=DIR]

Configurations: `project` (config.yml with its action server, `make run`), `stock` (Rasa's
default config on the same data, with the action server) and `floor`: the bare Rasa FAQ bot
the project is held to (issue 17), built here from the project's own NLU data and vetted
answer texts: DIET without transformer layers, one rule and one domain response per intent,
in-memory tracker, no action server. Each is trained from scratch (no Rasa cache) unless
`--model name=path` gives a trained model; `--variant name=DIR` adds the project config run
from another source tree (e.g. `git archive main` unpacked, with `.venv`, `build` and
`models` linked), for before/after comparisons in one run.

All run at once and get the same load over the REST channel, interleaved so machine noise hits
all alike: 1, 4 and 10 concurrent 6-turn conversations, each with a fresh sender, `--rounds`
times. Reports per configuration: p50/p95/p99 latency, messages/s, errors, Rasa server CPU
milliseconds per message (from /proc), peak RSS of each process, model load time (start to
first answer), training time, held-out intent accuracy, and the cost at turn 5 vs turn 200 of
one long conversation; and the project's ratios to the floor and to stock. Writes
<out>/bench.md, <out>/bench.json and <out>/bench.png and prints the ratios.

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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic.paths import PROJECT_ROOT
from knowledge.content import read_nlu_examples
from local.services import RunningServices, free_port, running_services
from local.services import _wait_until_up as wait_until_up

BIN = PROJECT_ROOT / ".venv" / "bin"
CONFIGS = {"stock": PROJECT_ROOT / "scripts" / "stock_config.yml",
           "project": PROJECT_ROOT / "config.yml",
           "floor": PROJECT_ROOT / "scripts" / "floor_config.yml"}
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
    action_pid: Optional[int]
    load_seconds: float


@dataclass
class LoadResult:
    """What one configuration did at one concurrency level (all rounds together)."""

    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    messages: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    action_cpu_seconds: float = 0.0


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
    action_before = process_cpu_seconds(server.action_pid) if server.action_pid else 0.0
    start = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(conversation(session, server.services.rasa_url, result)
                               for _ in range(concurrency)))
    result.wall_seconds += time.perf_counter() - start
    result.cpu_seconds += process_cpu_seconds(server.rasa_pid) - cpu_before
    if server.action_pid:
        result.action_cpu_seconds += process_cpu_seconds(server.action_pid) - action_before


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
def build_floor(floor_dir: Path) -> Tuple[Path, List[Path]]:
    """The bare FAQ bot's domain and rules from the project's NLU data and vetted texts.

    Every intent of data/nlu gets one rule and one domain response: its vetted answer
    (`ask_<id>`), its conversation message (content/messages.yml), or else the clinic's
    out-of-scope message; the fallback gets that message too. Returns (domain, data paths).
    """
    from clinic.resources import get_resources

    resources = get_resources()
    content = resources.content
    intents = sorted({intent for _, intent in read_nlu_examples(
        sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")))})
    default = resources.message("out_of_scope")
    responses = {"utter_nlu_fallback": [{"text": default}]}
    rules = [{"rule": "fallback", "steps": [{"intent": "nlu_fallback"},
                                            {"action": "utter_nlu_fallback"}]}]
    for intent in intents:
        answer_id = intent[len("ask_"):] if intent.startswith("ask_") else None
        entry = content.answers.get(answer_id) if answer_id else None
        entry = entry or content.message_for_intent(intent)
        text = resources.render(entry) if entry else default
        responses[f"utter_{intent}"] = [{"text": text}]
        rules.append({"rule": intent, "steps": [{"intent": intent},
                                                {"action": f"utter_{intent}"}]})
    floor_dir.mkdir(parents=True, exist_ok=True)
    domain = floor_dir / "domain.yml"
    domain.write_text(yaml.safe_dump({
        "version": "3.1", "intents": intents + ["nlu_fallback"], "responses": responses,
        "session_config": {"session_expiration_time": 60,
                           "carry_over_slots_to_new_session": True}}))
    rules_file = floor_dir / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"version": "3.1", "rules": rules}))
    (floor_dir / "credentials.yml").write_text("rest:\n")
    (floor_dir / "endpoints.yml").write_text("")
    return domain, [PROJECT_ROOT / "data" / "nlu", rules_file]


def train(name: str, config: Path, out_dir: Path, epochs: Optional[int]) -> Tuple[Path, float]:
    """Trains one configuration from scratch; returns the model and the seconds it took.

    `epochs` overrides every component's epochs (1 for --quick; --epochs on a busy machine:
    inference costs the same after any number of epochs, only the answers differ).
    """
    sources: List[str] = []
    if name == "floor":
        domain, data_paths = build_floor(out_dir / "floor")
        sources = ["--domain", str(domain), "--data", *map(str, data_paths)]
    if epochs is not None:
        data = yaml.safe_load(config.read_text())
        for item in data.get("pipeline", []) + data.get("policies", []):
            if "epochs" in item:
                item["epochs"] = epochs
        config = out_dir / f"{name}-{epochs}-epochs.yml"
        config.write_text(yaml.safe_dump(data))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": str(PROJECT_ROOT),
           # A private cache directory: each configuration trains from scratch.
           "RASA_CACHE_DIRECTORY": str(out_dir / f"cache-{name}")}
    start = time.perf_counter()
    subprocess.run(  # noqa: S603
        [str(BIN / "rasa"), "train", "--config", str(config), "--out", str(out_dir),
         "--fixed-model-name", f"bench-{name}", "--quiet", *sources],
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


@contextmanager
def running_floor(model: Path, floor_dir: Path, timeout: float) -> Iterator[RunningServices]:
    """`rasa run` on the floor model: REST channel only, in-memory tracker, no action server."""
    port = free_port()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("PYTHONPATH", None)  # nothing of the project is loaded
    with open(floor_dir / "services.log", "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [str(BIN / "rasa"), "run", "--model", str(model), "--interface", "127.0.0.1",
             "--port", str(port), "--credentials", "credentials.yml", "--endpoints",
             "endpoints.yml", "--quiet"],
            cwd=floor_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        services = RunningServices(rasa_url=f"http://127.0.0.1:{port}", action_url="",
                                   process=process, env=env)
        try:
            wait_until_up(services.rasa_url + "/", process, timeout)
            yield services
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
        "action_cpu_ms_per_msg": result.action_cpu_seconds * 1000 / ok,
        "total_cpu_ms_per_msg": (result.cpu_seconds + result.action_cpu_seconds) * 1000 / ok,
    }


RATIO_METRICS = (("cpu_ms_per_msg", "Rasa CPU per message"),
                 ("total_cpu_ms_per_msg", "Rasa + action server CPU per message"),
                 ("msgs_per_s", "messages/s"),
                 ("p50_ms", "p50 latency"), ("p95_ms", "p95 latency"))


def ratio_rows(by: Dict[Tuple[str, int], Dict], names: List[str], levels: List[int]) -> List[str]:
    """Markdown rows: the project's (and each variant's) ratio to the floor and to stock."""
    lines = []
    subjects = [n for n in names if n not in ("floor", "stock")]
    for base in ("floor", "stock"):
        if base not in names:
            continue
        for subject in subjects:
            for level in levels:
                cells = [f"{by[(subject, level)][key] / by[(base, level)][key]:.2f}"
                         if by[(base, level)][key] else "n/a" for key, _ in RATIO_METRICS]
                lines.append(f"| {subject}/{base} | {level} | " + " | ".join(cells) + " |")
    return lines


def write_report(out: Path, rows: List[Dict], facts: Dict[str, Dict], long_costs: Dict,
                 quick: bool) -> str:
    """Writes bench.md and bench.png; returns the ratio summary."""
    levels = sorted({row["concurrency"] for row in rows})
    names = list(dict.fromkeys(row["config"] for row in rows))
    by = {(row["config"], row["concurrency"]): row for row in rows}
    lines = ["# Benchmark: the project vs a bare Rasa FAQ bot (floor) and Rasa's stock config", ""]
    if quick:
        lines += ["**Quick smoke run (1 training epoch): these numbers are not measurements.**", ""]
    lines += load_table(rows)
    ratios = ratio_rows(by, names, levels)
    if ratios:
        lines += ["", "Ratios (issue 17 asks for at most 1.5 on server CPU per message vs the "
                  "floor at 1 and 4 concurrent; the floor has no action server):", "",
                  "| ratio | concurrent | " + " | ".join(label for _, label in RATIO_METRICS)
                  + " |", "|---|---|" + "---|" * len(RATIO_METRICS)] + ratios
    lines += facts_table(facts, long_costs)
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    plot(out / "bench.png", by, names, levels)
    return "\n".join(ratios)


def load_table(rows: List[Dict]) -> List[str]:
    """Markdown: the latency, throughput and CPU of each configuration at each load level."""
    lines = ["Same machine, same data, same load, interleaved. Latency is end to end over REST, "
             "including the action server call (project, stock; the floor has none). CPU is "
             "from /proc, per answered message.", "",
             "| config | concurrent | messages | errors | p50 ms | p95 ms | p99 ms | msg/s | "
             "Rasa CPU ms/msg | action server CPU ms/msg |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['config']} | {row['concurrency']} | {row['messages']} | {row['errors']} | "
            f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['msgs_per_s']:.1f} | {row['cpu_ms_per_msg']:.1f} | "
            f"{row['action_cpu_ms_per_msg']:.1f} |")
    return lines


def facts_table(facts: Dict[str, Dict], long_costs: Dict) -> List[str]:
    """Markdown: training, load time, memory, accuracy and long-conversation cost of each."""
    lines = ["", "| config | training s | model load to first answer s | Rasa peak RSS MB | "
             "action server peak RSS MB | total RSS MB | held-out accuracy | CPU ms turn 5 | "
             "CPU ms last turn |", "|---|---|---|---|---|---|---|---|---|"]
    for name, fact in facts.items():
        costs = long_costs[name]
        total = fact["rasa_rss"] + (fact["action_rss"] or 0)
        action = f"{fact['action_rss']:.0f}" if fact["action_rss"] else "none"
        accuracy = f"{fact['accuracy']:.3f}" if fact.get("accuracy") is not None else "n/a"
        lines.append(
            f"| {name} | {fact['train_s']:.0f} | {fact['load_s']:.1f} | {fact['rasa_rss']:.0f} | "
            f"{action} | {total:.0f} | {accuracy} | {costs['early']:.1f} | "
            f"{costs['late']:.1f} (turn {costs['turns']}) |")
    return lines


def plot(path: Path, by: Dict[Tuple[str, int], Dict], names: List[str],
         levels: List[int]) -> None:
    """Draws p50 latency and Rasa CPU per message against concurrency, one line per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in names:
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
    figure.savefig(path, dpi=100)


def parse_pairs(values: List[str]) -> Dict[str, Path]:
    """`name=path` arguments as a dict."""
    pairs = {}
    for value in values:
        name, _, path = value.partition("=")
        if not path:
            raise SystemExit(f"expected name=path, got {value!r}")
        pairs[name] = Path(path).resolve()
    return pairs


async def bench(out: Path, quick: bool, configs: List[str], given_models: Dict[str, Path],
                variants: Dict[str, Path], rounds: int, accuracy: bool,
                epochs: Optional[int]) -> str:
    """The whole benchmark."""
    levels = [1, 2] if quick else [1, 4, 10]
    long_turns = 20 if quick else 200
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=out))
    models, facts = prepare_models(work, configs, given_models, variants, accuracy,
                                   1 if quick else epochs)
    servers: Dict[str, Server] = {}
    with ExitStack() as stack:
        for name, model in models.items():
            servers[name] = await start_server(stack, name, model, work,
                                               variants.get(name, PROJECT_ROOT))
            facts[name]["load_s"] = servers[name].load_seconds
        results = await interleaved_load(servers, levels, rounds)
        long_costs = {}
        for name, server in servers.items():
            long_costs[name] = await long_conversation_cost(server, long_turns)
            facts[name]["rasa_rss"] = peak_rss_mb(server.rasa_pid)
            facts[name]["action_rss"] = (peak_rss_mb(server.action_pid)
                                         if server.action_pid else None)

    rows = [summarise(name, level, results[(name, level)]) for level in levels
            for name in servers]
    (out / "bench.json").write_text(json.dumps(
        {"rows": rows, "facts": facts, "long": long_costs, "quick": quick}, indent=2))
    return write_report(out, rows, facts, long_costs, quick)


def prepare_models(work: Path, configs: List[str], given_models: Dict[str, Path],
                   variants: Dict[str, Path], accuracy: bool,
                   epochs: Optional[int]) -> Tuple[Dict[str, Path], Dict[str, Dict]]:
    """Each configuration's model (given or trained) and its training time and accuracy."""
    facts: Dict[str, Dict] = {}
    models: Dict[str, Path] = {}
    for name in configs:
        if name in given_models:
            models[name], seconds = given_models[name], float("nan")
            if name == "floor":
                build_floor(work / "floor")
        else:
            print(f"training {name} ...", flush=True)
            models[name], seconds = train(name, CONFIGS[name], work, epochs)
        facts[name] = {"train_s": seconds,
                       "accuracy": heldout_accuracy(models[name]) if accuracy else None}
    for name in variants:  # the project config, from another source tree, same model
        models[name] = models["project"]
        facts[name] = {**facts["project"]}
    return models, facts


async def start_server(stack: ExitStack, name: str, model: Path, work: Path,
                       root: Path) -> Server:
    """Starts one configuration (stopped with `stack`) and times it until its first answer."""
    started = time.perf_counter()
    (work / name).mkdir(exist_ok=True)
    if name == "floor":
        context = running_floor(model, work / "floor", timeout=300)
    else:
        # One bench conversation sends far faster than a parent types (200 turns in
        # seconds): the per-conversation flood limit would answer most of it with
        # "please slow down".
        context = running_services(model, work / name, timeout=300,
                                   extra_env={"MESSAGE_RATE_LIMIT": "1000000"}, root=root)
    services = stack.enter_context(context)
    load = await first_answer_seconds(services, started)
    port = int(services.rasa_url.rsplit(":", 1)[1])
    action_pid = None
    if services.action_url:
        action_pid = find_pid(int(services.action_url.rsplit(":", 1)[1]), "actions")
    return Server(name, services, find_pid(port, "rasa"), action_pid, load)


async def interleaved_load(servers: Dict[str, Server], levels: List[int],
                           rounds: int) -> Dict[Tuple[str, int], LoadResult]:
    """Each level's load on every server, `rounds` times, in a rotating order."""
    results = {(name, level): LoadResult() for name in servers for level in levels}
    for level in levels:
        for round_number in range(rounds):
            # Rotate which configuration goes first, so drift hits all alike.
            names = list(servers)
            shift = round_number % len(names)
            order = names[shift:] + names[:shift]
            if round_number % 2:
                order.reverse()
            for name in order:
                print(f"load: {name}, {level} concurrent, round {round_number + 1}",
                      flush=True)
                await run_load(servers[name], level, results[(name, level)])
    return results


async def long_conversation_cost(server: Server, turns: int) -> Dict[str, float]:
    """Server CPU ms of one long conversation's early turns (3 to 7) and last five."""
    cpu = [c for _, c in await long_conversation(server, turns)]
    return {"early": statistics.mean(cpu[2:7]), "late": statistics.mean(cpu[-5:]),
            "turns": turns}


def main(argv: Optional[List[str]] = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke version (make test)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated, of {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="use this trained model for a configuration instead of training")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="also run the project model from the source tree DIR")
    parser.add_argument("--rounds", type=int, default=None,
                        help="load rounds per level (default 2; 1 with --quick)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train with this many epochs (timing runs only; answers differ)")
    parser.add_argument("--no-accuracy", action="store_true",
                        help="skip the held-out accuracy of each model")
    args = parser.parse_args(argv)
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    variants = parse_pairs(args.variant)
    if variants and "project" not in configs:
        parser.error("--variant needs the project configuration")
    rounds = args.rounds or (1 if args.quick else 2)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(bench(args.out, args.quick, configs, parse_pairs(args.model),
                                variants, rounds, not args.no_accuracy, args.epochs))
    print(f"\n{(args.out / 'bench.md')} written\n{summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
