"""The rules engine's built-in invoice model (`preset: "invoice"`), no labels needed.

It reads any vendor's layout with techniques that do not depend on one:

- labels in English, German, French, Dutch, Spanish, Italian and Polish, each with a strength
  (an "Invoice Number" label says more than a bare "Invoice"), values right of or below them;
- the amount payable preferred over subtotal and surcharge rows, checked by subtotal + tax = total
  and by the sum of the line items;
- the issuer from the seller label, the payee of the bank block, a company name with its legal
  form, the letterhead, and the web or e-mail domain that matches it; never from the buyer's block;
- the currency from ISO codes, symbols (€ $ £ ...) and words, weighted by where they stand.

Each value's confidence is the share of values found the same way that were right (measured with
`make bench-extract` over the dev corpus and the test documents); a document that does not read
as an invoice gets no confidence above `NOT_AN_INVOICE_CAP`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from docflow.domain.documents import FieldResult
from docflow.domain.extraction import FieldSpec, FieldType
from docflow.steps.reading import (
    Candidate,
    Document,
    IndexedLine,
    amounts,
    bbox,
    find_date,
    label_candidates,
)

__all__ = ["NOT_AN_INVOICE_CAP", "invoice_labels", "read_invoice"]

NOT_AN_INVOICE_CAP = 0.3
OCR_FACTOR = 0.9  # values read from OCR'd pages: measured less often right than the text layer's

# Document types, in the seven languages: a title line and the weakest invoice-number label.
_DOC_TYPES = (
    "invoice", "tax invoice", "commercial invoice", "bill", "receipt", "payment receipt", "credit note",
    "rechnung", "gutschrift", "quittung", "facture", "avoir", "factuur", "creditnota", "factura",
    "fattura", "faktura", "faktura vat", "nota",
)
_DOC_TYPE = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, _DOC_TYPES), key=len, reverse=True))
                       + r")(?!\w)", re.IGNORECASE)

# (label, strength): strength 1 is a label that names the field outright.
_NUMBER_LABELS = (
    ("invoice number", 1), ("invoice no", 1), ("invoice nr", 1), ("invoice #", 1), ("invoice id", 1),
    ("invoice num", 1), ("inv no", 0.9), ("inv #", 0.9), ("bill no", 0.9), ("bill number", 0.9),
    ("receipt number", 0.9), ("receipt no", 0.9), ("document no", 0.7), ("tax invoice no", 1),
    ("rechnungsnummer", 1), ("rechnungsnr", 1), ("rechnung nr", 1), ("rechnungs-nr", 1), ("belegnummer", 0.8),
    ("numéro de facture", 1), ("n° de facture", 1), ("no de facture", 1), ("facture n°", 1), ("facture no", 1),
    ("facture nº", 1), ("factuurnummer", 1), ("factuurnr", 1), ("factuur nummer", 1), ("factuur nr", 1),
    ("número de factura", 1), ("nº de factura", 1), ("n.º factura", 1), ("nº factura", 1), ("factura nº", 1),
    ("factura n°", 1), ("factura no", 1), ("num. factura", 1), ("numero fattura", 1), ("numero della fattura", 1),
    ("fattura n", 1), ("fattura nr", 1), ("fattura n°", 1), ("n. fattura", 1), ("numer faktury", 1),
    ("faktura nr", 1), ("faktura vat nr", 1), ("nr faktury", 1),
    ("booking id", 0.5), ("booking reference", 0.5), ("reference no", 0.4),
    ("invoice", 0.6), ("rechnung", 0.6), ("facture", 0.6), ("factuur", 0.6), ("factura", 0.6),
    ("fattura", 0.6), ("faktura", 0.6), ("faktura vat", 0.6), ("bill", 0.4), ("receipt", 0.4),
)
_DATE_LABELS = (
    ("invoice date", 1), ("date of invoice", 1), ("invoice dated", 1), ("date of issue", 0.9), ("issue date", 0.9),
    ("issued on", 0.8), ("billing date", 0.9), ("bill date", 0.9), ("receipt date", 0.9), ("tax point", 0.8),
    ("rechnungsdatum", 1), ("ausstellungsdatum", 0.9), ("belegdatum", 0.8), ("date de facture", 1),
    ("date de facturation", 1), ("date d'émission", 0.9), ("date de la facture", 1), ("factuurdatum", 1),
    ("factuur datum", 1), ("fecha de factura", 1), ("fecha de emisión", 0.9), ("fecha factura", 1),
    ("data fattura", 1), ("data della fattura", 1), ("data di emissione", 0.9), ("data emissione", 0.9),
    ("data wystawienia", 1), ("data faktury", 1),
    ("date", 0.65), ("datum", 0.65), ("fecha", 0.65), ("data", 0.55), ("dated", 0.65),
)
_DUE_LABELS = (
    ("due date", 1), ("date due", 1), ("payment due", 0.9), ("payment due date", 1), ("due by", 0.9), ("due on", 0.9),
    ("pay by", 0.8), ("fälligkeitsdatum", 1), ("fällig am", 1), ("fälligkeit", 0.9), ("zahlbar bis", 0.9),
    ("zahlungsziel", 0.8), ("date d'échéance", 1), ("échéance", 0.9), ("date limite de paiement", 1),
    ("à payer avant le", 0.9), ("vervaldatum", 1), ("vervaldag", 1), ("uiterste betaaldatum", 1),
    ("fecha de vencimiento", 1), ("vencimiento", 0.9), ("data di scadenza", 1), ("data scadenza", 1),
    ("scadenza", 0.9), ("termin płatności", 1), ("termin zapłaty", 1), ("betalen vóór", 0.9), ("betalen voor", 0.9),
    ("uiterlijk betalen", 0.9), ("à régler avant", 0.9), ("pagare entro", 0.9), ("pagar antes de", 0.9),
)
_TOTAL_LABELS = (
    ("amount due", 1), ("total amount due", 1), ("total due", 1), ("balance due", 1), ("amount payable", 1),
    ("total payable", 1), ("grand total", 1), ("invoice total", 0.95), ("total amount", 0.9), ("total to pay", 1),
    ("please pay", 0.9), ("total incl", 0.95), ("total including", 0.95), ("total (incl", 0.95), ("total gross", 0.9),
    ("total", 0.75), ("amount", 0.4),
    ("zu zahlen", 1), ("zahlbetrag", 1), ("gesamtbetrag", 0.95), ("rechnungsbetrag", 0.95), ("endbetrag", 1),
    ("gesamtsumme", 0.9), ("bruttobetrag", 0.9), ("summe brutto", 0.9), ("gesamt brutto", 0.9), ("summe", 0.6),
    ("gesamt", 0.6), ("total ttc", 1), ("montant ttc", 1), ("net à payer", 1), ("somme à payer", 1),
    ("montant à payer", 1), ("total à payer", 1), ("total facture", 0.9), ("montant total", 0.9),
    ("totaal", 0.8), ("te betalen", 1), ("totaalbedrag", 0.95), ("factuur totaal", 0.95), ("totaal incl", 0.95),
    ("total a pagar", 1), ("importe total", 0.95), ("total factura", 0.95), ("total con iva", 0.95),
    ("totale", 0.75), ("totale fattura", 0.95), ("importo totale", 0.95), ("totale da pagare", 1),
    ("netto a pagare", 1), ("totale documento", 0.95), ("należność ogółem", 1), ("do zapłaty", 1),
    ("razem do zapłaty", 1), ("kwota do zapłaty", 1), ("wartość brutto", 0.8), ("razem", 0.5),
)
_SUBTOTAL_LABELS = (
    ("subtotal", 1), ("sub total", 1), ("sub-total", 1), ("net amount", 0.9), ("net total", 0.9), ("total net", 0.9),
    ("total excl", 0.95), ("total excluding", 0.95), ("total before tax", 1), ("amount before tax", 1),
    ("total (excl", 0.95), ("zwischensumme", 1), ("nettobetrag", 1), ("summe netto", 1), ("gesamt netto", 1),
    ("netto", 0.6), ("total ht", 1), ("montant ht", 1), ("sous-total", 1), ("total hors taxes", 1),
    ("subtotaal", 1), ("exclusief btw", 0.9), ("totaal excl", 0.95), ("excl. btw", 0.9), ("subtotal", 1),
    ("base imponible", 1), ("subtotale", 1), ("imponibile", 0.9), ("totale imponibile", 1),
    ("razem netto", 1), ("wartość netto", 0.9), ("suma netto", 1), ("grondslag", 0.8), ("netto bedrag", 1),
)
_TAX_LABELS = (
    ("total tax", 1), ("tax amount", 1), ("total vat", 1), ("vat amount", 1), ("sales tax", 0.9), ("tax", 0.7),
    ("vat", 0.7), ("gst", 0.7), ("hst", 0.7), ("mwst", 0.8), ("ust", 0.7), ("umsatzsteuer", 0.9),
    ("mehrwertsteuer", 0.9), ("mwst.-betrag", 1), ("tva", 0.8), ("montant tva", 1), ("total tva", 1),
    ("btw", 0.8), ("btw bedrag", 1), ("totaal btw", 1), ("iva", 0.8), ("cuota iva", 1), ("importe iva", 1),
    ("totale iva", 1), ("imposta", 0.8), ("kwota vat", 1), ("podatek vat", 1),
)
_SELLER_LABELS = (
    "seller", "sold by", "vendor", "supplier", "service provider", "issued by", "verkäufer", "lieferant",
    "rechnungssteller", "vendeur", "fournisseur", "émetteur", "verkoper", "leverancier", "vendedor", "proveedor",
    "emisor", "venditore", "fornitore", "cedente", "cedente/prestatore", "prestatore", "sprzedawca", "wystawca",
)
_PAYEE_LABELS = (
    "account holder", "account name", "beneficiary", "pay to", "payable to", "remit to", "in favor of", "in favour of",
    "make checks payable to",
    "kontoinhaber", "empfänger", "begünstigter", "titulaire du compte", "titulaire", "bénéficiaire", "ten name van",
    "t.n.v.", "titular", "beneficiario", "intestatario", "odbiorca przelewu",
)
_BUYER_LABELS = (
    "bill to", "billed to", "invoice to", "invoiced to", "sold to", "customer", "client", "buyer", "ship to",
    "deliver to", "attn", "rechnungsempfänger", "rechnungsadresse", "kunde", "lieferadresse", "facturé à",
    "adresse de facturation", "destinataire", "factuuradres", "afleveradres", "klant", "facturar a", "cliente",
    "destinatario", "cessionario", "cessionario/committente", "committente", "debiteur", "nabywca", "odbiorca",
    "guest name",
)
# Labels of other things: "Date" does not read the "Order Date", "Total" not the "Total HT".
_DISTRACTORS = (
    "order date", "delivery date", "ship date", "shipping date", "date of order", "date of delivery",
    "order number", "order no", "order id", "customer number", "customer no", "account number", "po number",
    "bestelldatum", "lieferdatum", "leistungsdatum", "auftragsnummer", "kundennummer", "kundennr", "bestellnummer",
    "date de commande", "date de livraison", "numéro de commande", "orderdatum", "ordernummer", "klantnummer",
    "leverdatum", "fecha de pedido", "data ordine", "data dostawy", "data sprzedaży", "check in", "check out",
    "invoice period", "billing period", "related invoice", "original invoice", "referenced invoice",
    "date de facture associée", "n° de facture associée", "facture associée", "ursprüngliche rechnung",
    "bezug rechnung", "statement date", "print date", "druckdatum", "date d'impression",
)


_FIELDS: dict[str, dict[str, float]] = {
    "invoice_number": dict(_NUMBER_LABELS),
    "date": dict(_DATE_LABELS),
    "due_date": dict(_DUE_LABELS),
    "total": dict(_TOTAL_LABELS),
    "subtotal": dict(_SUBTOTAL_LABELS),
    "tax": dict(_TAX_LABELS),
}


def invoice_labels() -> list[str]:
    """Every label the model looks for: the document index marks them all, so that a value stops
    at the next label and the longest label takes its text."""
    labels = [label for table in _FIELDS.values() for label in table]
    return [*labels, *_SELLER_LABELS, *_PAYEE_LABELS, *_BUYER_LABELS, *_DISTRACTORS]


def read_invoice(doc: Document, names: set[str]) -> dict[str, FieldResult]:
    """The preset's fields named in `names`, read from `doc` (built with `invoice_labels()`)."""
    reader = _InvoiceReader(doc)
    results = reader.read()
    ocr_pages = {page.number for page in doc.source.pages if page.ocr}
    if ocr_pages:
        # OCR misreads digits in ways the checks cannot always see ("1 160,50" read as "160,50").
        results = {name: _scaled(result, OCR_FACTOR) if result.page in ocr_pages else result
                   for name, result in results.items()}
    if not reader.looks_like_invoice(results):
        results = {name: _capped(result) for name, result in results.items()}
    return {name: results.get(name) or FieldResult(value=None, confidence=0.0) for name in names}


