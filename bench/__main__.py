"""`python -m bench` (`make bench`): measure, print the table and the findings, exit 0."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

from bench import imports, local, parse
from bench.common import ROOT, aws_env
from bench.table import Row, render


def transitions() -> tuple[list[Row], list[str]]:
    done = subprocess.run([sys.executable, "-m", "bench.transitions"], cwd=ROOT, env=aws_env(),
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return [Row("state transitions per run", "error", met=None)], [
            f"state transitions: the moto run failed: {tail[0]}"]
    rows, findings = [], []
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    for result in measured["runs"]:
        entered, limit = result["entered"], 2 * result["steps"] + 3
        rows.append(Row(f"state transitions per run ({result['label']})", str(len(entered)),
                        f"2 x {result['steps']} steps + 3", len(entered) / limit, f"<= {limit}",
                        result["status"] == "SUCCEEDED" and len(entered) <= limit))
        findings.append(f"state transitions under moto, {result['label']} ({result['status']}): "
                        f"{' → '.join(entered)}")
    cost_rows, cost_findings = cost_of(measured["cost"])
    return rows + cost_rows, findings + cost_findings


def cost_of(run: dict[str, object]) -> tuple[list[Row], list[str]]:
    """DESIGN.md §8: the AWS bill for 1,000 one-page documents with the rules engine ≤ $0.30."""
    parts: dict[str, float] = run["parts"]  # type: ignore[assignment]
    per_thousand = 1000 * sum(parts.values())
    ok = run["execution_status"] == "completed"
    row = Row("est. AWS cost per 1,000 one-page docs (rules)", f"${per_thousand:.3f}", "",
              per_thousand / 0.30, "<= $0.30", ok and per_thousand <= 0.30)
    breakdown = ", ".join(f"{name} ${1000 * usd:.4f}" for name, usd in sorted(parts.items(), key=lambda p: -p[1]))
    return [row], [
        f"AWS cost per 1,000 docs by service (prices of {run['prices_as_of']}, us-east-1): {breakdown}",
        f"    the run's recorded usage {json.dumps(run['usage'])}, cost_usd {run['cost_usd']} (Step Functions and "
        f"the step function only); AWS requests counted under moto: {json.dumps(run['calls'])}, "
        f"DynamoDB {run['write_units']} write / {run['read_units']} read units",
        "    estimated, not measured on AWS: Lambda time = compute here x 1769 MB/memory + a typical latency per "
        "real request (DynamoDB 6 ms, S3 20 ms, EventBridge 15 ms); excluded: storage per month, CloudWatch Logs, "
        "cold-start init time, the authorizer cache (counted as one authorizer call per request)",
    ]


def main() -> int:
    started = time.perf_counter()
    print("docflow bench: DESIGN.md §8 targets, as ratios within this run", flush=True)
    table: list[Row] = []
    findings: list[str] = []
    parts: list[Callable[[], tuple[list[Row], list[str]]]] = [
        lambda: imports.rows(imports.measure()),
        parse.rows,
        lambda: local.rows(local.measure("synthetic 1-page PDF", local.invoice_pdf(), local.EXPECTED)),
    ]
    real = local.corpus_invoice()
    if real is not None:
        parts.append(lambda: local.rows(local.measure("AWS invoice (corpus)", *real, docs=20, per_client=8)))
    parts.append(transitions)
    for part in parts:
        part_rows, part_findings = part()
        table.extend(part_rows)
        findings.extend(part_findings)
    print()
    print(render(table))
    missed = [row.measure for row in table if row.met is False]
    print()
    if missed:
        print(f"MISSED {len(missed)} of {len(table)} targets: {'; '.join(missed)}")
    else:
        print(f"all {len(table)} targets met")
    if findings:
        print("\nfindings:")
        for line in findings:
            print(line if line.startswith("    ") else f"  {line}")
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
