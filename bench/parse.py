"""Issue 13, item 1: the parse step within 2× of a bare pypdfium2 character-and-box pass.

Both sides run here, in turn, over the same corpus PDFs: the bare pass opens the document and,
for every character of every page, reads its code point and its box through PDFium's C API
(nothing else); the parse step does that and builds words, lines and ruled tables, and the
result's JSON (what the step stores). Each figure is the median of several rounds of the whole
corpus, per document.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

from bench.common import ROOT, median
from bench.table import Row

CORPUS = ROOT.parent / "shared" / "corpus" / "invoices-dev"
ROUNDS = 7
TARGET = 2.0


def bare_pass(data: bytes) -> int:
    """Every character's code point and box; returns the number of characters."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    rect = pdfium_c.FS_RECTF()
    total = 0
    pdf = pypdfium2.PdfDocument(data)
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            for i in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
                pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
                pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, i, ctypes.byref(rect))
                total += 1
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return total


def parse_step(data: bytes) -> int:
    from docflow.domain.limits import Limits
    from docflow.steps.parse import ParseConfig, parse_document

    parsed = parse_document(data, "application/pdf", ParseConfig(), Limits())
    return len(parsed.model_dump_json())


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.pdf")) if CORPUS.is_dir() else []


def measure(files: list[Path]) -> dict[str, float]:
    documents = [path.read_bytes() for path in files]
    for data in documents:  # warm: imports, PDFium's font caches
        bare_pass(data)
        parse_step(data)
    timings: dict[str, list[float]] = {"bare": [], "parse": []}
    for _ in range(ROUNDS):
        for name, run in (("bare", bare_pass), ("parse", parse_step)):
            started = time.perf_counter()
            for data in documents:
                run(data)
            timings[name].append((time.perf_counter() - started) / len(documents))
    return {name: median(values) for name, values in timings.items()}


def rows() -> tuple[list[Row], list[str]]:
    files = corpus()
    if not files:
        return [Row("parse vs bare pypdfium2 pass", "skipped", met=None)], [f"parse speed: no corpus at {CORPUS}"]
    timing = measure(files)
    ratio = timing["parse"] / timing["bare"]
    row = Row(f"parse step per PDF ({len(files)} corpus PDFs)", f"{timing['parse'] * 1000:.1f} ms",
              f"bare pypdfium2 chars+boxes {timing['bare'] * 1000:.1f} ms", ratio, f"<= {TARGET:.0f}x",
              ratio <= TARGET)
    return [row], [f"parse: words, lines, ruled tables and the stored JSON, median of {ROUNDS} rounds over "
                   f"{len(files)} PDFs; the bare pass reads each character's code point and loose box only"]