def _scaled(result: FieldResult, factor: float) -> FieldResult:
    return result.model_copy(update={"confidence": round(result.confidence * factor, 3)})


def _capped(result: FieldResult) -> FieldResult:
    return result.model_copy(update={"confidence": min(result.confidence, NOT_AN_INVOICE_CAP)})


# --- reading ----------------------------------------------------------------------------------


@dataclass
class _Found:
    """One value found for a field, with the evidence for it (the confidence is derived from it)."""

    value: Any
    evidence: float  # 0..1: how strongly the way it was found points at this field
    line: IndexedLine
    word_range: tuple[int, int]
    source: str
    method: str

    def result(self, confidence: float) -> FieldResult:
        return FieldResult(value=self.value, confidence=round(confidence, 3), page=self.line.page,
                           source_text=self.source, method=self.method, bbox=bbox(self.line, self.word_range))


@dataclass
class _InvoiceReader:
    doc: Document
    found: dict[str, _Found] = field(default_factory=dict)

    def read(self) -> dict[str, FieldResult]:
        out: dict[str, FieldResult] = {}
        for name, reader in (("invoice_number", self._invoice_number), ("date", self._date),
                             ("due_date", self._due_date)):
            result = reader()
            if result is not None:
                out[name] = result
        out.update(self._amounts())  # before the currency: a mark beside the total counts most
        for name, reader in (("currency", self._currency), ("issuer", self._issuer), ("buyer", self._buyer)):
            result = reader()
            if result is not None:
                out[name] = result
        out["line_items"] = self._line_items(out)
        items = out["line_items"]
        if items.value and items.confidence >= 0.9:  # the rows add up: the sum they reach is checked too
            items_sum = round(sum(item["amount"] or 0.0 for item in items.value), 2)
            for name in ("subtotal", "total"):
                result = out.get(name)
                if result is not None and isinstance(result.value, float) and abs(result.value - items_sum) <= 0.011:
                    out[name] = result.model_copy(update={"confidence": max(result.confidence, 0.85)})
        return out

    # -- invoice gate --

    def looks_like_invoice(self, results: dict[str, FieldResult]) -> bool:
        """A title that names an invoice-like document near the top, and an amount payable or an
        invoice number found by its label."""
        top = [line for line in self.doc.lines if line.page == self._first_page() and line.position < 15]
        titled = any(_is_title(line) for line in top)
        found = sum(1 for name in ("invoice_number", "total", "date")
                    if (result := results.get(name)) is not None and result.confidence >= 0.7)
        return titled and found >= 2

    def _first_page(self) -> int:
        return self.doc.lines[0].page if self.doc.lines else 1

    # -- label-driven fields --

    def _candidates(self, name: str, type_: FieldType) -> list[tuple[Candidate, float]]:
        labels = _FIELDS[name]
        spec = FieldSpec(name=name, type=type_, labels=list(labels))
        return [(c, labels.get(c.label, 0.5)) for c in label_candidates(self.doc, spec)]

    def _invoice_number(self) -> FieldResult | None:
        best: _Found | None = None
        for candidate, strength in self._candidates("invoice_number", "string"):
            # "Numer faktury 12/11/2025": after a label that names the number, a date-like id is the id.
            value = _invoice_id(candidate.segments, date_like=strength >= 0.9)
            if value is None:
                continue
            evidence = strength * (1.0 if candidate.method == "label_same_line" else 0.9)
            if candidate.score < 0.8:  # mid-sentence label
                evidence *= 0.7
            found = _Found(value, evidence, candidate.line, candidate.word_range, value, candidate.method)
            if best is None or found.evidence > best.evidence:
                best = found
        if best is None:
            return None
        self.found["invoice_number"] = best
        return best.result(_INVOICE_NUMBER_CONFIDENCE.at(best.evidence))

    def _date_field(self, name: str, fallback: bool) -> FieldResult | None:
        best: _Found | None = None
        for candidate, strength in self._candidates(name, "date"):
            picked = find_date(" ".join(candidate.segments[:3]), self.doc.dayfirst)
            if picked is None:
                continue
            evidence = strength * (1.0 if candidate.method == "label_same_line" else 0.9)
            if candidate.score < 0.8:
                evidence *= 0.7
            number = self.found.get("invoice_number")
            if number is not None and number.line.page == candidate.line.page and abs(
                number.line.position - candidate.line.position
            ) <= 3:
                evidence = min(1.0, evidence + 0.1)  # the issue date stands beside the number
            found = _Found(picked[0], evidence, candidate.line, candidate.word_range, picked[1], candidate.method)
            if best is None or found.evidence > best.evidence:
                best = found
        if fallback and (best is None or best.evidence < 0.6):
            titled = self._title_date()
            if titled is not None and (best is None or titled.evidence > best.evidence):
                best = titled
        if best is None:
            return None
        self.found[name] = best
        return best.result(_DATE_CONFIDENCE.at(best.evidence))

    def _date(self) -> FieldResult | None:
        return self._date_field("date", fallback=True)

    def _due_date(self) -> FieldResult | None:
        result = self._date_field("due_date", fallback=False)
        if result is not None and "date" in self.found and result.value == self.found["date"].value:
            # "Due date" read the issue date (a label row over two values): keep it, less sure.
            result = result.model_copy(update={"confidence": round(result.confidence * 0.7, 3)})
        return result

    def _title_date(self) -> _Found | None:
        """The date on a title line: "Facture n° 562044387 du 02 Juillet 2015", "Rechnung 12 vom 3.4.2020"."""
        for line in self.doc.lines[:40]:
            title = _DOC_TYPE.search(line.text)
            if title is None or title.start() > len(line.text) // 2:
                continue
            picked = find_date(line.text[title.end():], self.doc.dayfirst)
            if picked is not None:
                return _Found(picked[0], 0.7, line, (0, len(line.words)), picked[1], "title_line")
        return None

    # -- amounts --

    def _amount_candidates(self, name: str) -> list[tuple[float, float, Candidate]]:
        """(amount, evidence, candidate) for every amount right of or below the field's labels."""
        out: list[tuple[float, float, Candidate]] = []
        for candidate, strength in self._candidates(name, "currency"):
            found = [a for segment in candidate.segments for a in amounts(segment)]
            if not found:
                continue
            evidence = strength * (1.0 if candidate.method == "label_same_line" else 0.9)
            if candidate.score < 0.8:
                evidence *= 0.6
            marked = [a for a in found if a[1]]
            picks = marked or found
            # The row's last amount is its total ("Total 1 278.61 40.39 319.00"); others are kept
            # for the consistency check, a little weaker.
            for index, (value, _, source) in enumerate(reversed(picks)):
                out.append((value, evidence * (1.0 if index == 0 else 0.85), candidate))
                grouped = re.fullmatch(r"\d{1,3}\s(\d{3}[.,]\d{2})", source.strip())
                if grouped:  # "TVA 20 496,00" where OCR lost the "%": 496,00 is the other reading
                    out.append((float(grouped[1].replace(",", ".")), evidence * 0.8, candidate))
        return out

    def _amounts(self) -> dict[str, FieldResult]:
        totals = self._amount_candidates("total")
        subtotals = self._amount_candidates("subtotal")
        taxes = self._amount_candidates("tax")
        total = _best(totals, prefer_late=True)
        subtotal = _best(subtotals, prefer_late=True)
        tax = _best([t for t in taxes if t[0] >= 0], prefer_late=True)
        checked = False
        # subtotal + tax = total: the best-supported triple wins over the best single values.
        triples = [
            (t[1] + s[1] + x[1], t, s, x)
            for t in totals[:30] for s in subtotals[:30] for x in taxes[:30]
            if t[0] > 0 and abs(s[0] + x[0] - t[0]) <= 0.011 and s[0] > 0 and x[0] >= 0 and s[0] < t[0] + 0.001
        ]
        if triples:
            _, total, subtotal, tax = max(triples, key=lambda item: (item[0], item[1][2].line.order))
            checked = True
        elif total is not None and subtotal is not None and abs(subtotal[0] - total[0]) <= 0.005:
            checked = True  # no tax: the net and the gross agree
        out: dict[str, FieldResult] = {}
        for name, picked in (("total", total), ("subtotal", subtotal), ("tax", tax)):
            if picked is None:
                continue
            amount, evidence, candidate = picked
            if checked:
                evidence = min(1.0, evidence + 0.25)
            source = _amount_source(candidate.segments, amount)
            found = _Found(amount, evidence, candidate.line, candidate.word_range, source, candidate.method)
            self.found[name] = found
            out[name] = found.result(_AMOUNT_CONFIDENCE.at(evidence))
        if "total" not in out:
            fallback = self._largest_marked_amount()
            if fallback is not None:
                self.found["total"] = fallback
                out["total"] = fallback.result(_AMOUNT_CONFIDENCE.at(fallback.evidence))
        return out

    def _largest_marked_amount(self) -> _Found | None:
        best: tuple[float, IndexedLine, str] | None = None
        for line in self.doc.lines:
            for value, marked, source in amounts(line.text):
                if marked and (best is None or value > best[0]):
                    best = (value, line, source)
        if best is None:
            return None
        return _Found(best[0], 0.35, best[1], (0, len(best[1].words)), best[2], "largest_amount")

    # -- currency --

    def _currency(self) -> FieldResult | None:
        votes: dict[str, float] = {}
        where: dict[str, tuple[IndexedLine, str]] = {}
        total = self.found.get("total")
        for line in self.doc.lines:
            on_total_line = total is not None and line.order == total.line.order
            for code, weight, source in _currency_mentions(line.text):
                votes[code] = votes.get(code, 0.0) + weight + (1.0 if on_total_line else 0.0)
                if on_total_line or code not in where:
                    where[code] = (line, source)
        if not votes:
            return self._currency_by_country()
        ranked = sorted(votes.items(), key=lambda item: -item[1])
        code, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        share = score / (score + runner_up)
        ambiguous = code in _AMBIGUOUS_SYMBOL_DEFAULT and not _explicit(votes, code)
        evidence = min(1.0, share * min(1.0, score / 2.0)) * (0.8 if ambiguous else 1.0)
        line, source = where[code]
        found = _Found(code, evidence, line, (0, len(line.words)), source, "currency_marks")
        self.found["currency"] = found
        return found.result(_CURRENCY_CONFIDENCE.at(evidence))

    def _currency_by_country(self) -> FieldResult | None:
        """No currency mark (OCR often loses "€"): the currency of the country of the IBANs and VAT
        ids printed, else of the document's language. Less sure than a mark."""
        votes: dict[str, float] = {}
        where: dict[str, IndexedLine] = {}
        for line in self.doc.lines:
            for match in _COUNTRY_ID.finditer(line.text):
                code = _COUNTRY_CURRENCY.get(match["country"])
                if code:
                    votes[code] = votes.get(code, 0.0) + 1.0
                    where.setdefault(code, line)
            for match in _LANGUAGE_CURRENCY_WORDS.finditer(line.text):
                code = "PLN" if match.group(0).lower().startswith(("faktur", "złot", "zlot")) else "EUR"
                votes[code] = votes.get(code, 0.0) + 0.3
                where.setdefault(code, line)
        if not votes:
            return None
        code = max(votes, key=lambda c: votes[c])
        evidence = 0.5 if votes[code] >= 1.0 and len(votes) == 1 else 0.3
        line = where[code]
        found = _Found(code, evidence, line, (0, len(line.words)), line.text, "country")
        self.found["currency"] = found
        return found.result(_CURRENCY_CONFIDENCE.at(evidence))

    # -- parties --

    def _issuer(self) -> FieldResult | None:
        candidates = _PartyCandidates(self.doc)
        best = candidates.issuer()
        if best is None:
            return None
        self.found["issuer"] = best
        return best.result(_ISSUER_CONFIDENCE.at(best.evidence))

    def _buyer(self) -> FieldResult | None:
        spec = FieldSpec(name="buyer", labels=[label for label in _BUYER_LABELS if label != "attn"])
        for candidate in label_candidates(self.doc, spec):
            name = _party_name(candidate.segments[0]) if candidate.segments else None
            if name is None:
                continue
            evidence = 0.8 if candidate.score >= 0.8 else 0.5
            found = _Found(name, evidence, candidate.line, candidate.word_range, name, candidate.method)
            self.found["buyer"] = found
            return found.result(_PARTY_CONFIDENCE.at(evidence))
        return None

    # -- line items --

    def _line_items(self, results: dict[str, FieldResult]) -> FieldResult:
        items, header = _table_items(self.doc)
        if not items or header is None:
            return FieldResult(value=None, confidence=0.0)
        amounts_sum = round(sum(item["amount"] or 0.0 for item in items), 2)
        expected = [results[name].value for name in ("subtotal", "total") if name in results]
        adds_up = any(abs(amounts_sum - value) <= 0.011 for value in expected if isinstance(value, float))
        confidence = 0.9
        if not adds_up:
            # Rows that do not add up: keep those that check themselves (quantity x price = amount).
            items = [item for item in items if item["quantity"] is not None and item["unit_price"] is not None
                     and abs(item["quantity"] * item["unit_price"] - item["amount"]) <= 0.011]
            if not items:
                return FieldResult(value=None, confidence=0.0)
            confidence = 0.6
        return FieldResult(value=items, confidence=confidence, page=header.page, source_text=header.text,
                           method="table_rows", bbox=bbox(header, (0, len(header.words))))


