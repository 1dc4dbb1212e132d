"""The workflow templates of `GET /v1/workflows/templates` (DESIGN.md §1): pure data, one
ready-to-run definition per category. A workflow made from a template runs as it is; the invoice
template's last step sends to the workflow's `webhook` integration once one exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CATEGORIES = ("invoice", "contract", "resume", "general")


@dataclass(frozen=True)
class WorkflowTemplate:
    id: str
    category: str
    name: str
    description: str
    steps: list[dict[str, Any]]

    def definition(self) -> dict[str, Any]:
        return {"steps": [dict(step) for step in self.steps]}


def _extract(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": "extract", "type": "extract", "config": {"fields": list(fields)}}


PARSE: dict[str, Any] = {"id": "parse", "type": "parse"}

INVOICE = WorkflowTemplate(
    id="invoice", category="invoice", name="Invoice processing",
    description="Extract the invoice fields, compute the total with its currency, flag invoices over 1,000 for "
                "approval, and post the result to the workflow's webhook integration.",
    steps=[
        PARSE,
        _extract(
            {"name": "invoice_number", "required": True,
             "labels": ["Invoice Number", "Invoice No", "Invoice #", "Invoice", "Rechnungsnummer", "Rechnung Nr",
                        "Numéro de facture", "Facture N°", "Factuurnummer", "Número de factura"]},
            {"name": "date", "type": "date",
             "labels": ["Invoice Date", "Date", "Rechnungsdatum", "Datum", "Date de facture", "Factuurdatum",
                        "Fecha"]},
            {"name": "due_date", "type": "date",
             "labels": ["Due Date", "Payment Due", "Fällig am", "Date d'échéance", "Vervaldatum",
                        "Fecha de vencimiento"]},
            {"name": "total", "type": "currency",
             "labels": ["Total Due", "Amount Due", "Total for this invoice", "Grand Total", "Total",
                        "Gesamtbetrag", "Total TTC", "Totaal", "Importe total"]},
            {"name": "currency", "pattern": r"\b(USD|EUR|GBP|CHF|PLN|INR|JPY|CAD|AUD)\b",
             "labels": ["Currency", "Währung", "Devise", "Valuta", "Moneda"]},
            {"name": "issuer", "labels": ["From", "Seller", "Vendor", "Supplier", "Verkäufer", "Fournisseur"]},
        ),
        {"id": "amounts", "type": "transform", "config": {"set": {
            "total_with_currency": "join(' ', [to_string(total), currency || 'USD'])",
            "needs_approval": "total > `1000`"}}},
        {"id": "approval", "type": "condition",
         "config": {"expression": "needs_approval", "if_true": "flag", "if_false": "notify"}},
        {"id": "flag", "type": "transform", "config": {"set": {"status_note": "'needs approval'"}}},
        {"id": "notify", "type": "integration", "config": {
            "integration_type": "webhook",
            "template": "Invoice {{invoice_number}} from {{issuer or 'an unknown issuer'}}: {{total_with_currency}}"
                        "{% if needs_approval %} (needs approval){% endif %}"}},
    ])

CONTRACT = WorkflowTemplate(
    id="contract", category="contract", name="Contract review",
    description="Extract the parties, the effective date, the term, the governing law and the renewal clause.",
    steps=[
        PARSE,
        _extract(
            {"name": "parties", "labels": ["Between", "Parties", "by and between", "This agreement is made between"]},
            {"name": "effective_date", "type": "date",
             "labels": ["Effective Date", "Commencement Date", "dated as of", "Start Date"]},
            {"name": "term", "labels": ["Term", "Duration", "Initial Term"]},
            {"name": "governing_law", "labels": ["Governing Law", "governed by the laws of", "Applicable Law"]},
            {"name": "renewal", "labels": ["Renewal", "Automatic Renewal", "Renewal Term"]},
        ),
    ])

RESUME = WorkflowTemplate(
    id="resume", category="resume", name="Resume screening",
    description="Extract the candidate's name, e-mail, phone, skills and years of experience.",
    steps=[
        PARSE,
        _extract(
            {"name": "name", "labels": ["Name", "Candidate", "Full Name"]},
            {"name": "email", "pattern": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "labels": ["Email", "E-mail", "Mail"]},
            {"name": "phone", "pattern": r"\+?[\d][\d ()./-]{6,}\d", "labels": ["Phone", "Telephone", "Mobile", "Tel"]},
            {"name": "skills", "type": "list", "labels": ["Skills", "Technical Skills", "Core Skills", "Expertise"]},
            {"name": "years_of_experience", "type": "number",
             "labels": ["Years of Experience", "Experience", "Total Experience"]},
        ),
    ])

GENERAL = WorkflowTemplate(
    id="general", category="general", name="General document",
    description="Key-value pairs most documents carry: a name, a date, a reference, an amount and an address.",
    steps=[
        PARSE,
        _extract(
            {"name": "name", "labels": ["Name", "Customer", "Client", "Applicant", "To"]},
            {"name": "date", "type": "date", "labels": ["Date", "Dated", "Issued"]},
            {"name": "reference", "labels": ["Reference", "Ref", "Our Ref", "Your Ref", "Order Number", "Case Number",
                                             "Account Number"]},
            {"name": "amount", "type": "currency", "labels": ["Amount", "Total", "Balance", "Sum"]},
            {"name": "address", "labels": ["Address", "Billing Address", "Ship To"]},
        ),
    ])

TEMPLATES: dict[str, WorkflowTemplate] = {t.id: t for t in (INVOICE, CONTRACT, RESUME, GENERAL)}
