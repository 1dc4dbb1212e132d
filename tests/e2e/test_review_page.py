"""The reviewers' page `GET /review` in a real browser (Debian's chromium through Playwright) against
local mode over real HTTP: its headers, that it loads nothing from elsewhere, fits 1280x800, signs
in only with a valid key, and the whole review of a paused run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from browsing import no_horizontal_scroll, open_page, sign_in, signed_in
from docflow_testing import API_KEY, Api, LocalMode, invoice_pdf, review_workflow

from docflow.api.routers.review_page import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.e2e

CSP_DIRECTIVES = {
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:", "connect-src 'self'",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"}
REVIEWED_INVOICE = {"steps": [
    {"id": "p", "type": "parse", "next": "x"},
    {"id": "x", "type": "extract", "config": {"fields": [{"name": "invoice_number"},
                                                         {"name": "total", "type": "currency"}]}, "next": "r"},
    {"id": "r", "type": "review", "config": {"confidence_threshold": 0.99}},
]}


def paused_run(api: Api, text: bytes) -> str:
    """A run of the reviewed-invoice workflow on a text document, once it waits in review."""
    workflow = api.post("/v1/workflows", json={"name": "Reviewed invoices", "definition": REVIEWED_INVOICE})
    assert workflow.status_code == 201, workflow.text
    document_id = api.upload("invoice.txt", text, "text/plain")
    started = api.post(f"/v1/workflows/{workflow.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    execution_id = str(started.json()["id"])
    run = api.wait(execution_id, until=("review", "completed", "failed", "canceled"))
    assert run["status"] == "review", run
    return execution_id


# --- what works without the reviews API -------------------------------------------------------

def test_given_the_local_server_when_the_page_and_its_files_are_fetched_then_each_has_a_strict_csp_and_no_key(
        local_mode: LocalMode) -> None:
    for path, kind in (("/review", "text/html"), ("/review/app.js", "text/javascript"),
                       ("/review/app.css", "text/css"), ("/review/icon.svg", "image/svg+xml")):
        response = requests.get(f"{local_mode.url}{path}", timeout=30)  # no Authorization: the page is public
        assert response.status_code == 200, f"{path}: {response.text[:200]}"
        assert response.headers["Content-Type"].startswith(kind), path
        assert set(response.headers["Content-Security-Policy"].split("; ")) == CSP_DIRECTIVES, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
    html = requests.get(f"{local_mode.url}/review", timeout=30)
    assert html.headers["Cache-Control"] == "no-store"
    # Relative URLs, so the page works under any base path; nothing from another origin.
    assert 'src="review/app.js"' in html.text and 'href="review/app.css"' in html.text
    assert "http://" not in html.text and "https://" not in html.text and "<script>" not in html.text
    assert html.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_given_the_openapi_document_when_read_then_the_page_is_not_in_it(local_mode: LocalMode) -> None:
    spec = local_mode.api.get("/v1/openapi.json").json()
    assert not [path for path in spec["paths"] if path.startswith("/review")]


def test_given_the_page_in_a_browser_when_loaded_then_nothing_leaves_the_origin_and_it_fits_1280_wide(
        local_mode: LocalMode, page: Any, artifacts: Path) -> None:
    seen = open_page(page, local_mode.url)
    origin = urlsplit(local_mode.url)
    assert seen["requests"], "the browser made no request"
    assert all(urlsplit(url)[:2] == origin[:2] for url in seen["requests"]), seen["requests"]
    assert {urlsplit(url).path for url in seen["requests"]} >= {"/review", "/review/app.js", "/review/app.css"}
    assert seen["errors"] == []  # no CSP violation, no script error
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert page.get_by_label("API key").get_attribute("type") == "password"
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "sign-in.png"))


def test_given_a_bad_key_when_signing_in_then_an_error_shows_and_the_key_is_kept_nowhere(
        local_mode: LocalMode, page: Any) -> None:
    seen = open_page(page, local_mode.url)
    bad_key = "dfk_" + "x" * 40
    sign_in(page, bad_key)
    error = page.locator("#sign-in-error")
    error.wait_for(state="visible")
    assert error.text_content() == "That API key was not accepted."
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert page.evaluate("sessionStorage.length") == 0 and page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == [] and bad_key not in page.url
    assert not [url for url in seen["requests"] if bad_key in url]
    assert seen["dialogs"] == []


def test_given_an_empty_key_when_signing_in_then_the_page_asks_for_one_without_calling_the_api(
        local_mode: LocalMode, page: Any) -> None:
    seen = open_page(page, local_mode.url)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#sign-in-error").text_content() == "Enter an API key."
    assert not [url for url in seen["requests"] if "/v1/" in url]


# --- the whole review (the reviews API lands beside this) -----------------------------------------

def test_given_a_run_paused_in_review_when_a_person_corrects_and_approves_in_the_browser_then_it_completes(
        local_mode: LocalMode, page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    api = local_mode.api
    execution_id = paused_run(api, b"Invoice Number: INV-1\nTotal: 12.50")
    seen = open_page(page, local_mode.url)
    signed_in(page, API_KEY)
    assert page.evaluate("Object.keys(sessionStorage)") == ["docflow.review.apiKey"]
    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="Open").click()

    total = page.get_by_label("total", exact=True)
    expect(total).to_be_visible()
    expect(page.locator("#document-text")).to_contain_text("Invoice Number: INV-1")
    # Tab walks the fields in the form's order: low-confidence ones first.
    names = page.locator("#fields input").evaluate_all("inputs => inputs.map(i => i.name)")
    assert sorted(names) == ["invoice_number", "total"]
    page.locator("#fields input").first.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == names[1]
    total.fill("13.75")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "review-task.png"))
    total.press("Control+Enter")

    expect(page.locator("#notice")).to_contain_text("Approved")
    expect(page.locator("#queue-view")).to_be_visible()
    run = api.wait(execution_id)
    assert run["status"] == "completed", run
    assert run["output"]["values"] == {"invoice_number": "INV-1", "total": 13.75}
    assert all(urlsplit(url)[:2] == urlsplit(local_mode.url)[:2] for url in seen["requests"])
    assert seen["errors"] == [] and seen["dialogs"] == []

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_given_a_document_and_values_with_markup_when_the_task_is_shown_then_both_render_as_text(
        local_mode: LocalMode, page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    injected = '"><img src=x onerror="window.__pwned=1;alert(1)">'
    text = ("<script>window.__pwned=1;alert(1)</script>\n"
            f"Invoice Number: {injected}\nTotal: 12.50").encode()
    paused_run(local_mode.api, text)
    seen = open_page(page, local_mode.url)
    signed_in(page, API_KEY)
    page.locator("#queue-rows tr").first.get_by_role("button", name="Open").click()

    invoice_number = page.get_by_label("invoice_number", exact=True)
    expect(invoice_number).to_be_visible()
    assert invoice_number.input_value() == injected
    document_text = page.locator("#document-text")
    expect(document_text).to_contain_text("<script>window.__pwned=1;alert(1)</script>")
    invoice_number.focus()  # the highlight rebuilds the text around a <mark> of source_text: still text
    assert document_text.locator("mark").count() <= 1
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1  # app.js only
    assert page.locator("#document-text *:not(mark)").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(artifacts / "xss.png"))
    assert seen["dialogs"] == [] and seen["errors"] == []


def test_given_a_pdf_in_review_when_a_field_is_focused_then_its_page_image_shows_the_word_box(
        local_mode: LocalMode, page: Any, artifacts: Path) -> None:
    """The document itself: each page a PNG rendered on the server, the focused field's box on it."""
    from playwright.sync_api import expect

    api = local_mode.api
    workflow = api.post("/v1/workflows", json=review_workflow(confidence_threshold=0.99)).json()
    document_id = api.upload("invoice-2041.pdf", invoice_pdf())
    started = api.post(f"/v1/workflows/{workflow['id']}/executions", json={"document_id": document_id})
    execution_id = started.json()["id"]
    assert api.wait(execution_id, until=("review", "completed", "failed"))["status"] == "review"
    seen = open_page(page, local_mode.url)
    signed_in(page, API_KEY)
    page.locator("#queue-rows tr").first.get_by_role("button", name="Open").click()

    image = page.locator("#pages figure[data-page='1'] img")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("document.querySelector(\"#pages img\").naturalWidth > 0")
    assert page.evaluate("document.querySelector('#pages img').naturalWidth") >= 1000  # rendered, not scaled up
    page.get_by_label("total", exact=True).focus()
    box = page.locator("#pages figure[data-page='1'] .bbox")
    expect(box).to_be_visible()
    frame, word = page.locator("#pages figure[data-page='1'] img").bounding_box(), box.bounding_box()
    assert frame is not None and word is not None
    # The box is where the extract step read the total: its bbox over the page's size.
    task = api.get("/v1/reviews", params={"workflow_id": workflow["id"]}).json()["items"][0]
    size = api.get(f"/v1/reviews/{task['id']}").json()["pages"][0]
    x0, top, x1, bottom = next(f["bbox"] for f in task["fields"] if f["name"] == "total")
    assert abs((word["x"] - frame["x"]) / frame["width"] - x0 / size["width"]) < 0.01
    assert abs((word["y"] - frame["y"]) / frame["height"] - top / size["height"]) < 0.01
    assert abs(word["width"] / frame["width"] - (x1 - x0) / size["width"]) < 0.01
    assert abs(word["height"] / frame["height"] - (bottom - top) / size["height"]) < 0.01
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "review-pdf.png"))
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert all(urlsplit(url)[:2] == urlsplit(local_mode.url)[:2] or url.startswith("blob:")
               for url in seen["requests"])


def test_given_tasks_of_two_workflows_when_the_queue_is_filtered_by_one_then_only_its_tasks_show(
        local_mode: LocalMode, page: Any) -> None:
    from playwright.sync_api import expect

    api = local_mode.api
    first, second = paused_run(api, b"Invoice Number: A-1\nTotal: 1.00"), paused_run(api, b"Invoice Number: B-1")
    wanted = api.get(f"/v1/executions/{second}").json()["workflow_id"]
    open_page(page, local_mode.url)
    signed_in(page, API_KEY)
    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(2)
    page.locator("#workflow-filter").fill(wanted)
    page.locator("#workflow-filter").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(wanted)
    page.get_by_role("button", name="Clear").click()
    expect(rows).to_have_count(2)
    assert first != second