def _is_title(line: IndexedLine) -> bool:
    """A line that names the document's type as a title or a label does ("INVOICE", "Facture n°
    562", "Rechnungsnummer: 12"), not a sentence that mentions an invoice."""
    match = _DOC_TYPE.search(line.text) or _NUMBER_LABEL_START.match(line.text)
    if match is None:
        return False
    return match.start() == 0 or len(line.text.split()) <= 6 or line.segments[line.word_at(match.start())] > 0


_NUMBER_LABEL_START = re.compile(r"(?i)\W*(?:rechnungs|factuur|faktur|fattur|factur|invoice)\w*")


def _best(found: list[tuple[float, float, Candidate]], prefer_late: bool) -> tuple[float, float, Candidate] | None:
    if not found:
        return None
    # The strongest label; among equals, the one further down (a total follows its subtotals).
    return max(found, key=lambda item: (round(item[1], 3), item[2].line.order if prefer_late else -item[2].line.order))


def _amount_source(segments: list[str], value: float) -> str:
    for segment in segments:
        for amount, _, source in amounts(segment):
            if amount == value:
                return source
    return " ".join(segments)


# --- invoice numbers ------------------------------------------------------------------------------

_ID_PREFIX = re.compile(r"^(?:[:#.\s]|n[°º]|no\b\.?|nr\b\.?|num(?:ber|éro|ero)?\b\.?|number\b)+", re.IGNORECASE)
_ID_CONNECTOR = re.compile(
    r"^(?:of|dated|from|date|vom|von|du|le|van|del|de|dal|z|dnia|dd|issued|on|am|datum|le)$", re.IGNORECASE
)


