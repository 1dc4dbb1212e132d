"""The rules engine's reading of a parsed document: lines indexed by position, label hits,
candidate values right of or below a label, and values normalised by type (DESIGN.md §2).

For each field it looks for the field's labels ("Invoice Number", "Total", ...) in the lines of
the document and reads the value to the right of the label on the same line or, failing that, on
the nearest line below it in the same column; a field's `pattern` narrows the value down (and is
searched in the whole document when no label is found). Values are normalised by type, and a
candidate that does not normalise is skipped for the next one.

Scores tell how the value was found: label on the same line (0.9) > label above (0.75) >
pattern only (0.35), a little higher for a more specific label or when two places agree, lower
when the label sits in the middle of a sentence. The step turns scores into calibrated
confidences (steps/confidence.py).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from docflow.domain.documents import FieldResult, Line, ParsedDocument, Word
from docflow.domain.extraction import FieldSpec, FieldType

# Score of each way of finding a value (see the module docstring).
CONFIDENCE_SAME_LINE = 0.9
CONFIDENCE_BELOW = 0.75
CONFIDENCE_PATTERN_ONLY = 0.35

# --- the document, indexed once per call --------------------------------------------------------

_AGREEMENT_WINDOW = 20  # values compared with the best one to see whether other places agree
_SEGMENT_GAP = 0.8  # a horizontal gap wider than this many line heights separates two columns


@dataclass
class IndexedLine:
    page: int
    order: int  # position in the document, for stable ordering
    text: str
    words: list[Word]
    spans: list[tuple[int, int]]  # character span of each word in `text`
    segments: list[int]  # segment (column) index of each word
    top: float
    bottom: float
    height: float
    position: int = 0  # index in its page's lines sorted top to bottom

    def word_at(self, offset: int) -> int:
        """Index of the word containing or following character `offset` (len(words) if none)."""
        for i, (_, end) in enumerate(self.spans):
            if offset < end:
                return i
        return len(self.words)


def _index_line(line: Line, page: int, order: int) -> IndexedLine | None:
    text = line.text
    words = [w for w in line.words if w.text.strip()]
    if not words:
        if not text.strip():
            return None
        # A line without positions (another parser): one synthetic word.
        words = [Word(text=text.strip(), x0=0.0, top=0.0, x1=float(len(text)), bottom=1.0)]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for w in words:
        start = text.find(w.text, cursor)
        if start < 0:  # the line text is not made of the words: rebuild it from them
            text = " ".join(w.text for w in words)
            return _index_line(Line(text=text, words=words), page, order)
        spans.append((start, start + len(w.text)))
        cursor = start + len(w.text)
    heights = sorted(w.bottom - w.top for w in words)
    height = max(heights[len(heights) // 2], 1e-6)
    segments = [0]
    for prev, cur in itertools.pairwise(words):
        segments.append(segments[-1] + (1 if cur.x0 - prev.x1 > _SEGMENT_GAP * height else 0))
    return IndexedLine(
        page=page,
        order=order,
        text=text,
        words=words,
        spans=spans,
        segments=segments,
        top=min(w.top for w in words),
        bottom=max(w.bottom for w in words),
        height=height,
    )


@dataclass
class Document:
    source: ParsedDocument
    labels: list[str]  # every label of the config: a value never starts with one
    lines: list[IndexedLine] = field(default_factory=list)
    by_page: dict[int, list[IndexedLine]] = field(default_factory=dict)
    label_hits: dict[str, list[tuple[IndexedLine, re.Match[str]]]] = field(default_factory=dict)
    label_starts: dict[int, set[int]] = field(default_factory=dict)  # line order -> words starting a label
    _dayfirst: bool | None = None
    _dayfirst_known: bool = False

    def __post_init__(self) -> None:
        for page_index, page in enumerate(self.source.pages):
            number = page.number or page_index + 1
            page_lines: list[IndexedLine] = []
            if page.lines:
                for line in page.lines:
                    indexed = _index_line(line, number, len(self.lines))
                    if indexed is not None:
                        self.lines.append(indexed)
                        page_lines.append(indexed)
            else:  # no positions at all: lines of the page text, one above the other
                for i, raw in enumerate(page.text.splitlines()):
                    w = Word(text=raw.strip(), x0=0.0, top=i * 12.0, x1=len(raw) * 6.0, bottom=i * 12.0 + 10.0)
                    indexed = _index_line(Line(text=raw, words=[w] if w.text else []), number, len(self.lines))
                    if indexed is not None:
                        self.lines.append(indexed)
                        page_lines.append(indexed)
            page_lines.sort(key=lambda ln: (ln.top, ln.order))
            for position, line in enumerate(page_lines):
                line.position = position
            self.by_page[number] = page_lines
        spans: dict[int, set[tuple[int, int]]] = {}
        # Labels match without accents ("Net a payer", "Termin platnosci"): OCR and some fonts drop
        # them. The folding maps one character to one, so offsets stay those of the line text.
        folded = [fold_accents(line.text) for line in self.lines]
        lowered = [text.lower() for text in folded]
        for label in dict.fromkeys(self.labels):
            regex, key = label_regex(label), _label_key(label)
            hits = self.label_hits[label] = []
            for line, text, lower in zip(self.lines, folded, lowered, strict=True):
                if key not in lower:
                    continue  # a cheap test first: most labels are on no line
                for match in regex.finditer(text):
                    word = line.word_at(match.start())
                    if word < len(line.words):
                        hits.append((line, match))
                        spans.setdefault(line.order, set()).add(match.span())
                        if line.spans[word][0] == match.start():
                            self.label_starts.setdefault(line.order, set()).add(word)
        # The longest label takes the text: "Invoice" does not match inside "Invoice Date" when
        # "Invoice Date" is a label too.
        for label, hits in self.label_hits.items():
            self.label_hits[label] = [
                (line, m)
                for line, m in hits
                if not any(s <= m.start() and m.end() <= e and (s, e) != m.span() for s, e in spans[line.order])
            ]

    @property
    def dayfirst(self) -> bool | None:
        """How this document writes ambiguous numeric dates, judged from its unambiguous ones."""
        if not self._dayfirst_known:
            self._dayfirst = document_dayfirst("\n".join(line.text for line in self.lines))
            self._dayfirst_known = True
        return self._dayfirst


# --- finding candidates ------------------------------------------------------------------------


@dataclass
class Candidate:
    score: float
    order: tuple[int, int]
    method: str
    line: IndexedLine
    segments: list[str]  # the candidate text, split at column gaps
    word_range: tuple[int, int]  # words of `line` the candidate covers (end exclusive)
    label_length: int = 0
    label: str = ""  # the label that found it


_ACCENTED = {
    "a": "àáâãäåāăą", "c": "çćč", "d": "ď", "e": "èéêëēęě", "i": "ìíîïī", "l": "ł", "n": "ñńň",
    "o": "òóôõöøōő", "r": "ř", "s": "śšş", "t": "ť", "u": "ùúûüūůű", "y": "ýÿ", "z": "źżž",
}
_ACCENTS = str.maketrans({accented: plain for plain, chars in _ACCENTED.items() for accented in chars}
                         | {accented.upper(): plain.upper() for plain, chars in _ACCENTED.items()
                            for accented in chars if len(accented.upper()) == 1})


def fold_accents(text: str) -> str:
    """`text` without accents, one character for one: "Należność" -> "Naleznosc"."""
    return text.translate(_ACCENTS)


@functools.cache
def _label_key(label: str) -> str:
    """A piece of text every line matching the label contains (its first word, lower case)."""
    words = re.findall(r"\w+", fold_accents(label))
    return words[0].lower() if words else ""


@functools.cache
def label_regex(label: str) -> re.Pattern[str]:
    """The label as a pattern over accent-folded text: any case, any spacing or '.', '-' between words."""
    label = fold_accents(label)
    tokens = re.findall(r"\w+|[^\w\s]", label)
    while tokens and tokens[-1] in (":", "."):
        tokens.pop()
    parts: list[str] = []
    for i, token in enumerate(tokens):
        if i:
            both_words = token[0].isalnum() and tokens[i - 1][-1].isalnum()
            parts.append(r"[\s._\-]*" if both_words else r"\s*")
        parts.append(r"\.?" if token == "." else ":?" if token == ":" else re.escape(token))
    body = "".join(parts)
    end = r"(?!\w)" if tokens and tokens[-1][-1].isalnum() else ""
    return re.compile(rf"(?<!\w){body}{end}", re.IGNORECASE)


_LEAD_SEPARATORS = re.compile(r"(?:[\s:#=|>]|\.(?!\d)|[-\u2013\u2014](?=\s))+")
LABEL_LIKE = re.compile(r"^[^\W\d][\w.\-/()]*:$")
_ALPHA = re.compile(r"^[^\W\d_]+$")


def label_candidates(doc: Document, spec: FieldSpec) -> list[Candidate]:
    candidates: list[Candidate] = []
    for label in spec.effective_labels():
        specificity = min(len(re.findall(r"\w+", label)) - 1, 2) * 0.03
        for line, match in doc.label_hits[label]:
            first = line.word_at(match.start())
            starts_segment = (
                line.spans[first][0] == match.start()
                and (first == 0 or line.segments[first] != line.segments[first - 1])
            ) or match.start() == 0
            bonus = specificity + (0.05 if starts_segment else -0.15)
            place, length = (line.order, match.start()), match.end() - match.start()
            same = _same_line_value(line, match.end(), doc.label_starts.get(line.order, set()))
            if same is not None:
                segments, word_range = same
                candidates.append(Candidate(CONFIDENCE_SAME_LINE + bonus, place, "label_same_line", line, segments,
                                            word_range, length, label))
            below = _below_value(doc, line, first, match.end())
            if below is not None:
                below_line, segments, word_range = below
                candidates.append(Candidate(CONFIDENCE_BELOW + bonus, place, "label_below", below_line, segments,
                                            word_range, length, label))
    # Best score first; among equals the longer label ("Invoice Number" before "Invoice"), then document order.
    candidates.sort(key=lambda c: (-c.score, -c.label_length, c.order, c.method != "label_same_line"))
    return candidates


def _same_line_value(
    line: IndexedLine, label_end: int, label_starts: set[int]
) -> tuple[list[str], tuple[int, int]] | None:
    """The text right of a label on its line, as column segments, up to the next label."""
    rest_start = label_end
    lead = _LEAD_SEPARATORS.match(line.text, rest_start)
    if lead:
        rest_start = lead.end()
    if rest_start >= len(line.text):
        return None
    first = None
    for i, (_, end) in enumerate(line.spans):
        if end > rest_start:
            first = i
            break
    if first is None:
        return None
    stop = len(line.words)
    for i in range(first, len(line.words)):
        if i in label_starts and line.spans[i][0] >= rest_start:
            stop = i  # another field's label
            break
        if LABEL_LIKE.match(line.words[i].text):
            # The next "Label:" starts another field; words of the same column just before it
            # belong to that label ("Due Date:").
            stop = i
            same_column = line.segments[i]
            while stop > first and line.segments[stop - 1] == same_column and _ALPHA.match(line.words[stop - 1].text):
                stop -= 1
            break
    if stop <= first:
        return None  # the label is directly followed by another label: the value is elsewhere
    segments: list[str] = []
    for i in range(first, stop):
        start, end = line.spans[i]
        text = line.text[max(start, rest_start) : end]
        if i == first or line.segments[i] != line.segments[i - 1]:
            segments.append(text)
        else:
            segments[-1] += " " + text
    segments = [s for s in (s.strip() for s in segments) if s]
    return (segments, (first, stop)) if segments else None


def _below_value(
    doc: Document, line: IndexedLine, first_word: int, label_end: int
) -> tuple[IndexedLine, list[str], tuple[int, int]] | None:
    """The column segment under a label on the nearest line below it."""
    last_word = max(first_word, min(line.word_at(max(label_end - 1, 0)), len(line.words) - 1))
    x0 = line.words[first_word].x0
    x1 = line.words[last_word].x1
    tolerance = line.height * 0.5
    page_lines = doc.by_page.get(line.page, [])
    for index in range(line.position + 1, len(page_lines)):
        below = page_lines[index]
        if below.top < line.bottom - 0.2 * line.height:
            continue
        if below.top - line.bottom > 3 * max(line.height, below.height):
            return None
        hits = [i for i, w in enumerate(below.words) if w.x1 > x0 - tolerance and w.x0 < x1 + tolerance]
        if not hits:
            continue
        segment = below.segments[hits[0]]
        members = [i for i, s in enumerate(below.segments) if s == segment]
        text = " ".join(below.words[i].text for i in members).strip()
        if not text or LABEL_LIKE.match(below.words[members[-1]].text):
            return None
        if members[0] in doc.label_starts.get(below.order, ()):
            return None  # labels stacked one above the other: the values are on their right
        return below, [text], (members[0], members[-1] + 1)
    return None


def extract_one(doc: Document, spec: FieldSpec) -> FieldResult | None:
    pattern = re.compile(spec.pattern) if spec.pattern else None
    found: list[tuple[Candidate, Any, str]] = []
    for candidate in label_candidates(doc, spec):
        picked = pick_value(doc, spec, pattern, candidate.segments)
        if picked is not None:
            found.append((candidate, picked[0], picked[1]))
            if len(found) >= _AGREEMENT_WINDOW:
                break
    if not found and pattern is not None:
        for line in doc.lines:
            picked = pick_value(doc, spec, pattern, [line.text])
            if picked is not None:
                candidate = Candidate(
                    CONFIDENCE_PATTERN_ONLY, (line.order, 0), "pattern", line, [line.text], (0, len(line.words))
                )
                found.append((candidate, picked[0], picked[1]))
                break
    if not found:
        return None
    best, value, source = found[0]
    agreeing = sum(1 for other in found[1:] if other[1] == value)
    confidence = best.score + (0.05 if agreeing else 0.0) - _implausibility(spec, value)
    return FieldResult(
        value=value,
        confidence=round(min(max(confidence, 0.05), 0.99), 3),
        page=best.line.page,
        source_text=source,
        method=best.method,
        bbox=bbox(best.line, best.word_range),
    )


def _implausibility(spec: FieldSpec, value: Any) -> float:
    """How much less a string value is to be trusted for what it looks like: a value is a name,
    a number or a short phrase, rarely a lone lower-case word, prose or code (measured with
    `make bench-extract`: those were the confident wrong values of a generic label set)."""
    if spec.type != "string" or spec.pattern or not isinstance(value, str):
        return 0.0
    words = value.split()
    if re.search(r"[\"{}\[\]<>]", value):
        return 0.4  # code or markup around the label, not a value
    if len(words) > 8:
        return 0.3  # a sentence that happens to follow the label
    if len(words) == 1 and not re.search(r"\d", value) and (value.islower() or len(value) <= 3):
        return 0.3  # "an", "case": the next word of a sentence
    return 0.0


def bbox(line: IndexedLine, word_range: tuple[int, int]) -> list[float]:
    words = line.words[word_range[0] : word_range[1]] or line.words
    return [
        round(min(w.x0 for w in words), 2),
        round(min(w.top for w in words), 2),
        round(max(w.x1 for w in words), 2),
        round(max(w.bottom for w in words), 2),
    ]


# --- values by type --------------------------------------------------------------------------


def pick_value(
    doc: Document, spec: FieldSpec, pattern: re.Pattern[str] | None, segments: list[str]
) -> tuple[Any, str] | None:
    """(normalised value, source text) of the first acceptable value in a candidate, or None."""
    if pattern is not None:
        for match in pattern.finditer(" ".join(segments)):
            raw = next((g for g in match.groups() if g is not None), match.group(0))
            value = normalise(doc, spec.type, raw)
            if value is not None:
                return value, raw.strip()
        return None
    if spec.type in ("number", "currency"):
        return pick_amount(segments)
    if spec.type == "date":
        return find_date(" ".join(segments), doc.dayfirst)
    value = normalise(doc, spec.type, segments[0])
    return (value, segments[0]) if value is not None else None


def normalise(doc: Document, type_: FieldType, raw: str) -> Any:
    if type_ in ("number", "currency"):
        return parse_amount(raw)
    if type_ == "date":
        found = find_date(raw, doc.dayfirst)
        return found[0] if found else None
    if type_ == "boolean":
        return parse_boolean(raw)
    if type_ == "list":
        return parse_list(raw)
    text = " ".join(raw.split()).strip(" ,;")
    if not re.search(r"\w", text) or LABEL_LIKE.match(text.split(" ")[0]):
        return None
    dated = _DATED_TAIL.search(text)
    if dated and dated.start() > 0:
        tail = find_date(dated["date"], doc.dayfirst)
        if tail is not None and tail[1] == dated["date"].strip(" .,"):
            text = text[: dated.start()]  # "562044387 du 02 Juillet 2015": the number, not its date
    return text


# "<value> of|vom|du|del|z dnia <date>" at the end of a string value.
_DATED_TAIL = re.compile(r"\s+(?:of|dated|from|vom|von|du|le|del|de|van|dd\.?|z dnia|z)\s+(?P<date>[^,;]{6,30})$",
                         re.IGNORECASE)


# Amounts: digit groups with one consistent thousands separator, then an optional decimal part.
# A plain space groups thousands only before a decimal comma ("1 234,56"), so that "2 100.00"
# (a quantity, then a price) stays two numbers.
_AMOUNT = re.compile(
    r"(?<![\w.,])(?:"
    r"(?P<int>[1-9]\d{0,2}(?P<sep>[.,'\u2019\u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*)(?:(?P<dec>[.,])(?P<frac>\d+))?"
    r"|(?P<int_s>[1-9]\d{0,2}(?: \d{3})+),(?P<frac_s>\d+)"
    r"|(?P<int_p>\d+)(?:[.,](?P<frac_p>\d+))?"
    r")(?![\d]|[.,]\d|\s?%|[^\W\d_])"
)
_CURRENCY = r"[$€£¥₹₩₽¢]|\b(?:[A-Z]{3}|Rs\.?|kr|zł|Fr\.?)(?![^\W\d_])"
_CURRENCY_BEFORE = re.compile(rf"(?:{_CURRENCY})\s*[-\u2212\u2013]?\s*$")
_CURRENCY_AFTER = re.compile(rf"^\s*(?:{_CURRENCY})")
_NEGATIVE_BEFORE = re.compile(rf"(?:[-\u2212\u2013]|\()\s*(?:{_CURRENCY})?\s*$")
_NEGATIVE_AFTER = re.compile(rf"^\s*(?:{_CURRENCY})?\s*(?:-(?!\d)|\))")


def amounts(text: str) -> list[tuple[float, bool, str]]:
    """Every amount in `text`: (value, has a currency mark, source text). Dates are skipped."""
    masked = mask_dates(text)
    found = []
    for match in _AMOUNT.finditer(masked):
        if match["int"] is not None:
            if match["dec"] == match["sep"] and len(match["frac"]) == 3:
                continue  # "1,234,5678"-like: not a well-formed amount
            integer, fraction = match["int"].replace(match["sep"], ""), match["frac"]
        elif match["int_s"] is not None:
            integer, fraction = match["int_s"].replace(" ", ""), match["frac_s"]
        else:
            integer, fraction = match["int_p"], match["frac_p"]
        value = float(f"{integer}.{fraction}" if fraction else integer)
        before, after = masked[max(0, match.start() - 6) : match.start()], masked[match.end() : match.end() + 6]
        start, end = match.start(), match.end()
        negative_before, negative_after = _NEGATIVE_BEFORE.search(before), _NEGATIVE_AFTER.match(after)
        if negative_before or negative_after:
            value = -value
        currency_before, currency_after = _CURRENCY_BEFORE.search(before), _CURRENCY_AFTER.match(after)
        for m in (negative_before, currency_before):
            if m:
                start = min(start, match.start() - len(before) + m.start())
        for m in (negative_after, currency_after):
            if m:
                end = max(end, match.end() + m.end())
        found.append((value, bool(currency_before or currency_after), text[start:end].strip()))
    return found


def parse_amount(text: str) -> float | None:
    """A number or money amount as a float: '$4.11', '1,234.56', '1.234,56', '1 234,56 €', '-5', '(5.00)'.

    With several amounts in the text, the first one with a currency mark wins, else the last one.
    """
    picked = pick_amount([text])
    return picked[0] if picked else None


def pick_amount(segments: list[str]) -> tuple[float, str] | None:
    """The amount of a candidate: the first with a currency mark; else, of the numbers with
    decimals, the last when they are in different columns (a table row ends with its total) or the
    first one in running text; else the first number."""
    found = [(index, amount) for index, segment in enumerate(segments) for amount in amounts(segment)]
    if not found:
        return None
    marked = [a for _, a in found if a[1]]
    if marked:
        return marked[0][0], marked[0][2]
    decimals = [(i, a) for i, a in found if re.search(r"[.,]\d+$", a[2])]
    if decimals:
        _, amount = decimals[-1] if len({i for i, _ in decimals}) > 1 else decimals[0]
        return amount[0], amount[2]
    return found[0][1][0], found[0][1][2]


_TRUE = frozenset({"yes", "y", "true", "x", "[x]", "checked", "on", "✓", "✔", "☑", "☒", "ja", "oui", "si", "sí"})
_FALSE = frozenset({"no", "n", "false", "unchecked", "off", "[ ]", "[]", "☐", "nein", "non"})


def parse_boolean(text: str) -> bool | None:
    """yes/no, true/false, x/checked (and ☑/☐) as a bool; None when it is neither."""
    words = text.strip().lower().split()
    if not words:
        return None
    word = words[0].strip(".,;:!")
    if word in _TRUE or text.strip().lower() in _TRUE:
        return True
    if word in _FALSE or text.strip().lower() in _FALSE:
        return False
    return None


def parse_list(text: str) -> list[str] | None:
    """Items separated by commas, semicolons or new lines; None when there is none."""
    items = [item.strip() for item in re.split(r"[,;\n]", text)]
    items = [item for item in items if item]
    return items or None


# Dates: month names in the languages invoices most often use, numeric and ISO forms.
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan januar jänner janvier janv januari enero gennaio janeiro",
        "february feb februar février fevrier févr fevr februari febrero febbraio fevereiro",
        "march mar märz maerz mär mars maart mrt marzo março",
        "april apr avril avr abril aprile",
        "may mai mei mayo maggio maio",
        "june jun juni juin junio giugno junho",
        "july jul juli juillet juil julio luglio julho",
        "august aug août aout augustus agosto",
        "september sep sept septembre septiembre setiembre settembre setembro",
        "october oct oktober octobre okt octubre ottobre outubro",
        "november nov novembre noviembre novembro",
        "december dec dezember décembre decembre dez diciembre dicembre dezembro",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_ENGLISH_MONTHS = re.compile(
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december)\b", re.IGNORECASE
)
_OTHER_MONTHS = re.compile(
    r"\b(?:januar|jänner|janvier|januari|enero|gennaio|janeiro|februar|février|februari|febrero|märz|mars|maart|"
    r"marzo|avril|abril|mai|mei|mayo|maggio|juni|juin|junio|juli|juillet|julio|août|augustus|agosto|septembre|"
    r"septiembre|settembre|oktober|octobre|octubre|ottobre|novembre|noviembre|dezember|décembre|diciembre)\b",
    re.IGNORECASE,
)
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    ("ymd", re.compile(r"(?<![\d.])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?![\d])")),
    ("num", re.compile(r"(?<![\d.,])(?P<a>\d{1,2})(?P<s>[./-])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?![\d]|[.,]\d)")),
    (
        "dmy",
        re.compile(
            r"(?<![\w.])(?P<d>\d{1,2})(?:st|nd|rd|th|er|\.)?[\s\-/.]*(?:de\s+)?"
            + _MONTH
            + r"(?![^\W\d_])[\s\-/.,]*(?:de\s+)?(?P<y>\d{4})(?!\d)",
            re.IGNORECASE,
        ),
    ),
    (
        "mdy",
        re.compile(
            r"(?<![^\W\d_])"
            + _MONTH
            + r"(?![^\W\d_])[\s\-/.]*(?P<d>\d{1,2})(?:st|nd|rd|th)?(?!\d)[\s\-/.,]*(?P<y>\d{4})(?!\d)",
            re.IGNORECASE,
        ),
    ),
)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _date_from(kind: str, m: re.Match[str], dayfirst: bool | None) -> date | None:
    try:
        if kind == "ymd":
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        if kind == "num":
            a, b, year = int(m["a"]), int(m["b"]), _year(m["y"])
            if a > 12 or (b <= 12 and a <= 12 and _prefers_dayfirst(dayfirst, m["s"])):
                return date(year, b, a)
            return date(year, a, b)
        return date(int(m["y"]), _MONTHS[m["month"].lower().rstrip(".")], int(m["d"]))
    except (ValueError, KeyError):
        return None


def _prefers_dayfirst(dayfirst: bool | None, separator: str) -> bool:
    if dayfirst is not None:
        return dayfirst
    return separator != "/"  # 03.08.2014 and 03-08-2014 are day first nearly everywhere


def find_date(text: str, dayfirst: bool | None) -> tuple[str, str] | None:
    """The first date in `text` as (ISO date, source text)."""
    best: tuple[int, date, str] | None = None
    for kind, regex in _DATE_PATTERNS:
        for match in regex.finditer(text):
            if best is not None and match.start() >= best[0]:
                break
            value = _date_from(kind, match, dayfirst)
            if value is not None:
                best = (match.start(), value, match.group(0))
                break
    if best is not None:
        return best[1].isoformat(), best[2].strip()
    return _dateutil_date(text, dayfirst)


def _dateutil_date(text: str, dayfirst: bool | None) -> tuple[str, str] | None:
    from dateutil import parser as dateutil_parser  # a last resort: not worth its import on every cold start

    """Last resort for other short spellings; only complete dates (a year, a month and a day)."""
    text = text.strip()
    if len(text) > 40 or not re.search(r"(?<!\d)\d{4}(?!\d)", text):
        return None
    try:
        one = dateutil_parser.parse(text, dayfirst=bool(dayfirst), default=datetime(2000, 1, 1))
        two = dateutil_parser.parse(text, dayfirst=bool(dayfirst), default=datetime(2001, 2, 2))
    except (ValueError, OverflowError, TypeError):
        return None
    if one.date() != two.date():  # a part was missing and filled in from the default
        return None
    return one.date().isoformat(), text


def parse_date(text: str, dayfirst: bool | None = None) -> str | None:
    """The first date in `text` as ISO `YYYY-MM-DD`: '2014-08-03', 'August 3 , 2014', '03.08.2014',
    '31/12/2017', '7. Mai 2014'. Ambiguous numeric dates follow `dayfirst`, else their separator."""
    found = find_date(text, dayfirst)
    return found[0] if found else None


def mask_dates(text: str) -> str:
    for _, regex in _DATE_PATTERNS:
        text = regex.sub(lambda m: " " * len(m.group(0)), text)
    return text


def document_dayfirst(text: str) -> bool | None:
    """Day first or month first, from the dates that say so (13+ in one place), then the language."""
    day_first = month_first = 0
    for match in _DATE_PATTERNS[1][1].finditer(text):
        a, b = int(match["a"]), int(match["b"])
        if a > 12 >= b:
            day_first += 1
        elif b > 12 >= a:
            month_first += 1
    if day_first != month_first:
        return day_first > month_first
    english = bool(_ENGLISH_MONTHS.search(text))
    other = bool(_OTHER_MONTHS.search(text))
    if english != other:
        return other
    # No month names: the document's language and money say it (numeric dates are month first
    # in the United States, day first in the languages below and wherever € £ ₹ are used).
    if _DAY_FIRST_WORDS.search(text) or _DAY_FIRST_MONEY.search(text):
        return True
    if _MONTH_FIRST_HINTS.search(text):
        return False
    return None


_DAY_FIRST_WORDS = re.compile(
    r"(?i)(?<!\w)(?:rechnung|datum|mwst|ust|betrag|facture|date de|tva|montant|factuur|btw|bedrag|factura|fecha|iva|"
    r"importe|fattura|importo|faktura|data wystawienia|kwota|netto|brutto|gst|abn|vat reg)(?!\w)"
)
_DAY_FIRST_MONEY = re.compile(r"[€£₹]|(?<![A-Z])(?:EUR|GBP|INR|PLN|CHF|AUD|NZD|ZAR)(?![A-Z])")
_MONTH_FIRST_HINTS = re.compile(r"\$|(?<![A-Z])USD(?![A-Z])|(?i:sales tax)")
