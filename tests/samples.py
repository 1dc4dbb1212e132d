"""Realistic one-page sample documents with a real text layer, for the workflow templates' tests."""

from __future__ import annotations


def _pdf(lines: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def invoice_pdf(total: str = "1,480.00") -> bytes:
    return _pdf([
        "Northwind Office Supplies GmbH", "Hauptstrasse 12, 10115 Berlin",
        "From: Northwind Office Supplies GmbH",
        "Invoice Number: NW-2025-0311", "Invoice Date: 11 March 2025", "Due Date: 10 April 2025",
        "Bill To: Contoso Ltd, 1 Harbour Way, Dublin",
        "Description                 Qty    Unit       Amount",
        "Ergonomic chairs              4    300.00     1,200.00",
        "Standing desk mats            4     70.00       280.00",
        f"Total Due: {total}", "Currency: EUR",
    ])


def contract_pdf() -> bytes:
    return _pdf([
        "MASTER SERVICES AGREEMENT",
        "Parties: Contoso Ltd and Fabrikam Consulting LLC",
        "Effective Date: January 15, 2025",
        "Term: 24 months",
        "Governing Law: the laws of the State of New York",
        "Renewal: automatically renews for successive 12-month periods",
        "1. Services. Fabrikam will provide the services described in each Statement of Work.",
        "2. Fees. Contoso will pay the fees set out in each Statement of Work within 30 days.",
    ])


def resume_pdf() -> bytes:
    return _pdf([
        "Name: Maria Kowalska",
        "Email: maria.kowalska@example.com",
        "Phone: +48 601 234 567",
        "Years of Experience: 7",
        "Skills: Python, SQL, AWS, Data Engineering",
        "Experience",
        "2021-2025  Senior Data Engineer, Fabrikam",
        "2018-2021  Data Engineer, Contoso",
    ])


def letter_pdf() -> bytes:
    return _pdf([
        "City of Springfield - Water Services",
        "Date: 2 June 2025",
        "Name: John Smith",
        "Address: 42 Elm Street, Springfield",
        "Account Number: WS-88231",
        "Amount: $86.40",
        "Dear John Smith, your quarterly water bill is enclosed. Please pay by 30 June 2025.",
    ])