def _invoice_id(segments: list[str], date_like: bool = False) -> str | None:
    """The id at the start of a value: tokens with digits (or joined to them by '-', '/', '_'),
    up to a date, a connector word ("of", "vom", "du") or a plain word."""
    if not segments:
        return None
    text = _ID_PREFIX.sub("", segments[0]).strip()
    tokens: list[str] = []
    for token in text.split():
        bare = token.strip(",;()[]")
        as_date = find_date(bare, None)
        if not bare or _ID_CONNECTOR.match(bare) or (as_date is not None and as_date[1] == bare
                                                     and not (date_like and not tokens)):
            break
        if re.search(r"\d", bare) or (bare.isupper() and len(bare) <= 4 and not tokens):
            tokens.append(bare.rstrip(".:"))
            continue
        if re.fullmatch(r"[A-Z0-9][A-Z0-9_\-/.]*", bare) and tokens:
            tokens.append(bare)
            continue
        break
    value = " ".join(tokens)
    if not re.search(r"\d", value) or len(value) > 40:
        return None
    if re.fullmatch(r"[\d\s.,]+", value) and ("," in value or re.search(r"\.\d{2}$", value)):
        return None  # an amount, not a number
    return value


# --- currency -------------------------------------------------------------------------------------

_ISO_CODE_LIST = (
    "EUR USD GBP CHF PLN CZK HUF SEK NOK DKK RON BGN HRK RSD UAH RUB TRY INR PKR LKR BDT NPR CNY JPY KRW "
    "HKD SGD TWD THB MYR IDR PHP VND AUD NZD CAD MXN BRL ARS CLP COP PEN ZAR NGN KES EGP MAD AED SAR QAR "
    "ILS ISK"
)
_ISO_CODES = frozenset(_ISO_CODE_LIST.split())
_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "¥": "JPY", "₩": "KRW", "₽": "RUB", "zł": "PLN", "₺": "TRY",
            "R$": "BRL", "US$": "USD", "A$": "AUD", "AU$": "AUD", "C$": "CAD", "CA$": "CAD", "NZ$": "NZD",
            "HK$": "HKD", "S$": "SGD", "Rs": "INR", "Rs.": "INR", "Fr.": "CHF", "$": "USD", "Kč": "CZK", "Ft": "HUF"}
