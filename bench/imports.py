"""Target 1: cold import of each handler module in a fresh process ≤ 1.25× a bare powertools
resolver + boto3 client, both measured the same way in this run (median of N fresh processes)."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

from bench.common import ROOT, aws_env, median, ms
from bench.table import Row

HANDLERS = ("api", "authorizer", "step", "uploads", "ingest", "dispatch", "schedule_target", "webhook_fanout",
            "webhook_deliverer")
TARGET = 1.25

_TIMED = """
import importlib.util, sys, time
t0 = time.perf_counter()
{body}
sys.stdout.write(repr(time.perf_counter() - t0))
"""
_HANDLER = """
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
"""
BASELINE = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
import boto3
boto3.client("dynamodb", region_name="us-east-1")
"""


def handler_body(name: str) -> str:
    return _HANDLER.format(path=str(ROOT / "functions" / name / "app.py"))


def _run(body: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, "-c", _TIMED.format(body=body)], cwd=ROOT, env=aws_env(),
                          capture_output=True, text=True, check=True)


def measure(runs: int = 7, warmups: int = 1) -> dict[str, float]:
    """Median seconds per target; the targets are interleaved so that drift hits all of them alike."""
    bodies = {"baseline": BASELINE, **{name: handler_body(name) for name in HANDLERS}}
    samples: dict[str, list[float]] = defaultdict(list)
    for i in range(warmups + runs):
        for label, body in bodies.items():
            seconds = float(_run(body).stdout)
            if i >= warmups:
                samples[label].append(seconds)
    return {label: median(values) for label, values in samples.items()}


@dataclass(frozen=True)
class _Import:
    depth: int
    self_us: int
    name: str
    parent: str | None


def _importtime(body: str) -> list[_Import]:
    lines: list[tuple[int, int, str]] = []
    for line in _run(body, "-X", "importtime").stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_field, _cumulative, name_field = line[len("import time:"):].split("|")
        lines.append((((len(name_field) - len(name_field.lstrip())) - 1) // 2, int(self_field), name_field.strip()))
    # The output is post-order: a module's parent is the next line one level up.
    result: list[_Import] = []
    above: dict[int, str] = {}
    for depth, self_us, name in reversed(lines):
        above[depth] = name
        result.append(_Import(depth, self_us, name, above.get(depth - 1) if depth else None))
    return result[::-1]


def explain(handler: str, top: int = 6) -> list[str]:
    """What the handler imports that the baseline does not, by top-level package (self time under
    -X importtime, which inflates absolute figures), with the chain that pulls each one in."""
    base = {imp.name for imp in _importtime(BASELINE)}
    imports = _importtime(handler_body(handler))
    parents = {imp.name: imp.parent for imp in imports}
    cost: dict[str, int] = defaultdict(int)
    entry: dict[str, str] = {}
    for imp in imports:
        if imp.name in base:
            continue
        package = imp.name.split(".")[0]
        cost[package] += imp.self_us
        entry.setdefault(package, imp.name)
    total = sum(cost.values())
    lines = [f"{handler}: modules the baseline does not import cost {total / 1000:.0f} ms under -X importtime:"]
    source = (ROOT / "functions" / handler / "app.py").read_text()
    for package, us in sorted(cost.items(), key=lambda kv: -kv[1])[:top]:
        chain = _chain(entry[package], parents)
        if chain.count("→") == 1 and package not in source:
            chain += " (no import of it in app.py: a call at module level, e.g. `Tracer()`, imports it)"
        lines.append(f"    {package:<24} {us / 1000:6.0f} ms  via {chain}")
    own = sorted((imp for imp in imports if imp.name.split(".")[0] == "docflow"), key=lambda imp: -imp.self_us)
    if own:
        lines.append("    docflow's own heaviest modules: "
                     + ", ".join(f"{imp.name} {imp.self_us / 1000:.0f} ms" for imp in own[:4]))
    return lines


def _chain(name: str, parents: dict[str, str | None]) -> str:
    chain = [name]
    while (parent := parents.get(chain[-1])) is not None:
        chain.append(parent)
    chain.append("app")  # "app → x" directly: imported by the handler's module-level code (or a call in it)
    shown: list[str] = []
    for module in reversed(chain):  # keep the first module of each package along the way
        if not shown or module.split(".")[0] != shown[-1].split(".")[0]:
            shown.append(module)
    return " → ".join(shown)


def rows(medians: dict[str, float]) -> tuple[list[Row], list[str]]:
    base = medians["baseline"]
    table: list[Row] = []
    findings: list[str] = []
    for name in HANDLERS:
        ratio = medians[name] / base
        met = ratio <= TARGET
        table.append(Row(f"cold import functions/{name}/app.py", ms(medians[name]),
                         f"{ms(base)} (resolver+boto3 client)", ratio, f"<= {TARGET}x", met))
        if not met:
            findings.extend(explain(name))
    return table, findings
