// The reviewers' page: sign in with an API key, pick a pending review task, check the values
// beside the document, approve or reject. Plain JavaScript, no build step, nothing from elsewhere.
//
// Safety rules of this file (document text and field values are untrusted):
//  - the DOM is built with createElement / textContent only, never innerHTML or similar;
//  - the API key lives in sessionStorage only: never in a URL, a cookie, or a log;
//  - styles are set through element.style (CSSOM), which the page's CSP allows, never a style attribute.
"use strict";

(() => {
  const KEY_STORAGE = "docflow.review.apiKey";
  const PAGE_SIZE = 20;
  // The API lives beside the page: /review -> /, /prod/review -> /prod/.
  const API_ROOT = location.pathname.replace(/review\/?$/, "");

  const $ = (id) => document.getElementById(id);
  const state = {
    key: null,
    workflowFilter: "",
    cursor: null, // the cursor of the queue page shown (null: the first page)
    nextCursor: null,
    workflowIds: new Set(),
    task: null, // the review task open, with its document and pages
    claimed: null, // id of the task this page holds a claim on
    blobUrls: [],
    inputs: new Map(), // field name -> {field, input, error, row}
    busy: false,
  };

  // --- DOM helpers ------------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("aria-") || name.startsWith("data-") || name === "for" || name === "role") {
        node.setAttribute(name, String(value));
      } else node[name] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function setMessage(node, message) {
    node.textContent = message || "";
    show(node, Boolean(message));
  }

  let noticeTimer = null;
  function notice(message) {
    const node = $("notice");
    setMessage(node, message);
    clearTimeout(noticeTimer);
    if (message) noticeTimer = setTimeout(() => setMessage(node, ""), 6000);
  }

  function showView(name) {
    for (const view of ["sign-in-view", "queue-view", "task-view"]) show($(view), view === name);
    const signedIn = name !== "sign-in-view";
    show($("sign-out"), signedIn);
    show($("who"), signedIn);
  }

  function formatTime(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function percent(value) {
    return `${Math.round(Number(value) * 100)}%`;
  }

  // --- the API ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || `the server answered ${status}`);
      this.status = status;
      this.code = (error && error.code) || "http_" + status;
      this.details = (error && Array.isArray(error.details) && error.details) || [];
    }
  }

  function apiUrl(path) {
    // API paths come as "/v1/..." (from the API) or "v1/...": both resolve beside the page.
    return API_ROOT + String(path).replace(/^\/+/, "");
  }

  async function request(method, path, body, key = state.key, accept = "application/json") {
    const init = {
      method,
      headers: { Authorization: `Bearer ${key}`, Accept: accept },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(apiUrl(path), init);
    } catch (exc) {
      throw new ApiError(0, { code: "network", message: "The server cannot be reached. Try again." });
    }
    return response;
  }

  async function api(method, path, body, key) {
    const response = await request(method, path, body, key);
    let payload = null;
    const text = await response.text();
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch (exc) {
        payload = null;
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, payload && payload.error);
      if (response.status === 401 && key === undefined && state.key) {
        signOut("Your API key is no longer accepted. Sign in again.");
      }
      throw error;
    }
    return payload;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  // --- sign in / out ----------------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const input = $("api-key");
    const key = input.value.trim();
    setMessage($("sign-in-error"), "");
    if (!key) {
      setMessage($("sign-in-error"), "Enter an API key.");
      input.focus();
      return;
    }
    try {
      // The queue itself is the check: it needs a valid key and answers what the page shows first.
      const page = await api("GET", "v1/reviews" + query({ status: "pending", limit: 1 }), undefined, key);
      void page;
    } catch (exc) {
      const message = exc.status === 401 || exc.status === 403
        ? "That API key was not accepted."
        : `Signing in failed: ${exc.message}`;
      setMessage($("sign-in-error"), message);
      input.select();
      return;
    }
    state.key = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    input.value = "";
    startSession();
  }

  function startSession() {
    $("who").textContent = `Signed in with key ${state.key.slice(0, 8)}…`;
    state.cursor = null;
    openQueue();
  }

  function signOut(message) {
    void releaseClaim(true);
    closeTask();
    state.key = null;
    state.cursor = null;
    state.nextCursor = null;
    state.workflowIds.clear();
    sessionStorage.removeItem(KEY_STORAGE);
    $("queue-rows").replaceChildren();
    showView("sign-in-view");
    setMessage($("sign-in-error"), typeof message === "string" ? message : "");
    $("api-key").focus();
  }

  // --- the queue --------------------------------------------------------------------------------

  function openQueue() {
    showView("queue-view");
    return loadQueue();
  }

  async function loadQueue() {
    setMessage($("queue-error"), "");
    let page;
    try {
      page = await api("GET", "v1/reviews" + query({
        status: "pending", workflow_id: state.workflowFilter, limit: PAGE_SIZE, cursor: state.cursor,
      }));
    } catch (exc) {
      if (state.key) setMessage($("queue-error"), `The queue could not be loaded: ${exc.message}`);
      return;
    }
    const items = Array.isArray(page && page.items) ? page.items : [];
    state.nextCursor = (page && page.next_cursor) || null;
    renderQueue(items);
  }

  function renderQueue(items) {
    const rows = items.map(queueRow);
    $("queue-rows").replaceChildren(...rows);
    show($("queue"), rows.length > 0);
    show($("queue-empty"), rows.length === 0);
    $("next-page").disabled = !state.nextCursor;
    $("first-page").disabled = state.cursor === null;
    for (const item of items) if (item.workflow_id) state.workflowIds.add(String(item.workflow_id));
    $("workflow-ids").replaceChildren(...[...state.workflowIds].sort().map((id) => el("option", { value: id })));
  }

  function queueRow(task) {
    const fields = Array.isArray(task.fields) ? task.fields : [];
    const attention = fields.filter((f) => f.low_confidence);
    const attentionCell = attention.length
      ? el("td", {}, el("span", { class: "badge", text: String(attention.length) }), " ",
        attention.map((f) => String(f.name)).join(", "))
      : el("td", { class: "muted", text: "none" });
    const due = task.due_at ? new Date(task.due_at) : null;
    const soon = due && due.getTime() - Date.now() < 60 * 60 * 1000;
    const open = el("button", { type: "button", text: "Open", "aria-label": `Open review of ${task.document_id}` });
    open.addEventListener("click", () => openTask(task.id));
    return el("tr", { "data-review-id": task.id },
      el("td", { class: "id", text: String(task.workflow_id ?? "") }),
      el("td", { class: "id", text: String(task.document_id ?? "") }),
      el("td", { text: formatTime(task.created_at) }),
      el("td", { class: soon ? "due-soon" : undefined, text: formatTime(task.due_at) }),
      attentionCell,
      el("td", {}, open));
  }

  function applyFilter(event) {
    event.preventDefault();
    state.workflowFilter = $("workflow-filter").value.trim();
    state.cursor = null;
    loadQueue();
  }

  // --- one task ---------------------------------------------------------------------------------

  async function openTask(id) {
    if (state.busy) return;
    state.busy = true;
    setMessage($("queue-error"), "");
    try {
      await api("POST", `v1/reviews/${encodeURIComponent(id)}/claim`);
      state.claimed = id;
      const task = await api("GET", `v1/reviews/${encodeURIComponent(id)}`);
      state.task = task;
      renderTask(task);
      showView("task-view");
      const first = $("fields").querySelector("input");
      if (first) first.focus();
    } catch (exc) {
      if (!state.key) return;
      const message = exc.status === 409
        ? "Someone else is reviewing this document, or it is no longer pending."
        : `The review could not be opened: ${exc.message}`;
      await releaseClaim(false);
      closeTask();
      showView("queue-view");
      setMessage($("queue-error"), message);
      loadQueue();
    } finally {
      state.busy = false;
    }
  }

  function closeTask() {
    for (const url of state.blobUrls) URL.revokeObjectURL(url);
    state.blobUrls = [];
    state.task = null;
    state.inputs.clear();
    $("pages").replaceChildren();
    $("fields").replaceChildren();
    setMessage($("task-error"), "");
  }

  async function releaseClaim(leaving) {
    const id = state.claimed;
    state.claimed = null;
    if (!id || !state.key) return;
    const path = `v1/reviews/${encodeURIComponent(id)}/release`;
    try {
      if (leaving) {
        // keepalive: the request outlives the page when the tab is closed.
        await fetch(apiUrl(path), { method: "POST", keepalive: true, credentials: "omit",
          headers: { Authorization: `Bearer ${state.key}` } });
      } else {
        await request("POST", path);
      }
    } catch (exc) {
      // The claim expires by itself after 15 minutes.
    }
  }

  async function backToQueue() {
    await releaseClaim(false);
    closeTask();
    await openQueue();
  }

  function renderTask(task) {
    const doc = task.document || {};
    $("document-name").textContent = doc.name || task.document_id || "Document";
    const threshold = task.confidence_threshold;
    $("task-meta").textContent = [
      `Workflow ${task.workflow_id}`,
      `created ${formatTime(task.created_at)}`,
      `due ${formatTime(task.due_at)}`,
      threshold === null || threshold === undefined ? null : `threshold ${percent(threshold)}`,
    ].filter(Boolean).join(" · ");
    renderDocument(task);
    renderFields(task);
  }

  function renderDocument(task) {
    const container = $("pages");
    const pages = Array.isArray(task.pages) ? task.pages : [];
    const doc = task.document || {};
    if (pages.length === 0) {
      const pre = el("pre", { class: "text-document", id: "document-text" });
      pre.textContent = doc.text ?? "This document has no text or page images to show.";
      container.replaceChildren(pre);
      return;
    }
    container.replaceChildren(...pages.map((page) => {
      const img = el("img", { alt: `Page ${page.number}`, decoding: "async" });
      const box = el("div", { class: "bbox", "aria-hidden": "true" });
      box.hidden = true;
      const figure = el("figure", { class: "page", "data-page": page.number },
        el("div", { class: "page-frame" }, img, box),
        el("figcaption", { text: `Page ${page.number} of ${pages.length}` }));
      loadPageImage(task.id, page, img, figure);
      return figure;
    }));
  }

  async function loadPageImage(taskId, page, img, figure) {
    try {
      const response = await request("GET", page.image_url, undefined, state.key, "image/png");
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      if (!state.task || state.task.id !== taskId) return; // left the task meanwhile
      const url = URL.createObjectURL(blob);
      state.blobUrls.push(url);
      img.src = url;
    } catch (exc) {
      figure.classList.add("failed");
      img.alt = `Page ${page.number} could not be loaded`;
    }
  }

  function highlight(field) {
    const task = state.task;
    if (!task) return;
    for (const box of document.querySelectorAll("#pages .bbox")) box.hidden = true;
    const pre = $("document-text");
    if (pre) {
      markText(pre, (task.document && task.document.text) || "", field.source_text);
      return;
    }
    const pages = Array.isArray(task.pages) ? task.pages : [];
    const page = pages.find((p) => p.number === field.page);
    const bbox = Array.isArray(field.bbox) && field.bbox.length === 4 ? field.bbox.map(Number) : null;
    if (!page || !bbox || !(page.width > 0) || !(page.height > 0)) return;
    const figure = document.querySelector(`#pages figure[data-page="${Number(page.number)}"]`);
    if (!figure) return;
    const box = figure.querySelector(".bbox");
    const [x0, top, x1, bottom] = bbox;
    box.style.left = `${(x0 / page.width) * 100}%`;
    box.style.top = `${(top / page.height) * 100}%`;
    box.style.width = `${(Math.max(0, x1 - x0) / page.width) * 100}%`;
    box.style.height = `${(Math.max(0, bottom - top) / page.height) * 100}%`;
    box.hidden = false;
    box.scrollIntoView({ block: "center", inline: "nearest" });
  }

  function markText(pre, text, needle) {
    // Text nodes around one <mark>: the document text is never parsed as markup.
    const at = needle ? text.indexOf(String(needle)) : -1;
    if (at < 0) {
      pre.replaceChildren(document.createTextNode(text));
      return;
    }
    const mark = el("mark", { text: text.slice(at, at + String(needle).length) });
    pre.replaceChildren(document.createTextNode(text.slice(0, at)), mark,
      document.createTextNode(text.slice(at + String(needle).length)));
    mark.scrollIntoView({ block: "center", inline: "nearest" });
  }

  // --- the form ---------------------------------------------------------------------------------

  function orderedFields(task) {
    const fields = Array.isArray(task.fields) ? task.fields : [];
    // Low-confidence fields first, each group in the workflow's order.
    return [...fields.filter((f) => f.low_confidence), ...fields.filter((f) => !f.low_confidence)];
  }

  function renderFields(task) {
    state.inputs.clear();
    const current = task.values && typeof task.values === "object" ? task.values : null;
    $("fields").replaceChildren(...orderedFields(task).map((field, index) => {
      const value = current && field.name in current ? current[field.name] : field.predicted;
      return fieldRow(field, value, index);
    }));
  }

  function fieldRow(field, value, index) {
    const id = `field-${index}`;
    const type = String(field.type || "string");
    const input = inputFor(type, value);
    input.id = id;
    input.name = String(field.name);
    input.dataset.field = String(field.name);
    if (field.required) input.required = true;
    const meta = el("p", { class: "field-meta", id: `${id}-meta` });
    if (field.low_confidence) {
      meta.append(el("span", { class: "badge warn", text: "Low confidence" }), " ");
    }
    if (field.confidence !== null && field.confidence !== undefined) {
      meta.append(`Confidence ${percent(field.confidence)}`);
    }
    meta.append(` · ${type}${field.required ? " · required" : ""}`);
    const hint = field.source_text
      ? el("p", { class: "source", id: `${id}-source` }, "Found in document: ",
        el("q", { text: String(field.source_text) }))
      : null;
    const error = el("p", { class: "field-error", id: `${id}-error`, role: "alert" });
    error.hidden = true;
    const describedBy = [meta.id, hint ? hint.id : null, error.id].filter(Boolean).join(" ");
    input.setAttribute("aria-describedby", describedBy);
    const label = el("label", { for: id, text: String(field.name) });
    const row = el("div", { class: field.low_confidence ? "field low" : "field" },
      type === "boolean" ? el("div", { class: "check" }, input, label) : label,
      type === "boolean" ? null : input, meta, hint, error);
    input.addEventListener("focus", () => highlight(field));
    state.inputs.set(String(field.name), { field, input, error, row });
    return row;
  }

  function inputFor(type, value) {
    switch (type) {
      case "number":
      case "currency": {
        const input = el("input", { type: "number", step: "any", inputMode: "decimal" });
        input.value = typeof value === "number" && Number.isFinite(value) ? String(value) : "";
        return input;
      }
      case "date": {
        const input = el("input", { type: "date" });
        input.value = typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : "";
        return input;
      }
      case "boolean": {
        const input = el("input", { type: "checkbox" });
        input.checked = value === true;
        // No value yet: shown as neither, and sent as null until the reviewer decides.
        input.indeterminate = value === null || value === undefined;
        input.addEventListener("change", () => { input.dataset.touched = "1"; });
        return input;
      }
      case "list": {
        const input = el("input", { type: "text", autocomplete: "off", spellcheck: false,
          placeholder: "comma-separated" });
        input.value = Array.isArray(value) ? value.map(String).join(", ") : value == null ? "" : String(value);
        return input;
      }
      default: {
        const input = el("input", { type: "text", autocomplete: "off", spellcheck: false });
        input.value = value === null || value === undefined ? "" : String(value);
        return input;
      }
    }
  }

  function readValue(field, input) {
    const type = String(field.type || "string");
    switch (type) {
      case "number":
      case "currency":
        if (input.validity.badInput) return { error: "Enter a number." };
        return { value: input.value === "" ? null : input.valueAsNumber };
      case "date":
        if (input.validity.badInput) return { error: "Enter a full date." };
        return { value: input.value || null };
      case "boolean":
        if (input.indeterminate && !input.dataset.touched) return { value: null };
        return { value: input.checked };
      case "list": {
        const items = input.value.split(",").map((s) => s.trim()).filter(Boolean);
        return { value: items.length || Array.isArray(field.predicted) ? items : null };
      }
      default:
        return { value: input.value === "" ? null : input.value };
    }
  }

  function clearFieldErrors() {
    for (const { input, error, row } of state.inputs.values()) {
      setMessage(error, "");
      input.removeAttribute("aria-invalid");
      row.classList.remove("invalid");
    }
    setMessage($("task-error"), "");
  }

  function fieldError(name, message) {
    const entry = state.inputs.get(String(name));
    if (!entry) return false;
    setMessage(entry.error, message);
    entry.input.setAttribute("aria-invalid", "true");
    entry.row.classList.add("invalid");
    return true;
  }

  function focusFirstInvalid() {
    const invalid = $("fields").querySelector("[aria-invalid='true']");
    if (invalid) invalid.focus();
  }

  async function approve() {
    if (!state.task || state.busy) return;
    clearFieldErrors();
    const values = {};
    let bad = false;
    for (const [name, { field, input }] of state.inputs) {
      const read = readValue(field, input);
      if (read.error) bad = fieldError(name, read.error) || bad;
      else values[name] = read.value;
    }
    if (bad) {
      focusFirstInvalid();
      return;
    }
    const task = state.task;
    state.busy = true;
    try {
      await api("POST", `v1/reviews/${encodeURIComponent(task.id)}/complete`, { values });
    } catch (exc) {
      state.busy = false;
      showSubmitError(exc);
      return;
    }
    state.busy = false;
    state.claimed = null; // completing ends the claim with the task
    closeTask();
    notice(`Approved the review of ${task.document && task.document.name ? task.document.name : task.document_id}.`);
    openQueue();
  }

  function showSubmitError(exc) {
    if (!state.key) return;
    if (exc.status === 422 && exc.details.length) {
      const general = [];
      for (const detail of exc.details) {
        const loc = Array.isArray(detail.loc) ? detail.loc : [];
        const name = detail.field ?? (loc[0] === "body" && loc[1] === "values" ? loc[2] : undefined);
        const message = String(detail.msg || detail.message || "invalid value");
        if (name === undefined || !fieldError(name, message)) general.push(name ? `${name}: ${message}` : message);
      }
      setMessage($("task-error"), general.length ? general.join(" · ") : "Some values need fixing.");
      focusFirstInvalid();
      return;
    }
    const message = exc.status === 409
      ? `This review cannot be changed any more: ${exc.message}`
      : `Saving failed: ${exc.message}`;
    setMessage($("task-error"), message);
  }

  function askReject() {
    if (!state.task || state.busy) return;
    setMessage($("reject-error"), "");
    $("reject-reason").value = "";
    $("reject-dialog").showModal();
    $("reject-reason").focus();
  }

  async function reject(event) {
    event.preventDefault();
    const reason = $("reject-reason").value.trim();
    if (!reason) {
      setMessage($("reject-error"), "Say why the document is rejected.");
      $("reject-reason").focus();
      return;
    }
    const task = state.task;
    if (!task || state.busy) return;
    state.busy = true;
    try {
      await api("POST", `v1/reviews/${encodeURIComponent(task.id)}/reject`, { reason });
    } catch (exc) {
      state.busy = false;
      setMessage($("reject-error"), `Rejecting failed: ${exc.message}`);
      return;
    }
    state.busy = false;
    $("reject-dialog").close();
    state.claimed = null;
    closeTask();
    notice(`Rejected the review of ${task.document && task.document.name ? task.document.name : task.document_id}.`);
    openQueue();
  }

  // --- wiring -----------------------------------------------------------------------------------

  function onKeyDown(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("task-view").hidden
        && !$("reject-dialog").open) {
      event.preventDefault();
      approve();
    }
  }

  function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut(""));
    $("filter-form").addEventListener("submit", applyFilter);
    $("filter-clear").addEventListener("click", () => {
      $("workflow-filter").value = "";
      state.workflowFilter = "";
      state.cursor = null;
      loadQueue();
    });
    $("refresh").addEventListener("click", () => loadQueue());
    $("next-page").addEventListener("click", () => {
      if (!state.nextCursor) return;
      state.cursor = state.nextCursor;
      loadQueue();
    });
    $("first-page").addEventListener("click", () => {
      state.cursor = null;
      loadQueue();
    });
    $("back").addEventListener("click", backToQueue);
    // Approve is a click or Ctrl+Enter only: a plain Enter in a field must not approve by accident.
    $("review-form").addEventListener("submit", (event) => event.preventDefault());
    $("approve").addEventListener("click", () => approve());
    $("reject").addEventListener("click", askReject);
    $("reject-form").addEventListener("submit", reject);
    $("reject-cancel").addEventListener("click", () => $("reject-dialog").close());
    document.addEventListener("keydown", onKeyDown);
    // Leaving the page while a task is open hands it back to the queue at once.
    window.addEventListener("pagehide", () => { void releaseClaim(true); });

    state.key = sessionStorage.getItem(KEY_STORAGE);
    if (state.key) startSession();
    else {
      showView("sign-in-view");
      $("api-key").focus();
    }
  }

  start();
})();
