"""The CLI's HTTP side: the API base URL and key from flags and settings, and one call helper
that turns every API error into a one-line message and exit code 1 (never a traceback)."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn
from urllib.parse import urlparse

DEFAULT_URL = "http://127.0.0.1:8080"


def fail(message: str, code: int = 2) -> NoReturn:
    """Exit with `docflow: message`: 2 for bad usage, 1 for a failed call or run."""
    print(f"docflow: {message}", file=sys.stderr)
    raise SystemExit(code)


def checked_url(url: str, flag: str = "--url") -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        example = url.split("://")[-1] or "127.0.0.1:8080"
        fail(f"{flag} {url!r} is not a URL: give its scheme and host, e.g. http://{example}")
    return url.rstrip("/")


def api_key() -> str:
    key = os.environ.get("DOCFLOW_API_KEY")
    if not key:
        fail("set DOCFLOW_API_KEY to an API key (create one with `docflow keys create --name NAME`)")
    return key


class Api:
    def __init__(self, url: str, key: str) -> None:
        import requests

        self.url = checked_url(url)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """The JSON answer; an error status (other than those in `allow`) exits 1 with its message."""
        import requests

        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        except requests.ConnectionError:
            fail(f"cannot reach {self.url}: is `docflow serve` running there?", 1)
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        if response.status_code >= 400 and response.status_code not in allow:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            code = f" ({error['code']})" if error.get("code") else ""
            fail(f"{method} {path}: {response.status_code}{code} {error.get('message') or response.text}", 1)
        return dict(body) if isinstance(body, dict) else {"items": body}


def api_from(args: Any) -> Api:
    url = checked_url(args.url or os.environ.get("DOCFLOW_URL") or DEFAULT_URL)  # before the key: say what is wrong
    return Api(url, api_key())
