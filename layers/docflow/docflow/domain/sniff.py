"""What a file is, from its first bytes: the media type that uploads, multipart runs and the drop
folder check a declared type against (a PNG sent as application/pdf is refused up front)."""

from __future__ import annotations

OCTET_STREAM = "application/octet-stream"
_PDF_HEADER_WINDOW = 1024  # readers accept %PDF- anywhere in the first KB
_TEXT_WINDOW = 8192

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
)
# Declared types that name the same bytes.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf",
            "image/tif": "image/tiff"}
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "text/tab-separated-values", "text/x-markdown"})


def media_type_of(content_type: str | None) -> str:
    """`Application/PDF; charset=x` → `application/pdf` (aliases folded)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(media, media)


def sniff(data: bytes) -> str:
    """The media type the bytes are: a known binary format, `text/plain` for UTF-8 text without
    NUL bytes, else application/octet-stream."""
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "application/pdf"
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    head = data[:_TEXT_WINDOW]
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the window's end
                return OCTET_STREAM
        return "text/plain"
    return OCTET_STREAM


def matches(declared: str | None, data: bytes) -> bool:
    """Whether bytes can be what the caller declared: text types accept any text, a binary type
    needs its magic bytes; octet-stream (or nothing) declares nothing."""
    media = media_type_of(declared)
    if media in ("", OCTET_STREAM):
        return True
    found = sniff(data)
    if media in _TEXT_TYPES:
        return found == "text/plain"
    return found == media


def effective_type(declared: str | None, data: bytes) -> str:
    """The type a file is stored with: the declared one when it says something, else the sniffed one."""
    media = media_type_of(declared)
    return sniff(data) if media in ("", OCTET_STREAM) else media
