"""Ruled tables: the grid the page's lines draw, filled with the words inside each cell.

A lattice detector in the manner of pdfplumber's "lines" strategy: snap the horizontal and
vertical ruling edges, find where they cross, take the smallest closed rectangles between
crossings as cells, group touching cells into tables, and read each cell's words. Tables drawn
with whitespace alone are left to the extract step, which reads aligned columns from the words.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.domain.documents import Word

__all__ = ["Edge", "ruled_tables"]

SNAP = 3.0  # points: edges this close are one line (a stroke's width, rounding)
THIN = 2.0  # a path thinner than this is a line, not a box
MIN_SIDE = 4.0  # cells narrower than this are decoration


@dataclass(frozen=True)
class Edge:
    horizontal: bool
    at: float  # y of a horizontal edge, x of a vertical one
    start: float
    end: float

    @staticmethod
    def sides(x0: float, top: float, x1: float, bottom: float) -> list[Edge]:
        """The edges a path's box contributes: itself when thin, else its four sides."""
        w, h = x1 - x0, bottom - top
        if h <= THIN and w > MIN_SIDE:
            return [Edge(True, (top + bottom) / 2, x0, x1)]
        if w <= THIN and h > MIN_SIDE:
            return [Edge(False, (x0 + x1) / 2, top, bottom)]
        if w > MIN_SIDE and h > MIN_SIDE:
            return [Edge(True, top, x0, x1), Edge(True, bottom, x0, x1),
                    Edge(False, x0, top, bottom), Edge(False, x1, top, bottom)]
        return []


def ruled_tables(edges: list[Edge], words: list[Word]) -> list[list[list[str | None]]]:
    if len(edges) < 4:
        return []
    horizontal = _merge([e for e in edges if e.horizontal])
    vertical = _merge([e for e in edges if not e.horizontal])
    cells = _cells(horizontal, vertical)
    return [table for group in _groups(cells) if (table := _read(group, words))]


def _merge(edges: list[Edge]) -> dict[float, list[tuple[float, float]]]:
    """Edges snapped onto common lines, overlapping pieces of one line joined: {at: [(start, end)]}."""
    lines: dict[float, list[tuple[float, float]]] = {}
    last: float | None = None
    for edge in sorted(edges, key=lambda e: e.at):
        if last is None or edge.at - last > SNAP:
            last = edge.at
        lines.setdefault(last, []).append((edge.start, edge.end))
    merged: dict[float, list[tuple[float, float]]] = {}
    for at, pieces in lines.items():
        joined: list[tuple[float, float]] = []
        for start, end in sorted(pieces):
            if joined and start <= joined[-1][1] + SNAP:
                joined[-1] = (joined[-1][0], max(joined[-1][1], end))
            else:
                joined.append((start, end))
        merged[at] = joined
    return merged


def _covers(pieces: list[tuple[float, float]], a: float, b: float) -> bool:
    return any(start - SNAP <= a and b <= end + SNAP for start, end in pieces)


def _cells(horizontal: dict[float, list[tuple[float, float]]],
           vertical: dict[float, list[tuple[float, float]]]) -> list[tuple[float, float, float, float]]:
    """The smallest closed rectangles (x0, top, x1, bottom) between crossing edges."""
    crossings: dict[float, list[float]] = defaultdict(list)  # y → xs where a vertical edge crosses
    for y, h_pieces in horizontal.items():
        for x, v_pieces in vertical.items():
            if _covers(h_pieces, x, x) and _covers(v_pieces, y, y):
                crossings[y].append(x)
    ys = sorted(crossings)
    cells = []
    for i, y in enumerate(ys):
        xs = sorted(crossings[y])
        for j, x in enumerate(xs):
            cell = _cell_from(x, y, xs[j + 1:], ys[i + 1:], crossings, horizontal, vertical)
            if cell is not None:
                cells.append(cell)
    return cells


def _cell_from(x: float, y: float, rights: list[float], belows: list[float], crossings: dict[float, list[float]],
               horizontal: dict[float, list[tuple[float, float]]],
               vertical: dict[float, list[tuple[float, float]]]) -> tuple[float, float, float, float] | None:
    for below in belows:
        if x not in crossings[below] or not _covers(vertical[x], y, below):
            continue
        for right in rights:
            if (right in crossings[below] and _covers(horizontal[y], x, right)
                    and _covers(horizontal[below], x, right) and _covers(vertical[right], y, below)):
                if right - x >= MIN_SIDE and below - y >= MIN_SIDE:
                    return (x, y, right, below)
                return None
    return None


def _groups(cells: list[tuple[float, float, float, float]]) -> list[list[tuple[float, float, float, float]]]:
    """Cells that share a corner form one table."""
    parent = list(range(len(cells)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_corner: dict[tuple[float, float], int] = {}
    for index, (x0, top, x1, bottom) in enumerate(cells):
        for corner in ((x0, top), (x1, top), (x0, bottom), (x1, bottom)):
            if corner in by_corner:
                parent[find(index)] = find(by_corner[corner])
            else:
                by_corner[corner] = index
    groups: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for index, cell in enumerate(cells):
        groups[find(index)].append(cell)
    return [group for group in groups.values() if len(group) >= 2]


def _read(cells: list[tuple[float, float, float, float]], words: list[Word]) -> list[list[str | None]]:
    tops = sorted({cell[1] for cell in cells})
    lefts = sorted({cell[0] for cell in cells})
    grid: list[list[str | None]] = [[None] * len(lefts) for _ in tops]
    texts: dict[tuple[float, float, float, float], list[Word]] = defaultdict(list)
    for word in words:
        cx, cy = (word.x0 + word.x1) / 2, (word.top + word.bottom) / 2
        for cell in cells:
            if cell[0] <= cx <= cell[2] and cell[1] <= cy <= cell[3]:
                texts[cell].append(word)
                break
    if not texts:
        return []
    for cell in cells:
        grid[tops.index(cell[1])][lefts.index(cell[0])] = _cell_text(texts.get(cell, []))
    return grid


def _cell_text(words: list[Word]) -> str:
    from docflow.domain.documents import group_lines

    return "\n".join(line.text for line in group_lines(words))
