"""`GET /review`: the reviewers' web page (DESIGN.md §1), three static files and an icon shipped as
package data in `docflow/api/review_page/`. Public (the reviewer types an API key into the page,
which then calls the reviews API with it); not part of the API, so not in the OpenAPI document.

The files are read when asked for, never at import: the API's cold start must not pay for a page
most invocations never serve. Everything the page needs comes from here, and the headers say so to
the browser: a strict Content-Security-Policy (no inline script or style, nothing from elsewhere)
is what keeps the untrusted document text and field values it shows from ever running."""

from __future__ import annotations

from importlib import resources

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

PACKAGE, FOLDER = "docflow.api", "review_page"
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:", "connect-src 'self'",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# The HTML is never stored; the scripts and styles are revalidated each time (their URLs carry no
# version, so a cached copy could outlive the HTML it belongs to).
ASSETS = {
    "index.html": ("text/html; charset=utf-8", "no-store"),
    "app.js": ("text/javascript; charset=utf-8", "no-cache"),
    "app.css": ("text/css; charset=utf-8", "no-cache"),
    "icon.svg": ("image/svg+xml", "no-cache"),
}


def asset(name: str) -> Response[str]:
    """One of the page's files, with its type and the page's security headers."""
    content_type, cache_control = ASSETS[name]
    body = resources.files(PACKAGE).joinpath(FOLDER, name).read_text(encoding="utf-8")
    return Response(200, content_type, body, headers={**SECURITY_HEADERS, "Cache-Control": cache_control})


def build() -> Router:
    router = Router()

    @router.get("/review", include_in_schema=False)
    def page() -> Response[str]:
        return asset("index.html")

    @router.get("/review/app.js", include_in_schema=False)
    def script() -> Response[str]:
        return asset("app.js")

    @router.get("/review/app.css", include_in_schema=False)
    def styles() -> Response[str]:
        return asset("app.css")

    @router.get("/review/icon.svg", include_in_schema=False)
    def icon() -> Response[str]:
        return asset("icon.svg")

    return router
