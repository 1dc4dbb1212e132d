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



def type3_pdf(text: str = "Invoice Number 1234 Total 99.00") -> bytes:
    """A PDF whose text is drawn with a Type 3 font that has no Unicode map (glyph names that
    mean nothing, /g65, and no /ToUnicode), as some label printers and old generators write it:
    the page shows text, but its text layer cannot be decoded."""
    codes = sorted({ord(c) for c in text if c != " "})
    first, last = codes[0], codes[-1]
    shown = text.replace("\\", "").replace("(", "").replace(")", "").replace(" ", ") -250 (")
    content = f"BT /F1 12 Tf 72 720 Td [({shown})] TJ ET".encode()
    glyph = b"600 0 0 0 600 700 d1 50 0 500 700 re f"
    font = (f"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 600 700] /FontMatrix [0.001 0 0 0.001 0 0] "
            f"/CharProcs << {' '.join(f'/g{code} 6 0 R' for code in codes)} >> "
            f"/Encoding << /Type /Encoding /Differences [{first} "
            f"{' '.join(f'/g{code}' for code in range(first, last + 1))}] >> "
            f"/FirstChar {first} /LastChar {last} /Widths [{' '.join('600' for _ in range(first, last + 1))}] >>")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        font.encode(),
        b"<< /Length %d >>\nstream\n" % len(glyph) + glyph + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def scan(pdf: bytes, *, dpi: int = 200, angle: float = 0.6, noise: int = 18, seed: int = 7,
         image_format: str = "PNG") -> bytes:
    """A paper scan of `pdf`'s first page made here: rendered to grey pixels, slightly rotated,
    blurred and speckled like a flatbed scanner, then saved as an image (PNG, JPEG, TIFF or PDF:
    an image-only PDF has no text layer)."""
    import io
    import random

    import pypdfium2
    from PIL import Image, ImageFilter

    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    rng = random.Random(seed)
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    for _ in range(width * height // 400):  # dust and toner specks
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = max(0, min(255, int(pixels[x, y]) + rng.randint(-noise * 4, noise * 4)))  # type: ignore[arg-type,index,operator]
    out = io.BytesIO()
    kwargs: dict[str, object] = {"resolution": float(dpi)} if image_format == "PDF" else {"dpi": (dpi, dpi)}
    if image_format == "JPEG":
        kwargs["quality"] = 70
    image.save(out, format=image_format, **kwargs)
    return out.getvalue()


def german_invoice_pdf() -> bytes:
    return _pdf([
        "Müller & Söhne Bürobedarf GmbH", "Königstraße 5, 70173 Stuttgart", "USt-IdNr. DE812345678",
        "Rechnung Nr. RE-2025-0457", "Rechnungsdatum: 14.02.2025", "Fällig am: 16.03.2025",
        "Rechnungsempfänger: Fabrikam AG, Zürich",
        "Beschreibung              Menge    Einzelpreis     Betrag",
        "Aktenordner grün            20          3,50         70,00",
        "Nettobetrag: 70,00 EUR", "MwSt. 19 %: 13,30 EUR", "Gesamtbetrag: 83,30 EUR",
    ])
