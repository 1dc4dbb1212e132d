"""The `textract` extraction engine (DESIGN.md §2): Amazon Textract behind the ExtractionEngine port.

- The invoice preset's fields come from AnalyzeExpense (its normalised SummaryFields and
  LineItemGroups); any other field is a Query of AnalyzeDocument (FeatureTypes QUERIES), asked
  with the field's description (or its name read as words), its alias the field name.
- A single page goes in the request (`Document.Bytes`, the synchronous APIs). A multi-page
  document stored in S3 goes through the asynchronous job API (StartExpenseAnalysis /
  StartDocumentAnalysis, then the Get* calls, polled with a bounded wait and paged by NextToken);
  the job's ClientRequestToken is derived from the document and the request, so a step retried
  after the wait ran out finds the same job instead of paying for a second one. A multi-page PDF
  that is not in S3 (local mode) is sent page by page to the synchronous APIs.
- Confidence is Textract's (0-100) as a probability: the value's detection times its label's;
  pages and boxes are the page's own (boxes scaled from Textract's ratios to the parse step's page
  size). Usage counts pages per API, as the price table names them.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from docflow.adapters.aws.engine_errors import CallContext, engine_call
from docflow.adapters.engine_values import currency_code, extraction_of, is_currency_code_field, normalise_text
from docflow.domain.documents import FieldResult
from docflow.domain.errors import DeliveryTransient, StepFailed
from docflow.domain.extraction import LINE_ITEM_KEYS, EngineAnswer, EngineRequest, FieldSpec

# Invoice preset field → AnalyzeExpense SummaryField types, the first preferred.
EXPENSE_TYPES: dict[str, tuple[str, ...]] = {
    "invoice_number": ("INVOICE_RECEIPT_ID",),
    "date": ("INVOICE_RECEIPT_DATE",),
    "due_date": ("DUE_DATE",),
    "total": ("TOTAL", "AMOUNT_DUE"),
    "subtotal": ("SUBTOTAL",),
    "tax": ("TAX",),
    "issuer": ("VENDOR_NAME",),
    "buyer": ("RECEIVER_NAME",),
}
# Where the invoice's currency is read from: the Currency of these amounts, in this order.
CURRENCY_SOURCES = ("TOTAL", "AMOUNT_DUE", "SUBTOTAL", "TAX")
LINE_ITEM_TYPES = {"ITEM": "description", "QUANTITY": "quantity", "UNIT_PRICE": "unit_price", "PRICE": "amount"}
EXPENSE_API, QUERIES_API = "AnalyzeExpense", "AnalyzeDocument:Queries"
# Textract takes at most 15 queries per page in one synchronous call (30 asynchronous).
MAX_QUERIES_PER_CALL = 15
_QUERY_CHARS = re.compile(r"[^a-zA-Z0-9\s!\"#$%'&()*+,\-./:;=?@\[\\\]^_`{|}~><]")


@dataclass(frozen=True)
class _Source:
    """Where Textract reads the document: an S3 object (asynchronous), or pages as bytes."""

    s3: tuple[str, str] | None = None
    pages: list[tuple[int, bytes]] = field(default_factory=list)  # (page number, single-page bytes)


class TextractEngine:
    def __init__(self, client_factory: Callable[[], Any], *, bucket: str | None = None, region: str | None = None,
                 max_wait_seconds: float = 180.0, poll_seconds: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self._factory: Callable[[], Any] = client_factory
        self._client: Any = None
        self._bucket, self._region = bucket, region
        self._max_wait, self._poll = max_wait_seconds, poll_seconds
        self._sleep, self._clock = sleep, clock

    def _textract(self, action: str) -> Any:
        if self._client is None:
            with engine_call(CallContext("textract", action, self._region)):
                self._client = self._factory()
        return self._client

    def extract(self, request: EngineRequest) -> EngineAnswer:
        expense = [s for s in request.fields if request.preset == "invoice" and _expense_field(s)]
        queries = [s for s in request.fields if s.name not in {e.name for e in expense}]
        source = self._source(request)
        sizes = _page_sizes(request)
        results: dict[str, FieldResult] = {}
        pages: dict[str, int] = {}
        if expense:
            documents, pages[EXPENSE_API] = self._expense_documents(source)
            results.update(map_expense(documents, expense, sizes))
        if queries:
            blocks, pages[QUERIES_API] = self._query_blocks(source, queries)
            results.update(map_queries(blocks, queries, sizes))
        return EngineAnswer(extraction_of(request.fields, results), usage={"textract_pages": pages})

    # --- where the document goes ------------------------------------------------------------------

    def _source(self, request: EngineRequest) -> _Source:
        page_count = request.parsed.page_count if request.parsed is not None else _pdf_pages(request)
        if page_count <= 1:
            return _Source(pages=[(1, request.data)])
        if self._bucket and request.storage_key:
            return _Source(s3=(self._bucket, request.storage_key))
        if request.content_type == "application/pdf":
            return _Source(pages=_single_pages(request.data))
        raise StepFailed(f"Textract reads a {page_count}-page {request.content_type} document only from S3; "
                         "this runtime has no bucket for it", code="engine_rejected_document",
                         details=[{"engine": "textract", "pages": page_count}])

    # --- AnalyzeExpense ----------------------------------------------------------------------------

    def _expense_documents(self, source: _Source) -> tuple[list[dict[str, Any]], int]:
        if source.s3 is not None:
            responses = self._job("StartExpenseAnalysis", "GetExpenseAnalysis", source.s3, {})
            return [d for r in responses for d in r.get("ExpenseDocuments", [])], _pages_of(responses[0])
        documents: list[dict[str, Any]] = []
        billed = 0
        ctx = CallContext("textract", "textract:AnalyzeExpense", self._region)
        for number, data in source.pages:
            with engine_call(ctx):
                response = self._textract(ctx.action).analyze_expense(Document={"Bytes": data})
            billed += _pages_of(response)
            for document in response.get("ExpenseDocuments", []):
                documents.append(_on_page(document, number) if number != 1 else document)
        return documents, billed

    # --- AnalyzeDocument with Queries --------------------------------------------------------------

    def _query_blocks(self, source: _Source, specs: list[FieldSpec]) -> tuple[list[dict[str, Any]], int]:
        blocks: list[dict[str, Any]] = []
        billed = 0
        for chunk in _chunks(specs, MAX_QUERIES_PER_CALL):
            config = queries_config(chunk, all_pages=source.s3 is not None)
            if source.s3 is not None:
                responses = self._job("StartDocumentAnalysis", "GetDocumentAnalysis", source.s3,
                                      {"FeatureTypes": ["QUERIES"], "QueriesConfig": config})
                blocks.extend(b for r in responses for b in r.get("Blocks", []))
                billed += _pages_of(responses[0])
                continue
            ctx = CallContext("textract", "textract:AnalyzeDocument", self._region)
            for number, data in source.pages:
                with engine_call(ctx):
                    response = self._textract(ctx.action).analyze_document(
                        Document={"Bytes": data}, FeatureTypes=["QUERIES"], QueriesConfig=config)
                billed += _pages_of(response)
                blocks.extend({**b, "Page": number} if number != 1 else b for b in response.get("Blocks", []))
        return blocks, billed

    # --- the asynchronous job API ------------------------------------------------------------------

    def _job(self, start: str, get: str, s3: tuple[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
        """Starts (or finds again) a job on the S3 object and returns every page of its result."""
        bucket, key = s3
        token = _request_token(start, bucket, key, params)
        start_ctx = CallContext("textract", f"textract:{start}", self._region, f"s3://{bucket}/{key}")
        with engine_call(start_ctx):
            started = getattr(self._textract(start_ctx.action), _snake(start))(
                DocumentLocation={"S3Object": {"Bucket": bucket, "Name": key}}, ClientRequestToken=token, **params)
        job_id = started["JobId"]
        get_ctx = CallContext("textract", f"textract:{get}", self._region, f"job {job_id}")
        fetch = getattr(self._textract(get_ctx.action), _snake(get))
        deadline, delay = self._clock() + self._max_wait, self._poll
        while True:
            with engine_call(get_ctx):
                response = fetch(JobId=job_id)
            status = response.get("JobStatus")
            if status != "IN_PROGRESS":
                break
            if self._clock() + delay > deadline:
                raise DeliveryTransient(f"the Textract job {job_id} is still running after {self._max_wait:.0f} s; "
                                        "the step is retried and picks the same job up",
                                        details=get_ctx.details())
            self._sleep(delay)
            delay = min(delay * 1.5, 10.0)
        if status == "FAILED":
            raise StepFailed(f"Textract could not analyse the document: {response.get('StatusMessage') or status}",
                             code="engine_rejected_document", details=get_ctx.details())
        responses = [response]
        while responses[-1].get("NextToken"):
            with engine_call(get_ctx):
                responses.append(fetch(JobId=job_id, NextToken=responses[-1]["NextToken"]))
        return responses


# --- requests ----------------------------------------------------------------------------------------


def _expense_field(spec: FieldSpec) -> bool:
    return spec.name in EXPENSE_TYPES or spec.name == "line_items" or is_currency_code_field(spec)


def query_text(spec: FieldSpec) -> str:
    """The question Textract is asked for a field: its description (as a question when it reads
    like a noun phrase), else its name read as words; in the characters Textract accepts."""
    description = (spec.description or "").strip()
    if not description:
        question = f"What is the {spec.name.replace('_', ' ').strip()}?"
    elif description.endswith("?"):
        question = description
    elif re.match(r"(?i)(the|a|an|its|their)\s", description):
        question = f"What is {description[0].lower()}{description[1:].rstrip('.')}?"
    else:
        question = description
    ascii_text = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode()
    cleaned = " ".join(_QUERY_CHARS.sub(" ", ascii_text).split())
    return (cleaned or f"What is the {spec.name}?")[:200]


def queries_config(specs: Iterable[FieldSpec], *, all_pages: bool) -> dict[str, Any]:
    """QueriesConfig for AnalyzeDocument: one Query per field, its Alias the field name. Queries
    read only the first page unless told otherwise: a multi-page job asks every page ('*')."""
    pages = {"Pages": ["*"]} if all_pages else {}
    return {"Queries": [{"Text": query_text(s), "Alias": s.name, **pages} for s in specs]}


def _request_token(api: str, bucket: str, key: str, params: dict[str, Any]) -> str:
    """The same job for the same document and request (Textract's idempotency token)."""
    raw = json.dumps([api, bucket, key, params], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:64]


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _chunks[T](items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _pages_of(response: dict[str, Any]) -> int:
    return int(response.get("DocumentMetadata", {}).get("Pages") or 1)


def _pdf_pages(request: EngineRequest) -> int:
    if request.content_type != "application/pdf":
        return 1
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(request.data)
    except pypdfium2.PdfiumError as exc:
        raise StepFailed(f"the PDF cannot be read: {exc}", code="document_corrupt") from exc
    try:
        return len(document)
    finally:
        document.close()


def _single_pages(data: bytes) -> list[tuple[int, bytes]]:
    """Each page of a PDF as a PDF of its own (for the synchronous APIs, which take one page)."""
    import io

    import pypdfium2

    source = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for index in range(len(source)):
            single = pypdfium2.PdfDocument.new()
            try:
                single.import_pages(source, [index])
                buffer = io.BytesIO()
                single.save(buffer)
                pages.append((index + 1, buffer.getvalue()))
            finally:
                single.close()
        return pages
    finally:
        source.close()


def _on_page(document: dict[str, Any], number: int) -> dict[str, Any]:
    """An ExpenseDocument of a one-page call, its fields moved to page `number` of the whole."""
    def moved(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**f, "PageNumber": number} for f in fields]

    groups = [{**g, "LineItems": [{**item, "LineItemExpenseFields": moved(item.get("LineItemExpenseFields", []))}
                                  for item in g.get("LineItems", [])]}
              for g in document.get("LineItemGroups", [])]
    return {**document, "SummaryFields": moved(document.get("SummaryFields", [])), "LineItemGroups": groups}


# --- answers ------------------------------------------------------------------------------------------


def _page_sizes(request: EngineRequest) -> dict[int, tuple[float, float]]:
    if request.parsed is None:
        return {}
    return {page.number or i + 1: (page.width, page.height) for i, page in enumerate(request.parsed.pages)}


def _bbox(geometry: dict[str, Any] | None, page: int | None,
          sizes: dict[int, tuple[float, float]]) -> list[float] | None:
    box = (geometry or {}).get("BoundingBox")
    if not box or page not in sizes:
        return None
    width, height = sizes[page]
    left, top = float(box.get("Left", 0)) * width, float(box.get("Top", 0)) * height
    return [round(left, 2), round(top, 2), round(left + float(box.get("Width", 0)) * width, 2),
            round(top + float(box.get("Height", 0)) * height, 2)]


def _percent(value: Any) -> float:
    try:
        return min(max(float(value) / 100.0, 0.0), 1.0)
    except (TypeError, ValueError):
        return 0.0


def _field_confidence(expense_field: dict[str, Any]) -> float:
    value = _percent(expense_field.get("ValueDetection", {}).get("Confidence"))
    label = expense_field.get("Type", {}).get("Confidence")
    if label is None:
        label = expense_field.get("LabelDetection", {}).get("Confidence", 100)
    return round(value * _percent(label), 4)


def _result(spec: FieldSpec, expense_field: dict[str, Any], sizes: dict[int, tuple[float, float]],
            method: str) -> FieldResult | None:
    detection = expense_field.get("ValueDetection") or {}
    value = normalise_text(detection.get("Text"), spec.type)
    if value is None:
        return None
    page = expense_field.get("PageNumber")
    return FieldResult(value=value, confidence=_field_confidence(expense_field), page=page,
                       source_text=detection.get("Text"), method=method,
                       bbox=_bbox(detection.get("Geometry"), page, sizes))


def map_expense(documents: list[dict[str, Any]], specs: list[FieldSpec],
                sizes: dict[int, tuple[float, float]]) -> dict[str, FieldResult]:
    """The invoice fields out of AnalyzeExpense's ExpenseDocuments."""
    summary = [f for d in documents for f in d.get("SummaryFields", [])]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for expense_field in summary:
        by_type.setdefault(str(expense_field.get("Type", {}).get("Text", "")), []).append(expense_field)
    results: dict[str, FieldResult] = {}
    for spec in specs:
        if spec.name == "line_items":
            found = _line_items(documents, sizes)
        elif is_currency_code_field(spec):
            found = _currency(by_type)
        else:
            found = _best(spec, EXPENSE_TYPES.get(spec.name, ()), by_type, sizes)
        if found is not None:
            results[spec.name] = found
    return results


def _best(spec: FieldSpec, types: tuple[str, ...], by_type: dict[str, list[dict[str, Any]]],
          sizes: dict[int, tuple[float, float]]) -> FieldResult | None:
    """The most confident value of the first type that has one."""
    for type_ in types:
        candidates = [r for f in by_type.get(type_, [])
                      if (r := _result(spec, f, sizes, f"textract:AnalyzeExpense:{type_}")) is not None]
        if candidates:
            return max(candidates, key=lambda r: r.confidence)
    return None


def _currency(by_type: dict[str, list[dict[str, Any]]]) -> FieldResult | None:
    for type_ in CURRENCY_SOURCES:
        for expense_field in by_type.get(type_, []):
            currency = expense_field.get("Currency") or {}
            code = currency_code(currency.get("Code"))
            if code is not None:
                confidence = _percent(currency.get("Confidence", expense_field.get("ValueDetection", {})
                                                   .get("Confidence")))
                return FieldResult(value=code, confidence=round(confidence, 4), page=expense_field.get("PageNumber"),
                                   source_text=currency.get("Code"), method=f"textract:AnalyzeExpense:{type_}:Currency")
    return None


def _line_items(documents: list[dict[str, Any]], sizes: dict[int, tuple[float, float]]) -> FieldResult | None:
    specs = {"description": FieldSpec(name="description"), "quantity": FieldSpec(name="quantity", type="number"),
             "unit_price": FieldSpec(name="unit_price", type="currency"),
             "amount": FieldSpec(name="amount", type="currency")}
    rows: list[dict[str, Any]] = []
    confidences: list[float] = []
    first_page: int | None = None
    for document in documents:
        for group in document.get("LineItemGroups", []):
            for item in group.get("LineItems", []):
                row: dict[str, Any] = dict.fromkeys(LINE_ITEM_KEYS)
                row_confidence: list[float] = []
                for cell in item.get("LineItemExpenseFields", []):
                    key = LINE_ITEM_TYPES.get(str(cell.get("Type", {}).get("Text", "")))
                    if key is None or row[key] is not None:
                        continue
                    found = _result(specs[key], cell, sizes, "textract:AnalyzeExpense:LineItem")
                    if found is not None:
                        row[key] = found.value
                        row_confidence.append(found.confidence)
                        first_page = first_page or found.page
                if row_confidence:
                    rows.append(row)
                    confidences.append(sum(row_confidence) / len(row_confidence))
    if not rows:
        return None
    return FieldResult(value=rows, confidence=round(min(confidences), 4), page=first_page,
                       method="textract:AnalyzeExpense:LineItemGroups")


def map_queries(blocks: list[dict[str, Any]], specs: list[FieldSpec],
                sizes: dict[int, tuple[float, float]]) -> dict[str, FieldResult]:
    """The answers of AnalyzeDocument's QUERY / QUERY_RESULT blocks, by alias (the field name);
    of several answers (one per page), the most confident one that is a value of the field's type."""
    by_id = {b.get("Id"): b for b in blocks}
    wanted = {s.name: s for s in specs}
    answers: dict[str, list[FieldResult]] = {}
    for block in blocks:
        if block.get("BlockType") != "QUERY":
            continue
        alias = str(block.get("Query", {}).get("Alias", ""))
        spec = wanted.get(alias)
        if spec is None:
            continue
        for relation in block.get("Relationships", []):
            if relation.get("Type") != "ANSWER":
                continue
            for answer_id in relation.get("Ids", []):
                answer = by_id.get(answer_id)
                if answer is None or answer.get("BlockType") != "QUERY_RESULT":
                    continue
                value = _query_value(spec, answer.get("Text"))
                if value is None:
                    continue
                page = answer.get("Page") or block.get("Page") or 1
                answers.setdefault(alias, []).append(FieldResult(
                    value=value, confidence=round(_percent(answer.get("Confidence")), 4), page=page,
                    source_text=answer.get("Text"), method="textract:AnalyzeDocument:Queries",
                    bbox=_bbox(answer.get("Geometry"), page, sizes)))
    return {name: max(found, key=lambda r: r.confidence) for name, found in answers.items()}


def _query_value(spec: FieldSpec, text: str | None) -> Any:
    if is_currency_code_field(spec):
        return currency_code(text)
    return normalise_text(text, spec.type)
