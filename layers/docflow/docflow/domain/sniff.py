"""What a file's bytes are, from their magic numbers: never from a name or a declared type.

`sniff_content_type` names the MIME type of the types Docflow handles (the S3 drop folder and
the local inbox register documents with it); `describe` says in words what other bytes look like,
for error messages of the parse step ("the bytes are a ZIP archive (e.g. DOCX, XLSX)")."""

from __future__ import annotations

import codecs

OCTET_STREAM = "application/octet-stream"
PDF_HEADER_WINDOW = 1024  # readers accept %PDF- anywhere in the first KB
SNIFF_WINDOW = 8192

# Magic numbers: (prefix, MIME type or None when Docflow has no type for it, description).
_MAGIC: tuple[tuple[bytes, str | None, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "a PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "a JPEG image"),
    (b"GIF87a", None, "a GIF image"),
    (b"GIF89a", None, "a GIF image"),
    (b"II*\x00", "image/tiff", "a TIFF image"),
    (b"MM\x00*", "image/tiff", "a TIFF image"),
    (b"BM", None, "a BMP image"),
    (b"PK\x03\x04", None, "a ZIP archive (e.g. DOCX, XLSX)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", None, "an old Office document (DOC, XLS)"),
    (b"\x1f\x8b", None, "a gzip archive"),
    (b"7z\xbc\xaf'\x1c", None, "a 7-Zip archive"),
    (b"Rar!", None, "a RAR archive"),
    (b"\x7fELF", None, "an executable"),
    (b"MZ", None, "an executable"),
)

# Text is text/plain to the bytes; the name's extension may say which kind of text it is.
_TEXT_SUBTYPES = {".csv": "text/csv", ".tsv": "text/tab-separated-values", ".md": "text/markdown",
                  ".markdown": "text/markdown"}
_UTF8_BOM = b"\xef\xbb\xbf"


def _magic(data: bytes) -> tuple[str | None, str] | None:
    head = data[:SNIFF_WINDOW]
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "application/pdf", "a PDF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return None, "a WebP image"
    for magic, mime, what in _MAGIC:
        if head.startswith(magic):
            return mime, what
    return None


def describe(data: bytes) -> str | None:
    """What the bytes look like when that is recognisably not text; None if they may be text."""
    found = _magic(data)
    if found is not None:
        return found[1]
    if b"\x00" in data:
        return "binary data (it contains NUL bytes)"
    return None


def looks_like_text(data: bytes) -> bool:
    """Few control characters (tab, newlines and form feed allowed), in any 8-bit encoding."""
    head = data[:SNIFF_WINDOW]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(head) // 100


def is_utf8_text(data: bytes) -> bool:
    """Valid UTF-8 (a character cut at the end of the sniffed window is fine) without binary
    control characters."""
    head = data[:SNIFF_WINDOW]
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM):]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(data) <= SNIFF_WINDOW)
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head and looks_like_text(head)


def sniff_content_type(data: bytes, filename: str | None = None) -> str:
    """application/pdf, image/png, image/jpeg, image/tiff, text/plain (valid UTF-8 text; text/csv,
    text/tab-separated-values or text/markdown when `filename` ends so), else application/octet-stream."""
    found = _magic(data)
    if found is not None:
        return found[0] or OCTET_STREAM
    if not data or not is_utf8_text(data):
        return OCTET_STREAM
    if filename:
        dot = filename.rfind(".")
        if dot > 0:
            return _TEXT_SUBTYPES.get(filename[dot:].lower(), "text/plain")
    return "text/plain"


# --- a declared type against the bytes (multipart runs) -------------------------------------------

# Declared types that name the same bytes.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf",
            "image/tif": "image/tiff"}
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "text/tab-separated-values", "text/x-markdown"})


def media_type_of(content_type: str | None) -> str:
    """`Application/PDF; charset=x` → `application/pdf` (aliases folded)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(media, media)


def matches(declared: str | None, data: bytes) -> bool:
    """Whether the bytes can be what the caller declared: a text type needs UTF-8 text, a binary
    type its magic bytes; octet-stream (or nothing) declares nothing."""
    media = media_type_of(declared)
    if media in ("", OCTET_STREAM):
        return True
    found = sniff_content_type(data)
    if media in TEXT_TYPES:
        return found == "text/plain"
    return found == media


def effective_type(declared: str | None, data: bytes, filename: str | None = None) -> str:
    """The type a file is stored with: the declared one when it says something, else the sniffed one."""
    media = media_type_of(declared)
    return sniff_content_type(data, filename) if media in ("", OCTET_STREAM) else media