_AMBIGUOUS_SYMBOL_DEFAULT = frozenset({"USD"})  # "$" alone: US dollars unless the document says otherwise
_WORDS = {
    "euro": "EUR", "euros": "EUR", "us dollars": "USD", "us dollar": "USD", "dollars": "USD", "pound sterling": "GBP",
    "pounds sterling": "GBP", "złotych": "PLN", "zloty": "PLN", "złoty": "PLN", "rupees": "INR", "rupee": "INR",
    "swiss francs": "CHF", "franken": "CHF", "canadian dollars": "CAD", "australian dollars": "AUD",
}
_SYMBOL_RE = re.compile(
    r"(?P<sym>US\$|AU\$|A\$|CA\$|C\$|NZ\$|HK\$|S\$|R\$|[€£₹¥₩₽₺$])|(?<![^\W\d_])(?P<abbr>zł|Rs\.?|Fr\.|Kč|Ft)(?=[\s\d]|$)"
)
_CODE_RE = re.compile(r"(?<![A-Za-z])(?P<code>[A-Z]{3})(?![A-Za-z])")
_WORD_RE = re.compile(r"(?<!\w)(?P<word>" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True))
                      + r")(?!\w)", re.IGNORECASE)
_NEAR_AMOUNT = re.compile(r"\d[\d.,'\s]*\d|\d")


