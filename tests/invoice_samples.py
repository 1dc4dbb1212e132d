"""Invoices in seven languages and three layouts, with the values an invoice model must read.

They are the project's own test documents (tests/unit/test_invoice_preset.py, `make
bench-extract`): each one varies what real invoices vary — the language of the labels, labels
beside or above their values, a title line carrying number and date, number formats (1.234,56,
1,234.56, 1 234,56, 1'234.56), day-first or month-first dates, the currency as a code, a symbol
or a word, the seller in a letterhead or only in the footer — and none copies a corpus invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class Sample:
    name: str
    layout: str  # "inline" (Label: value), "columns" (labels over values), "title" (number and date in the title)
    seller: str
    seller_lines: tuple[str, ...]
    buyer_label: str
    buyer: str
    title: str
    number_label: str
    number: str
    date_label: str
    date_text: str
    due_label: str
    due_text: str
    columns: tuple[str, str, str, str]
    items: tuple[tuple[str, str, str, str], ...]
    totals: tuple[tuple[str, str], ...]  # (label, amount as printed), subtotal, tax, total
    footer: tuple[str, ...]
    expected: dict[str, Any] = field(default_factory=dict)
    seller_in_footer_only: bool = False
    seller_label: str = ""  # layout "parties": the label over the seller's block


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "en_inline",
        "inline",
        "Brightline Analytics Ltd",
        ("Brightline Analytics Ltd", "14 Quay Street, Bristol BS1 4DJ", "VAT Reg. No. GB 293 8471 22"),
        "Bill To:",
        "Harbour Foods Limited",
        "INVOICE",
        "Invoice No:",
        "BA-10482",
        "Invoice Date:",
        "3 March 2025",
        "Due Date:",
        "2 April 2025",
        ("Description", "Qty", "Unit Price", "Amount"),
        (("Data pipeline audit", "1", "£1,250.00", "£1,250.00"), ("Dashboard licences", "12", "£45.00", "£540.00")),
        (("Subtotal", "£1,790.00"), ("VAT 20%", "£358.00"), ("Total Due", "£2,148.00")),
        ("Payment by bank transfer within 30 days. Thank you for your business.",),
        {
            "invoice_number": "BA-10482",
            "date": "2025-03-03",
            "due_date": "2025-04-02",
            "total": 2148.0,
            "subtotal": 1790.0,
            "tax": 358.0,
            "currency": "GBP",
            "issuer": "Brightline Analytics Ltd",
            "buyer": "Harbour Foods Limited",
        },
    ),
    Sample(
        "en_us_columns",
        "columns",
        "Redwood Hardware Inc.",
        ("Redwood Hardware Inc.", "2200 Mission Blvd, Oakland, CA 94601", "www.redwoodhardware.com"),
        "Sold To",
        "Pacific Builders Co.",
        "Invoice",
        "Invoice #",
        "RH-77310",
        "Date",
        "04/07/2025",
        "Payment Due",
        "05/07/2025",
        ("Item", "Quantity", "Rate", "Amount"),
        (("Cordless drill 18V", "3", "129.00", "387.00"), ("Drill bit set", "5", "24.50", "122.50")),
        (("Subtotal", "509.50"), ("Sales Tax 8.25%", "42.03"), ("Balance Due", "$551.53")),
        ("All amounts in US dollars.",),
        {
            "invoice_number": "RH-77310",
            "date": "2025-04-07",
            "due_date": "2025-05-07",
            "total": 551.53,
            "subtotal": 509.5,
            "tax": 42.03,
            "currency": "USD",
            "issuer": "Redwood Hardware Inc.",
        },
    ),
    Sample(
        "de_title",
        "title",
        "Weber Elektrotechnik GmbH",
        ("Weber Elektrotechnik GmbH · Lindenallee 8 · 50968 Köln",),
        "Rechnungsempfänger:",
        "Stadtwerke Bonn",
        "Rechnung",
        "Rechnung Nr.",
        "2025-0193",
        "vom",
        "17.02.2025",
        "Zahlbar bis:",
        "03.03.2025",
        ("Bezeichnung", "Menge", "Einzelpreis", "Betrag"),
        (("Schaltschrank montiert", "2", "1.180,00", "2.360,00"), ("Kabel NYM-J 5x2,5 (m)", "120", "2,15", "258,00")),
        (("Nettobetrag", "2.618,00 EUR"), ("MwSt. 19 %", "497,42 EUR"), ("Gesamtbetrag", "3.115,42 EUR")),
        ("Weber Elektrotechnik GmbH · USt-IdNr. DE 298 114 573 · IBAN DE44 3705 0198 0012 3456 78",),
        {
            "invoice_number": "2025-0193",
            "date": "2025-02-17",
            "due_date": "2025-03-03",
            "total": 3115.42,
            "subtotal": 2618.0,
            "tax": 497.42,
            "currency": "EUR",
            "issuer": "Weber Elektrotechnik GmbH",
            "buyer": "Stadtwerke Bonn",
        },
    ),
    Sample(
        "fr_inline",
        "inline",
        "Atelier Lumière SARL",
        ("Atelier Lumière SARL", "12 rue des Tanneurs, 69002 Lyon", "SIRET 812 345 678 00019"),
        "Facturé à :",
        "Boulangerie Martin",
        "FACTURE",
        "Facture n°",
        "F-2025-0042",
        "Date de facture :",
        "14 janvier 2025",
        "Date d'échéance :",
        "13 février 2025",
        ("Désignation", "Quantité", "Prix unitaire", "Montant HT"),
        (("Lustre en laiton", "2", "1 150,00 €", "2 300,00 €"), ("Pose et réglage", "1", "180,00 €", "180,00 €")),
        (("Total HT", "2 480,00 €"), ("TVA 20 %", "496,00 €"), ("Net à payer", "2 976,00 €")),
        ("Atelier Lumière SARL au capital de 8 000 € - RCS Lyon 812 345 678",),
        {
            "invoice_number": "F-2025-0042",
            "date": "2025-01-14",
            "due_date": "2025-02-13",
            "total": 2976.0,
            "subtotal": 2480.0,
            "tax": 496.0,
            "currency": "EUR",
            "issuer": "Atelier Lumière SARL",
            "buyer": "Boulangerie Martin",
        },
    ),
    Sample(
        "nl_columns",
        "columns",
        "Van Dijk Installatietechniek B.V.",
        ("Van Dijk Installatietechniek B.V.", "Industrieweg 21, 3542 AD Utrecht", "KvK 30198765  BTW NL812765432B01"),
        "Klant:",
        "Gemeente Zeist",
        "Factuur",
        "Factuurnummer",
        "2025.118",
        "Factuurdatum",
        "21-05-2025",
        "Vervaldatum",
        "20-06-2025",
        ("Omschrijving", "Aantal", "Prijs", "Bedrag"),
        (("Warmtepomp onderhoud", "4", "€ 95,00", "€ 380,00"), ("Filterset", "4", "€ 32,50", "€ 130,00")),
        (("Subtotaal", "€ 510,00"), ("BTW 21%", "€ 107,10"), ("Te betalen", "€ 617,10")),
        ("Gelieve te betalen op IBAN NL91 ABNA 0417 1643 00 t.n.v. Van Dijk Installatietechniek B.V.",),
        {
            "invoice_number": "2025.118",
            "date": "2025-05-21",
            "due_date": "2025-06-20",
            "total": 617.1,
            "subtotal": 510.0,
            "tax": 107.1,
            "currency": "EUR",
            "issuer": "Van Dijk Installatietechniek B.V.",
        },
    ),
    Sample(
        "es_inline",
        "inline",
        "Distribuciones Ebro S.L.",
        ("Distribuciones Ebro S.L.", "Calle Alfonso I 14, 50003 Zaragoza", "CIF B50123456"),
        "Cliente:",
        "Hotel Miramar",
        "FACTURA",
        "Número de factura:",
        "A-2025/311",
        "Fecha de factura:",
        "09/06/2025",
        "Fecha de vencimiento:",
        "09/07/2025",
        ("Descripción", "Cantidad", "Precio", "Importe"),
        (("Aceite de oliva 5 l", "10", "38,90", "389,00"), ("Vinagre de Jerez", "6", "7,25", "43,50")),
        (("Base imponible", "432,50"), ("IVA 21%", "90,83"), ("Total a pagar", "523,33 EUR")),
        ("Forma de pago: transferencia bancaria.",),
        {
            "invoice_number": "A-2025/311",
            "date": "2025-06-09",
            "due_date": "2025-07-09",
            "total": 523.33,
            "subtotal": 432.5,
            "tax": 90.83,
            "currency": "EUR",
            "issuer": "Distribuciones Ebro S.L.",
            "buyer": "Hotel Miramar",
        },
    ),
    Sample(
        "it_title",
        "title",
        "Ferramenta Colombo S.r.l.",
        ("Ferramenta Colombo S.r.l.", "Via Roma 45, 20121 Milano", "P.IVA 09876543210"),
        "Cliente:",
        "Condominio Aurora",
        "Fattura",
        "Fattura n.",
        "118/2025",
        "del",
        "28/04/2025",
        "Scadenza:",
        "28/05/2025",
        ("Descrizione", "Quantità", "Prezzo unitario", "Importo"),
        (("Vernice murale 10 l", "8", "54,00", "432,00"), ("Rulli e pennelli", "1", "36,40", "36,40")),
        (("Imponibile", "468,40"), ("IVA 22%", "103,05"), ("Totale documento", "€ 571,45")),
        ("Pagamento: bonifico bancario a 30 giorni.",),
        {
            "invoice_number": "118/2025",
            "date": "2025-04-28",
            "due_date": "2025-05-28",
            "total": 571.45,
            "subtotal": 468.4,
            "tax": 103.05,
            "currency": "EUR",
            "issuer": "Ferramenta Colombo S.r.l.",
            "buyer": "Condominio Aurora",
        },
    ),
    Sample(
        "pl_inline",
        "inline",
        "Drukarnia Wisła sp. z o.o.",
        ("Sprzedawca: Drukarnia Wisła sp. z o.o.", "ul. Długa 7, 31-147 Kraków", "NIP 676-123-45-67"),
        "Nabywca:",
        "Księgarnia Pod Globusem",
        "FAKTURA VAT",
        "Faktura VAT nr",
        "FV/2025/07/19",
        "Data wystawienia:",
        "2025-07-15",
        "Termin płatności:",
        "2025-07-29",
        ("Nazwa towaru", "Ilość", "Cena netto", "Wartość"),
        (("Ulotki A5 kolor", "5000", "0,18", "900,00"), ("Plakaty B2", "200", "2,40", "480,00")),
        (("Razem netto", "1 380,00 zł"), ("Kwota VAT 23%", "317,40 zł"), ("Do zapłaty", "1 697,40 zł")),
        ("Słownie: jeden tysiąc sześćset dziewięćdziesiąt siedem złotych 40/100",),
        {
            "invoice_number": "FV/2025/07/19",
            "date": "2025-07-15",
            "due_date": "2025-07-29",
            "total": 1697.4,
            "subtotal": 1380.0,
            "tax": 317.4,
            "currency": "PLN",
            "issuer": "Drukarnia Wisła sp. z o.o.",
            "buyer": "Księgarnia Pod Globusem",
        },
    ),
    Sample(
        "ch_footer_seller",
        "columns",
        "Alpenblick Treuhand AG",
        ("Herr Daniel Keller", "Seestrasse 110", "8002 Zürich"),
        "Kunde:",
        "Daniel Keller",
        "Rechnung",
        "Rechnungsnummer",
        "AT-25-0877",
        "Rechnungsdatum",
        "02.09.2025",
        "Fällig am",
        "02.10.2025",
        ("Leistung", "Menge", "Preis", "Betrag"),
        (("Steuererklärung 2024", "1", "1'450.00", "1'450.00"), ("Spesen", "1", "38.50", "38.50")),
        (("Zwischensumme", "CHF 1'488.50"), ("MwSt. 8.1%", "CHF 120.57"), ("Total", "CHF 1'609.07")),
        ("Alpenblick Treuhand AG · Bahnhofplatz 3 · 6300 Zug · CHE-123.456.789 MWST · info@alpenblick-treuhand.ch",),
        {
            "invoice_number": "AT-25-0877",
            "date": "2025-09-02",
            "due_date": "2025-10-02",
            "total": 1609.07,
            "subtotal": 1488.5,
            "tax": 120.57,
            "currency": "CHF",
            "issuer": "Alpenblick Treuhand AG",
        },
        seller_in_footer_only=True,
    ),
    Sample(
        "it_parties",
        "parties",
        "Studio Tecnico Bianchi S.r.l.",
        ("Via Garibaldi 3, 10122 Torino", "P.IVA 11223344556"),
        "Cessionario/Committente",
        "Comune di Asti",
        "FATTURA",
        "Numero fattura",
        "2025/0087",
        "Data fattura",
        "15/10/2025",
        "Data scadenza",
        "14/11/2025",
        ("Descrizione", "Quantità", "Prezzo", "Importo"),
        (("Consulenza strutturale", "12", "85,00", "1.020,00"), ("Sopralluogo", "2", "120,00", "240,00")),
        (("Imponibile", "1.260,00"), ("IVA 22%", "277,20"), ("Totale da pagare", "1.537,20 €")),
        ("Pagamento tramite bonifico: IBAN IT60 X054 2811 1010 0000 0123 456",),
        {
            "invoice_number": "2025/0087",
            "date": "2025-10-15",
            "due_date": "2025-11-14",
            "total": 1537.2,
            "subtotal": 1260.0,
            "tax": 277.2,
            "currency": "EUR",
            "issuer": "Studio Tecnico Bianchi S.r.l.",
            "buyer": "Comune di Asti",
        },
        seller_label="Cedente/Prestatore",
    ),
    Sample(
        "pl_parties",
        "parties",
        "Hurtownia Budowlana Kowalski Sp. z o.o.",
        ("ul. Przemysłowa 12, 60-101 Poznań", "NIP 7781234567"),
        "Nabywca",
        "Jan Nowak Usługi Remontowe",
        "Faktura",
        "Numer faktury",
        "12/11/2025",
        "Data wystawienia",
        "03.11.2025",
        "Termin płatności",
        "17.11.2025",
        ("Nazwa", "Ilość", "Cena", "Wartość"),
        (("Cement 25 kg", "40", "21,50", "860,00"), ("Piasek płukany (t)", "3", "95,00", "285,00")),
        (("Wartość netto", "1 145,00"), ("VAT 23%", "263,35"), ("Razem do zapłaty", "1 408,35 PLN")),
        ("Konto: PL61 1090 1014 0000 0712 1981 2874",),
        {
            "invoice_number": "12/11/2025",
            "date": "2025-11-03",
            "due_date": "2025-11-17",
            "total": 1408.35,
            "subtotal": 1145.0,
            "tax": 263.35,
            "currency": "PLN",
            "issuer": "Hurtownia Budowlana Kowalski Sp. z o.o.",
            "buyer": "Jan Nowak Usługi Remontowe",
        },
        seller_label="Sprzedawca",
    ),
    Sample(
        "de_din",
        "din",
        "Bäckerei Schulz GmbH",
        ("Bäckerei Schulz GmbH · Marktplatz 2 · 01067 Dresden",),
        "",
        "Hotel Elbblick",
        "Rechnung",
        "Rechnungs-Nr.",
        "R-8812",
        "Datum",
        "05.12.2025",
        "Zahlbar bis",
        "19.12.2025",
        ("Artikel", "Menge", "Preis", "Gesamt"),
        (("Brötchen (Stück)", "600", "0,45", "270,00"), ("Kuchenplatte", "4", "32,00", "128,00")),
        (("Summe netto", "398,00 €"), ("USt 7%", "27,86 €"), ("Rechnungsbetrag", "425,86 €")),
        ("Bäckerei Schulz GmbH · Amtsgericht Dresden HRB 12345 · Sparkasse IBAN DE12 8505 0300 0221 0445 16",),
        {
            "invoice_number": "R-8812",
            "date": "2025-12-05",
            "due_date": "2025-12-19",
            "total": 425.86,
            "subtotal": 398.0,
            "tax": 27.86,
            "currency": "EUR",
            "issuer": "Bäckerei Schulz GmbH",
        },
    ),
    Sample(
        "en_stripe",
        "inline",
        "Northbeam Software",
        ("Northbeam Software", "500 Market Street", "San Francisco, CA 94105", "billing@northbeam.io"),
        "Bill to",
        "Lumen Health",
        "Invoice",
        "Invoice number",
        "NB-2025-1107",
        "Date of issue",
        "November 7, 2025",
        "Date due",
        "December 7, 2025",
        ("Description", "Qty", "Unit price", "Amount"),
        (("Team plan (Nov 7 - Dec 7, 2025)", "25", "$29.00", "$725.00"),),
        (("Subtotal", "$725.00"), ("Total", "$725.00"), ("Amount due", "$725.00 USD")),
        ("Pay online at pay.northbeam.io/NB-2025-1107",),
        {
            "invoice_number": "NB-2025-1107",
            "date": "2025-11-07",
            "due_date": "2025-12-07",
            "total": 725.0,
            "subtotal": 725.0,
            "currency": "USD",
            "issuer": "Northbeam Software",
            "buyer": "Lumen Health",
        },
    ),
    Sample(
        "fr_din",
        "din",
        "Plomberie Girard",
        ("Plomberie Girard - 8 avenue Foch - 33000 Bordeaux",),
        "",
        "Mme Claire Dubois",
        "Facture",
        "N° de facture",
        "2025-311",
        "Date",
        "22/09/2025",
        "Échéance",
        "22/10/2025",
        ("Désignation", "Qté", "P.U. HT", "Total HT"),
        (("Remplacement chauffe-eau 200 l", "1", "890,00", "890,00"), ("Main d'oeuvre (h)", "3", "55,00", "165,00")),
        (("Total HT", "1 055,00 €"), ("TVA 10 %", "105,50 €"), ("Total TTC", "1 160,50 €")),
        ("Plomberie Girard, EI - SIRET 901 234 567 00012 - TVA FR12901234567",),
        {
            "invoice_number": "2025-311",
            "date": "2025-09-22",
            "due_date": "2025-10-22",
            "total": 1160.5,
            "subtotal": 1055.0,
            "tax": 105.5,
            "currency": "EUR",
            "issuer": "Plomberie Girard, EI",
        },
    ),
    Sample(
        "nl_columns_usd",
        "columns",
        "Delta Freight Services N.V.",
        ("Delta Freight Services N.V.", "Havenstraat 90", "3011 AB Rotterdam"),
        "Debiteur:",
        "Ocean Imports Inc.",
        "FACTUUR",
        "Factuurnr.",
        "DF/25/4410",
        "Factuurdatum",
        "12 augustus 2025",
        "Betalen vóór",
        "11 september 2025",
        ("Omschrijving", "Aantal", "Tarief", "Bedrag"),
        (("Zeevracht container 40ft", "2", "1.850,00", "3.700,00"), ("Inklaring", "1", "175,00", "175,00")),
        (("Subtotaal", "USD 3.875,00"), ("BTW 0%", "USD 0,00"), ("Totaal te betalen", "USD 3.875,00")),
        ("Alle bedragen in USD. Delta Freight Services N.V. - KvK 24123456",),
        {
            "invoice_number": "DF/25/4410",
            "date": "2025-08-12",
            "due_date": "2025-09-11",
            "total": 3875.0,
            "subtotal": 3875.0,
            "tax": 0.0,
            "currency": "USD",
            "issuer": "Delta Freight Services N.V.",
            "buyer": "Ocean Imports Inc.",
        },
    ),
)


def render(sample: Sample) -> bytes:
    """The sample as a one-page PDF with a real text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=DEJAVU)
    pdf.set_font("DejaVu", size=10)

    def at(x: float, y: float, text: str, size: float = 10) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.set_xy(x, y)
        pdf.cell(0, 5, text)

    y = 15.0
    if sample.layout == "parties":  # seller and buyer side by side, each under its label
        at(15, 30, sample.seller_label, 9)
        at(15, 35, sample.seller, 11)
        for offset, line in enumerate(sample.seller_lines):
            at(15, 41 + 5 * offset, line, 9)
        at(110, 30, sample.buyer_label, 9)
        at(110, 35, sample.buyer, 11)
    elif sample.layout == "din":  # a sender line over the address window, an info block on the right
        at(15, 40, sample.seller_lines[0], 7)
        at(15, 48, sample.buyer)
        at(15, 53, "Hauptstraße 1" if sample.name.startswith("de") else "3 rue Neuve")
        for offset, (label, value) in enumerate(
            (
                (sample.number_label, sample.number),
                (sample.date_label, sample.date_text),
                (sample.due_label, sample.due_text),
            )
        ):
            at(125, 40 + 5 * offset, label, 9)
            at(160, 40 + 5 * offset, value, 9)
    else:
        for line in sample.seller_lines:
            at(15, y, line, 11 if line == sample.seller_lines[0] else 9)
            y += 5
        at(120, 40, sample.buyer_label)
        at(120, 45, sample.buyer)
    y = 70.0
    if sample.layout in ("parties", "din"):
        at(15, y, sample.title, 16)
        y += 10
        if sample.layout == "parties":
            for label, value in (
                (sample.number_label, sample.number),
                (sample.date_label, sample.date_text),
                (sample.due_label, sample.due_text),
            ):
                at(15, y, f"{label}: {value}")
                y += 5
        y += 5
    elif sample.layout == "title":
        at(15, y, f"{sample.number_label} {sample.number} {sample.date_label} {sample.date_text}", 14)
        y += 10
        at(15, y, f"{sample.due_label} {sample.due_text}")
        y += 10
    elif sample.layout == "columns":
        at(15, y, sample.title, 16)
        y += 10
        for x, (label, value) in zip(
            (15, 70, 125),
            (
                (sample.number_label, sample.number),
                (sample.date_label, sample.date_text),
                (sample.due_label, sample.due_text),
            ),
            strict=True,
        ):
            at(x, y, label, 9)
            at(x, y + 5, value)
        y += 15
    else:
        at(15, y, sample.title, 16)
        y += 10
        for label, value in (
            (sample.number_label, sample.number),
            (sample.date_label, sample.date_text),
            (sample.due_label, sample.due_text),
        ):
            at(15, y, label)
            at(60, y, value)
            y += 5
        y += 5
    xs = (15, 105, 130, 165)
    for x, heading in zip(xs, sample.columns, strict=True):
        at(x, y, heading, 9)
    y += 6
    for row in sample.items:
        for x, cell in zip(xs, row, strict=True):
            at(x, y, cell)
        y += 6
    y += 4
    for label, amount in sample.totals:
        at(120, y, label)
        at(165, y, amount)
        y += 6
    y = 270.0
    for line in sample.footer:
        at(15, y, line, 7)
        y += 4
    return bytes(pdf.output())
