/**
 * The inspector page's script: plain browser JavaScript, no build step. It renders the live list
 * from the event stream (a snapshot, then one event per change) and one request's details from
 * the API. Everything shown is request data from strangers, so it only ever reaches the DOM as
 * text (textContent, text nodes), never as markup.
 *
 * Kept as a string: String.raw keeps its backslashes as written, and it uses no template
 * literals of its own, which would end or fill in this one.
 */
export const PAGE_SCRIPT = String.raw`"use strict";
(() => {
  const API = "/api/requests/http";
  /** id → summary, as the event stream sends them. */
  const summaries = new Map();
  let selectedId = null;
  /** The selected request's details, as GET /api/requests/http/:id returns them. */
  let detail = null;
  /** A replay asked for from this page: selected as soon as it is listed. */
  let awaitedReplay = null;
  let editing = false;
  let fetching = false;
  let refetch = false;
  let renderQueued = false;
  const bodyViews = { request: null, response: null };

  const $ = (id) => document.getElementById(id);

  /** An element with text children only: strings become text nodes, never markup. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "hidden" || key === "disabled") node[key] = true;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function formatDuration(ns) {
    const ms = ns / 1e6;
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function formatTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour12: false });
  }

  function statusClass(code, error, complete) {
    if (code) return "s" + String(code)[0];
    if (error) return "serr";
    return complete ? "serr" : "spending";
  }

  function statusText(s) {
    if (s.status_code) return String(s.status_code);
    if (s.error) return s.error.code;
    return s.complete ? "no response" : "…";
  }

  // ---- the list ----

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderList();
    });
  }

  function renderList() {
    const filter = $("filter").value.trim().toLowerCase();
    const rows = [...summaries.values()].sort((a, b) => (a.start === b.start ? (a.id < b.id ? 1 : -1) : a.start < b.start ? 1 : -1));
    const shown = rows.filter((s) => !filter || (s.method + " " + s.uri + " " + statusText(s)).toLowerCase().includes(filter));
    $("rows").replaceChildren(...shown.map(row));
    $("empty").hidden = rows.length > 0;
  }

  function row(s) {
    return el("tr", { "data-id": s.id, class: s.id === selectedId ? "selected" : "", onclick: () => select(s.id) },
      el("td", { class: "time", text: formatTime(s.start) }),
      el("td", { class: "method", text: s.method }),
      el("td", { class: "path", title: s.uri }, s.uri, s.replay_of ? el("span", { class: "badge", text: "replay" }) : null),
      el("td", { class: "status " + statusClass(s.status_code, s.error, s.complete), text: statusText(s) }),
      el("td", { class: "num", text: s.complete ? formatDuration(s.duration) : "…" }),
      el("td", { class: "num", text: formatBytes(s.response_bytes) }));
  }

  function connect() {
    const events = new EventSource(API + "/stream");
    const live = $("live");
    events.onopen = () => {
      live.textContent = "live";
      live.className = "live on";
    };
    events.onerror = () => {
      live.textContent = "reconnecting…";
      live.className = "live off";
    };
    events.addEventListener("snapshot", (e) => {
      summaries.clear();
      for (const s of JSON.parse(e.data)) summaries.set(s.id, s);
      changed();
    });
    events.addEventListener("exchange", (e) => {
      const s = JSON.parse(e.data);
      summaries.set(s.id, s);
      changed(s.id);
    });
    events.addEventListener("evicted", (e) => {
      summaries.delete(JSON.parse(e.data).id);
      scheduleRender();
    });
    events.addEventListener("cleared", () => {
      summaries.clear();
      changed();
    });
  }

  /** After the list changed (id: that request): render, select an awaited replay, refresh the details. */
  function changed(id) {
    scheduleRender();
    if (awaitedReplay && summaries.has(awaitedReplay)) {
      const replay = awaitedReplay;
      awaitedReplay = null;
      select(replay);
      return;
    }
    if (selectedId && (id === undefined || id === selectedId)) {
      if (!summaries.has(selectedId)) showDetail(null);
      else loadDetail();
    }
  }

  // ---- one request ----

  function select(id) {
    if (selectedId !== id) {
      editing = false;
      bodyViews.request = null;
      bodyViews.response = null;
    }
    selectedId = id;
    scheduleRender();
    loadDetail();
  }

  /** Fetches the selected request; one fetch at a time, again after it when changes came meanwhile. */
  async function loadDetail() {
    if (fetching) {
      refetch = true;
      return;
    }
    fetching = true;
    try {
      do {
        refetch = false;
        const id = selectedId;
        const res = await fetch(API + "/" + encodeURIComponent(id));
        if (id !== selectedId) continue;
        showDetail(res.ok ? await res.json() : null);
      } while (refetch);
    } catch (err) {
      showDetail(null, "could not load the request: " + err.message);
    } finally {
      fetching = false;
    }
  }

  function showDetail(x, problem) {
    detail = x;
    const pane = $("detail");
    $("no-selection").hidden = x !== null || selectedId !== null;
    if (!x) {
      pane.hidden = selectedId === null;
      pane.replaceChildren(el("p", { class: "empty", text: problem || "This request is no longer kept (the inspector keeps the latest ones only)." }));
      return;
    }
    // Keep what the user is typing: the edit form survives refreshes of the same request.
    const form = editing && pane.querySelector("form.edit");
    pane.hidden = false;
    pane.replaceChildren(
      el("div", { class: "detail-head" },
        el("h2", {}, el("span", { class: "method", text: x.request.method }), " ", x.request.uri),
        el("div", { class: "actions" },
          el("button", { id: "replay", type: "button", class: "primary", onclick: () => replay({ id: x.id }) }, "Replay"),
          el("button", { id: "edit", type: "button", onclick: toggleEdit }, "Replay with edits"))),
      el("p", { id: "replay-note", class: "note", hidden: true }),
      form || editForm(x),
      facts(x),
      message("Request", "request", x.request, true),
      x.response ? message("Response", "response", x.response, false) : el("section", { class: "message" }, el("h3", { text: "Response" }), el("p", { class: "note", text: x.complete ? "No response came." : "Waiting for the response…" })));
  }

  function facts(x) {
    const items = [];
    const add = (name, value) => items.push(el("dt", { text: name }), el("dd", {}, value));
    if (x.response) add("Status", el("span", { class: statusClass(x.response.status_code), text: x.response.status }));
    if (x.error) add("Error", el("span", { class: "serr", text: x.error.code + ": " + x.error.msg }));
    add("Duration", x.complete ? formatDuration(x.duration) : "in flight");
    add("Time", new Date(x.start).toLocaleString());
    add("Endpoint", x.endpoint_url);
    add("Upstream", x.upstream);
    add("Remote address", x.remote_addr);
    add("Trace ID", x.trace_id || "none");
    if (x.replay_of) add("Replay of", el("button", { type: "button", class: "link", onclick: () => select(x.replay_of) }, x.replay_of));
    add("ID", x.id);
    return el("dl", { class: "facts" }, items);
  }

  /** One side of the exchange: headers, query (requests), body. */
  function message(title, side, m, isRequest) {
    const parts = [el("h3", { text: title + (isRequest ? "" : " — " + m.status) })];
    parts.push(el("h4", { text: "Headers" }), headerTable(Object.entries(m.headers)));
    if (isRequest) {
      const q = m.uri.indexOf("?");
      if (q >= 0) parts.push(el("h4", { text: "Query" }), headerTable(groupPairs([...new URLSearchParams(m.uri.slice(q + 1))])));
    }
    parts.push(el("h4", { text: "Body" }), bodyView(side, m));
    return el("section", { class: "message", id: side }, parts);
  }

  function groupPairs(pairs) {
    const map = new Map();
    for (const [k, v] of pairs) map.set(k, [...(map.get(k) || []), v]);
    return [...map.entries()];
  }

  function headerTable(entries) {
    if (entries.length === 0) return el("p", { class: "note", text: "none" });
    return el("table", { class: "headers" }, entries.flatMap(([name, values]) => values.map((v) => el("tr", {}, el("td", { text: name }), el("td", { text: v })))));
  }

  /** The body out of "raw" (head, blank line, body; base64). */
  function bodyBytes(raw) {
    const bin = atob(raw);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    for (let i = 0; i + 3 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return bytes.slice(i + 4);
    }
    return new Uint8Array(0);
  }

  function decodeText(bytes) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return null;
    }
  }

  function contentType(headers) {
    return ((headers["Content-Type"] || [""])[0] || "").toLowerCase();
  }

  /** The views a body has: JSON (pretty), form (decoded fields), text, or hex for binary. */
  function viewsOf(m, bytes) {
    const text = decodeText(bytes);
    const type = contentType(m.headers);
    const views = [];
    if (text !== null && text.trim() !== "") {
      try {
        views.push(["JSON", () => el("pre", { class: "body", text: JSON.stringify(JSON.parse(text), null, 2) })]);
      } catch {}
      if (type.startsWith("application/x-www-form-urlencoded")) {
        views.push(["Form", () => headerTable(groupPairs([...new URLSearchParams(text)]))]);
      }
      views.push(["Text", () => el("pre", { class: "body", text: text })]);
    } else if (text === null) {
      views.push(["Hex", () => el("pre", { class: "body", text: hexDump(bytes.slice(0, 4096)) + (bytes.length > 4096 ? "\n…" : "") })]);
    }
    return views;
  }

  function hexDump(bytes) {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const chunk = [...bytes.slice(i, i + 16)];
      const hex = chunk.map((b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
      lines.push(i.toString(16).padStart(8, "0") + "  " + hex.padEnd(48) + "  " + ascii);
    }
    return lines.join("\n");
  }

  function bodyView(side, m) {
    const bytes = bodyBytes(m.raw);
    const notes = [];
    if (m.body_truncated) notes.push(el("p", { class: "note", text: "Truncated: the first " + formatBytes(bytes.length) + " of " + formatBytes(m.body_size) + " were captured." }));
    if (m.body_size === 0) return el("div", {}, el("p", { class: "note", text: "empty" }));
    const views = viewsOf(m, bytes);
    if (views.length === 0) return el("div", {}, notes, el("p", { class: "note", text: formatBytes(m.body_size) + " of whitespace" }));
    const chosen = views.find((v) => v[0] === bodyViews[side]) || views[0];
    const content = el("div", { class: "view" }, chosen[1]());
    const tabs = views.map(([name, render]) =>
      el("button", { type: "button", class: "tab" + (name === chosen[0] ? " active" : ""), onclick: (e) => {
        bodyViews[side] = name;
        for (const b of e.target.parentNode.children) b.classList.toggle("active", b === e.target);
        content.replaceChildren(render());
      } }, name));
    return el("div", {}, notes, el("div", { class: "views" }, tabs, el("span", { class: "note", text: formatBytes(m.body_size) })), content);
  }

  // ---- replay ----

  function editForm(x) {
    const headerLines = Object.entries(x.request.headers).flatMap(([name, values]) => values.map((v) => name + ": " + v)).join("\n");
    const originalBody = decodeText(bodyBytes(x.request.raw));
    const body = el("textarea", { id: "edit-body", rows: 6, name: "body" });
    body.value = originalBody === null ? "" : originalBody;
    const headers = el("textarea", { id: "edit-headers", rows: Math.min(14, Object.keys(x.request.headers).length + 2), name: "headers" });
    headers.value = headerLines;
    const method = el("input", { id: "edit-method", name: "method", value: x.request.method, required: "" });
    const path = el("input", { id: "edit-path", name: "path", value: x.request.uri, required: "" });
    const form = el("form", { class: "edit", hidden: !editing, onsubmit: (e) => {
      e.preventDefault();
      const edits = { id: x.id, method: method.value.trim(), path: path.value.trim() };
      const parsed = parseHeaderLines(headers.value, x.request.headers);
      if (typeof parsed === "string") return note(parsed, true);
      edits.headers = parsed;
      // An untouched body is left out, so a binary one (not shown) goes as captured.
      const bodyEdited = originalBody === null ? body.value !== "" : body.value !== originalBody || x.request.body_truncated;
      if (bodyEdited) edits.body = body.value;
      replay(edits);
    } },
      el("div", { class: "row" }, el("label", {}, "Method", method), el("label", {}, "Path and query", path)),
      el("label", {}, "Headers, one per line (Name: value); a line removed is a header removed", headers),
      el("label", {}, x.request.body_truncated ? "Body (the captured one was truncated; what is here is sent)" : "Body", body),
      el("div", { class: "buttons" },
        el("button", { id: "edit-send", type: "submit", class: "primary" }, "Send replay"),
        el("button", { type: "button", onclick: toggleEdit }, "Cancel")));
    return form;
  }

  /** "Name: value" lines → the API's headers edit: every name given, and null for captured names left out. */
  function parseHeaderLines(text, captured) {
    const out = {};
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const colon = line.indexOf(":");
      if (colon <= 0) return "Not a header line (Name: value): " + line;
      const name = line.slice(0, colon).trim();
      (out[name] = out[name] || []).push(line.slice(colon + 1).trim());
    }
    const given = new Set(Object.keys(out).map((n) => n.toLowerCase()));
    for (const name of Object.keys(captured)) if (!given.has(name.toLowerCase())) out[name] = null;
    return out;
  }

  function toggleEdit() {
    editing = !editing;
    const form = $("detail").querySelector("form.edit");
    if (form) form.hidden = !editing;
  }

  function note(text, isError) {
    const p = $("replay-note");
    if (!p) return;
    p.hidden = false;
    p.className = "note" + (isError ? " error" : "");
    p.textContent = text;
  }

  async function replay(body) {
    note("Replaying…");
    try {
      const res = await fetch(API, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (!res.ok) {
        const problem = await res.json().catch(() => ({ msg: res.statusText }));
        return note("Replay refused: " + problem.msg, true);
      }
      editing = false;
      awaitedReplay = res.headers.get("onramp-replay-id");
      changed();
    } catch (err) {
      note("Replay failed: " + err.message, true);
    }
  }

  $("filter").addEventListener("input", scheduleRender);
  $("clear").addEventListener("click", () => fetch(API, { method: "DELETE" }));
  connect();
})();
`;