_EURO_COUNTRIES = "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK"
_COUNTRY_CURRENCY = {country: "EUR" for country in _EURO_COUNTRIES.split()} | {
    "PL": "PLN", "GB": "GBP", "CH": "CHF", "CZ": "CZK", "HU": "HUF", "SE": "SEK", "DK": "DKK", "NO": "NOK",
    "RO": "RON", "BG": "BGN"}
# An IBAN ("DE44 3705 ...") or an EU VAT id ("FR12901234567", "NL812765432B01", "ATU12345678").
_COUNTRY_ID = re.compile(
    r"(?<![A-Z0-9])(?P<country>[A-Z]{2})(?:\d{2}\s?[A-Z0-9]{4}\s?\d{2}|U\d{8}|\d{9,12}(?:B\d{2})?)")
_LANGUAGE_CURRENCY_WORDS = re.compile(
    r"(?i)(?<!\w)(?:rechnung|facture|factuur|factura|fattura|faktura|złotych|zlotych)(?!\w)")


def _currency_mentions(text: str) -> list[tuple[str, float, str]]:
    """(ISO code, weight, source) of each currency mark in a line: next to an amount weighs more."""
    out: list[tuple[str, float, str]] = []
    for match in _CODE_RE.finditer(text):
        code = match["code"]
        if code in _ISO_CODES:
            out.append((code, 1.5 if _beside_amount(text, match) else 1.0, code))
    for match in _SYMBOL_RE.finditer(text):
        symbol = match["sym"] or match["abbr"]
        code = _SYMBOLS.get(symbol) or _SYMBOLS.get(symbol.rstrip("."))
        if code:
            out.append((code, 1.0 if _beside_amount(text, match) else 0.3, symbol))
    for match in _WORD_RE.finditer(text):
        out.append((_WORDS[match["word"].lower()], 1.0, match["word"]))
    return out


def _beside_amount(text: str, match: re.Match[str]) -> bool:
    before, after = text[max(0, match.start() - 3) : match.start()], text[match.end() : match.end() + 3]
    return bool(re.search(r"\d\s*$", before) or re.match(r"^\s*-?\d", after))


def _explicit(votes: dict[str, float], code: str) -> bool:
    return votes.get(code, 0.0) >= 3.0


# --- parties --------------------------------------------------------------------------------------

_LEGAL_FORM = re.compile(
    r"(?:(?<![^\W_])(?i:gmbh(?:\s*&\s*co\.?\s*kg)?|inc\.?|incorporated|ltd\.?|limited|llc|l\.l\.c\.|corporation|"
    r"b\.\s?v\.?|n\.\s?v\.?|bvba|sarl|s\.a\.r\.l\.?|s\.à\s?r\.l\.?|s\.a\.s\.?|s\.a\.|s\.l\.u?\.?|s\.p\.a\.?|s\.r\.l\.?|"
    r"sp\.\s?z\s?o\.\s?o\.?|spółka akcyjna|spółka z ograniczoną odpowiedzialnością|pvt\.?\s?ltd\.?|"
    r"private limited|pty\.?\s?ltd\.?|oyj|gbr|e\.\s?k\.|mbh)(?![^\W_]))"
    r"|(?:(?<![^\W_])(?:AG|KG|KGaA|OHG|UG|SE|SA|SAS|SASU|EURL|EI|SCI|SNC|SpA|Srl|SRL|BV|NV|Oy|AB|AS|ASA|ApS|A/S|PLC|plc|LLP|"
    r"Corp\.?|Co\.)(?![^\W_]))"
)
_LEGAL_FORM_ONLY = re.compile(r"(?i)(?:\s*[,.]?\s*(?:" + _LEGAL_FORM.pattern + r"))+\s*$")
_NAME_CONNECTORS = frozenset({"&", "and", "und", "et", "en", "y", "e", "i", "de", "van", "der", "den", "von", "du",
                              "des", "la", "le", "di", "del", "-", "+"})
_TAX_ID = re.compile(r"(?i)(?<!\w)(?:vat|tva|btw|ust-?id|ustid|ust\.?-?idnr|nip|cif|nif|p\.?\s?iva|gstin|siret|siren|"
                     r"iban|kvk|hrb|rcs|steuer-?nr|tax id|ein|abn|company no|registered)(?!\w)")
_DOMAIN = re.compile(r"(?i)(?:https?://|www\.|@)([a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*)\.[a-z]{2,}(?![a-z])"
                     r"|(?<![@\w.])([a-z0-9][a-z0-9\-]{2,})\.(?:com|de|fr|nl|es|it|pl|co\.uk|eu|net|org|in|io|be|at|ch)"
                     r"(?![a-z])")


