"""The report: one aligned plain-text table, then free-form findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEADERS = ("measure", "figure", "baseline", "ratio", "target", "met?")


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None

    def cells(self) -> tuple[str, ...]:
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}x"
        met = "n/a" if self.met is None else ("yes" if self.met else "NO (missed)")
        return (self.measure, self.figure, self.baseline, ratio, self.target, met)


def render(rows: Sequence[Row]) -> str:
    grid = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADERS))]

    def fmt(line: Sequence[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([fmt(HEADERS), rule, *(fmt(line) for line in grid[1:])])
