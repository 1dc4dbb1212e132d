"""Driving the review page in a real browser (Playwright over Debian's chromium; the `browser`,
`page` and `artifacts` fixtures are in tests/e2e/conftest.py), shared by the local-mode and the
AWS-under-moto browser tests."""

from __future__ import annotations

from typing import Any


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def open_page(page: Any, url: str) -> dict[str, list[str]]:
    """Loads /review, recording every request the browser makes and every console error."""
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "dialogs": []}
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("console", lambda message: seen["errors"].append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{url}/review", wait_until="networkidle")
    return seen


def sign_in(page: Any, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Any, key: str) -> None:
    """Signs in and waits for the queue: the page checks the key with the API before keeping it."""
    from playwright.sync_api import expect

    sign_in(page, key)
    expect(page.locator("#queue-view")).to_be_visible()