def _fold(text: str) -> str:
    """A company name compared loosely: no legal form, no punctuation, lower case."""
    text = _LEGAL_FORM.sub(" ", text)
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _party_name(text: str) -> str | None:
    """A name as printed, without the document title, trailing separators or an address after ' - '."""
    text = _DOC_TYPE.sub(" ", text) if _DOC_TYPE.fullmatch(text.strip(" .:")) is None else ""
    text = re.split(r"\s[-–|·•]\s|\s{2,}|,\s(?=\d)", text.lstrip(" .,:;-–|*").rstrip(" ,:;-–|*·"))[0]
    text = text.strip(" ,:;-–|*")
    if not re.search(r"(?i)(?<![^\W_])(?:inc|ltd|co|corp|[a-z]\.[a-z]{1,2}|o\.o|s\.a)\.$", text):
        text = text.rstrip(".")  # a sentence's full stop, not the one of "Inc." or "B.V."
    if (not text[:1].isupper() and not text[:1].isdigit()) or len(text.split()) > 8 or text.endswith(":"):
        return None
    if len(text) < 2 or not re.search(r"[^\W\d_]{2}", text) or "@" in text or re.match(r"(?i)^(?:www\.|https?:)", text):
        return None
    legal_form = _LEGAL_FORM.search(text)
    if legal_form is not None and legal_form.start() > 0:
        text = text[: legal_form.end()]  # "Initech LLC, account 123456": the name ends with its legal form
    if len(text) > 60 or sum(c.isdigit() for c in text) > len(text) // 3:
        return None
    return text


@dataclass
class _Party:
    name: str
    line: IndexedLine
    score: float = 0.0
    reasons: set[str] = field(default_factory=set)


@dataclass
class _PartyCandidates:
    doc: Document
    parties: dict[str, _Party] = field(default_factory=dict)

    def add(self, name: str | None, line: IndexedLine, reason: str, weight: float) -> None:
        if name is None:
            return
        key = _fold(name)
        if not key or len(key) < 2:
            return
        party = self.parties.get(key)
        if party is None:
            party = self.parties[key] = _Party(name, line)
        elif _LEGAL_FORM.search(name) and not _LEGAL_FORM.search(party.name):
            party.name, party.line = name, line  # show the full legal name
        if reason not in party.reasons:
            party.reasons.add(reason)
            party.score += weight

    def issuer(self) -> _Found | None:
        buyer_lines = self._buyer_block()
        self._from_labels(_SELLER_LABELS, "seller_label", 3.0)
        self._from_labels(_PAYEE_LABELS, "payee_label", 3.0)
        self._legal_forms()
        self._letterhead()
        domains = _domains(self.doc)
        text = "\n".join(line.text for line in self.doc.lines).casefold()
        for key, party in self.parties.items():
            if party.line.order in buyer_lines and "seller_label" not in party.reasons:
                party.score -= 3.0
            if _matches_domain(key, domains):
                party.score += 1.5
                party.reasons.add("domain")
            if text.count(key.split()[0]) >= 2 and len(key) >= 3:
                party.score += 0.5
        if not self.parties:
            return None
        best = max(self.parties.values(), key=lambda p: (p.score, -p.line.order))
        if best.score < 1.0:
            return None
        evidence = min(1.0, best.score / 4.0)
        line = best.line
        return _Found(best.name, evidence, line, (0, len(line.words)), best.name, "+".join(sorted(best.reasons)))

    def _from_labels(self, labels: tuple[str, ...], reason: str, weight: float) -> None:
        spec = FieldSpec(name="party", labels=list(labels))
        for candidate in label_candidates(self.doc, spec):
            if candidate.score < 0.7 or not candidate.segments:
                continue
            self.add(_party_name(candidate.segments[0]), candidate.line, reason, weight)

    def _legal_forms(self) -> None:
        first_page = self.doc.lines[0].page if self.doc.lines else 1
        for line in self.doc.lines:
            for match in _LEGAL_FORM.finditer(line.text):
                name = _name_before(line.text, match)
                if name is None:
                    continue
                top = line.page == first_page and line.position < 8
                self.add(name, line, "legal_form", 1.0)
                if top:
                    self.add(name, line, "top_block", 1.5)
                if _TAX_ID.search(line.text):
                    self.add(name, line, "tax_id_block", 0.5)

    def _letterhead(self) -> None:
        """The first lines of the first page: a name standing alone there is most often the sender."""
        first_page = self.doc.lines[0].page if self.doc.lines else 1
        lines = [ln for ln in self.doc.by_page.get(first_page, []) if ln.position < 3]
        for rank, line in enumerate(lines):
            if 0 in self.doc.label_starts.get(line.order, set()):
                continue  # a label ("Bill to:"), not a name
            name = _party_name(line.text)
            if name is None or find_date(name, None) is not None or re.search(r"\d{3}|^\d+\w?\s", name):
                continue
            self.add(name, line, "top_block", 1.5 - 0.25 * rank)
            if rank == 0:
                self.add(name, line, "first_line", 0.5)

    def _buyer_block(self) -> set[int]:
        """Orders of the lines under a buyer label ("Bill to", "Nabywca") and right of it."""
        block: set[int] = set()
        for label in _BUYER_LABELS:
            for line, match in self.doc.label_hits.get(label, []):
                block.add(line.order)
                x0 = line.words[line.word_at(match.start())].x0
                page_lines = self.doc.by_page.get(line.page, [])
                previous = line
                for below in page_lines[line.position + 1 : line.position + 6]:
                    if below.top - previous.bottom > 1.5 * line.height or 0 in self.doc.label_starts.get(
                        below.order, set()
                    ):
                        break  # a gap or the next field's label ends the block
                    if any(abs(w.x0 - x0) < 3 * line.height for w in below.words[:1]):
                        block.add(below.order)
                        previous = below
        return block


def _name_before(text: str, match: re.Match[str]) -> str | None:
    """The company name that ends with the legal form at `match`: the capitalised words before it."""
    words = text[: match.start()].split()
    name: list[str] = []
    for word in reversed(words):
        bare = word.strip(",")
        if _DOC_TYPE.fullmatch(bare.strip(".:")) or bare.endswith(":") or bare in {"|", "–", "-", "*"}:
            break
        if bare[:1].isupper() or bare[:1].isdigit() or (bare.lower() in _NAME_CONNECTORS and name):
            name.insert(0, word)
            if len(name) >= 6:
                break
            continue
        break
    while name and name[0].lower() in _NAME_CONNECTORS:
        name.pop(0)
    if not name:
        return None
    return _party_name(" ".join(name) + " " + match.group(0))


def _domains(doc: Document) -> set[str]:
    found: set[str] = set()
    for line in doc.lines:
        for match in _DOMAIN.finditer(line.text):
            host = (match.group(1) or match.group(2) or "").casefold()
            labels = [part for part in host.split(".") if part not in {"www", "mail", "email", "info"}]
            if labels:
                found.add(labels[-1])
    return found - {"example", "gmail", "yahoo", "hotmail", "outlook", "fake"}


def _matches_domain(key: str, domains: set[str]) -> bool:
    words = key.split()
    joined = "".join(words)
    for domain in domains:
        parts = domain.split("-")
        if domain in (joined, words[0]) or (len(parts) > 1 and all(part in words for part in parts)):
            return True
        if len(words) > 1 and joined.startswith(domain) and len(domain) >= 4:
            return True
    return False


# --- line items -----------------------------------------------------------------------------------

_COLUMNS = {
    "description": ("description", "item", "items", "article", "product", "product title", "service", "designation",
                    "beschreibung", "bezeichnung", "artikel", "leistung", "désignation", "libellé", "produit",
                    "omschrijving", "artikel", "descripción", "concepto", "descrizione", "articolo", "nazwa",
                    "nazwa towaru"),
    "quantity": ("qty", "quantity", "menge", "anzahl", "qté", "quantité", "nombre", "aantal", "hoeveelheid",
                 "cantidad", "cant", "quantità", "qtà", "ilość", "hours", "units"),
    "unit_price": ("unit price", "price", "rate", "einzelpreis", "preis", "vk-preis", "p.u.", "prix unitaire",
                   "prix", "prijs", "prijs per stuk", "precio", "precio unitario", "prezzo", "prezzo unitario",
                   "cena", "cena jedn"),
    "amount": ("amount", "total", "line total", "betrag", "gesamt", "zeilenbetrag", "gesamtpreis", "montant",
               "montant ht", "total ht", "bedrag", "totaal", "importe", "importo", "wartość", "prijs incl"),
}
_COLUMN_RE = {key: re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True))
                              + r")(?!\w)", re.IGNORECASE) for key, words in _COLUMNS.items()}
_STOP_ROW = re.compile(r"(?i)(?<!\w)(?:sub\s?total|total|summe|zwischensumme|gesamt|totaal|subtotaal|totale|razem|"
                       r"exclusief|net amount|montant|somme|tax|vat|mwst|tva|btw|iva)(?!\w)")


def _table_items(doc: Document) -> tuple[list[dict[str, Any]], IndexedLine | None]:
    """Rows under the first header that names a description and an amount or price column."""
    for header in doc.lines:
        kinds = {key for key, regex in _COLUMN_RE.items() if regex.search(header.text)}
        if "description" not in kinds or not ({"amount", "unit_price"} & kinds) or len(kinds) < 3:
            continue
        items: list[dict[str, Any]] = []
        for row in doc.by_page.get(header.page, [])[header.position + 1 :]:
            if _STOP_ROW.match(row.text.strip()) or (_STOP_ROW.search(row.text) and items != []
                                                     and not re.search(r"[^\W\d_]{4}", row.text.split("  ")[0])):
                break
            item = _item(row.text, doc)
            if item is not None:
                items.append(item)
        if items:
            return items, header
    return [], None


def _item(text: str, doc: Document) -> dict[str, Any] | None:
    found = amounts(text)
    if not found:
        return None
    first_amount_at = min(text.find(source) for _, _, source in found if source in text)
    description = re.sub(r"\s+", " ", text[:first_amount_at]).strip(" -:|")
    if len(description) > 20:  # an article code before the name ("[FURN_7777] Office Chair")
        description = re.sub(r"^\[?[\w\-*]*\d[\w\-*]*\]?\s+(?=\D)", "", description)
    if not re.search(r"[^\W\d_]{3}", description):
        return None
    values = [value for value, _, _ in found]
    amount = values[-1]
    unit_price: float | None = None
    quantity: float | None = None
    for i, value in enumerate(values[:-1]):
        for j, other in enumerate(values[:-1]):
            if i != j and abs(value * other - amount) <= 0.011 and value == int(value) and value < 10_000:
                quantity, unit_price = value, other
                break
        if quantity is not None:
            break
    if quantity is None and len(values) >= 2:
        unit_price = values[-2]
        quantity = 1.0 if abs(unit_price - amount) <= 0.005 else None
    del doc  # kept in the signature: a later model may read the row's columns by position
    return {"description": description, "quantity": quantity, "unit_price": unit_price, "amount": amount}


# --- evidence to confidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Calibration:
    """Evidence (0..1) to the probability that the value is right: the accuracy measured in each
    evidence band (`make bench-extract`), read off the highest band the evidence reaches."""

    bands: tuple[tuple[float, float], ...]  # (lowest evidence, confidence), highest first

    def at(self, evidence: float) -> float:
        for lowest, confidence in self.bands:
            if evidence >= lowest:
                return confidence
        return 0.2


_INVOICE_NUMBER_CONFIDENCE = _Calibration(((0.95, 0.95), (0.8, 0.85), (0.55, 0.7), (0.0, 0.4)))
_DATE_CONFIDENCE = _Calibration(((0.95, 0.95), (0.8, 0.85), (0.55, 0.7), (0.0, 0.4)))
_AMOUNT_CONFIDENCE = _Calibration(((0.95, 0.95), (0.8, 0.85), (0.6, 0.7), (0.0, 0.35)))
_CURRENCY_CONFIDENCE = _Calibration(((0.9, 0.95), (0.7, 0.85), (0.4, 0.65), (0.0, 0.4)))
_ISSUER_CONFIDENCE = _Calibration(((0.95, 0.9), (0.7, 0.75), (0.45, 0.6), (0.0, 0.35)))
_PARTY_CONFIDENCE = _Calibration(((0.8, 0.75), (0.0, 0.45)))
