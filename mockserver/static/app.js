// The AINative mock inspector. Everything here goes through the control API (/_mock/...), so
// whatever this page does can be done with curl too. Content from requests is only ever put
// in the page as text (textContent), never as HTML.
"use strict";

const BASE = window.location.origin;
const TOKEN_KEY = "ainative-mock-admin-token";
const MAX_ROWS = 500;
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  entries: new Map(), // seq -> entry
  selected: null,
  snippet: "curl",
  live: null,
};

// -- small DOM helpers -------------------------------------------------------------------
function $(selector) {
  return document.querySelector(selector);
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(message, kind) {
  const box = $("#toast");
  box.textContent = message;
  box.className = "toast " + (kind || "info");
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), kind === "error" ? 8000 : 3000);
}

// -- the control API -----------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function errorMessage(body, status) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail) && body.detail.length) return body.detail.map((d) => d.msg).join("; ");
    if (body.error && body.error.message) return body.error.message;
    if (typeof body.message === "string") return body.message;
  }
  return "HTTP " + status;
}

function controlHeaders(extra) {
  const headers = Object.assign({}, extra);
  if (state.token) headers["X-Admin-Token"] = state.token;
  return headers;
}

async function api(method, path, body) {
  const init = { method, cache: "no-store", headers: controlHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, errorMessage(data, response.status));
    if (response.status === 401 || response.status === 403) askForToken(error.message);
    throw error;
  }
  return data;
}

function askForToken(why) {
  $("#token-why").textContent = why;
  $("#token-bar").hidden = false;
}

async function act(what, promise) {
  try {
    const result = await promise;
    toast(what, "ok");
    return result;
  } catch (error) {
    toast(what + " failed: " + error.message, "error");
    return null;
  }
}

// -- connection snippets ----------------------------------------------------------------------
const SNIPPETS = {
  curl: () => `curl -sS ${BASE}/api/v1/chat/completions \\
  -H "Content-Type: application/json" -H "X-API-Key: ak_your_key" \\
  -d '{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}'

# streamed (SSE)
curl -N ${BASE}/api/v1/chat/completions \\
  -H "Content-Type: application/json" -H "X-API-Key: ak_your_key" \\
  -d '{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "Count to 5"}]}'`,
  python: () => `from openai import OpenAI

client = OpenAI(base_url="${BASE}/api/v1", api_key="ak_your_key")
reply = client.chat.completions.create(
    model="gpt-4o", messages=[{"role": "user", "content": "Hello"}]
)
print(reply.choices[0].message.content)

for chunk in client.chat.completions.create(
    model="gpt-4o", messages=[{"role": "user", "content": "Count to 5"}], stream=True
):
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="")`,
  fetch: () => `const response = await fetch("${BASE}/api/v1/chat/completions", {
  method: "POST",
  headers: { "Content-Type": "application/json", "X-API-Key": "ak_your_key" },
  body: JSON.stringify({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: "Count to 5" }] }),
});
if (!response.ok) {
  const body = await response.json().catch(() => ({}));
  throw new Error(body.detail ?? body.error?.message ?? \`HTTP \${response.status}\`);
}
const reader = response.body.getReader();
const decoder = new TextDecoder();
let buffer = "", text = "";
for (;;) {
  const { done, value } = await reader.read(); // throws if the connection drops
  if (done) break;
  buffer += decoder.decode(value, { stream: true });
  const events = buffer.split("\\n\\n");
  buffer = events.pop();
  for (const event of events) {
    const data = event.replace(/^data: /, "");
    if (data === "[DONE]") continue;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new Error(chunk.error.message); // in-band error frame
    text += chunk.choices[0]?.delta?.content ?? "";
  }
}
console.log(text);`,
  react: () => `import { AINativeProvider, useChat, useCredits } from "@ainative/react-sdk";

export function App() {
  return (
    <AINativeProvider config={{ apiKey: "ak_your_key", baseUrl: "${BASE}/api/v1" }}>
      <Chat />
      <Credits />
    </AINativeProvider>
  );
}

function Chat() {
  const { messages, sendMessage, isLoading, error } = useChat({ model: "gpt-4o" });
  return (
    <div>
      {messages.map((m, i) => <p key={i}><b>{m.role}:</b> {m.content}</p>)}
      {error && <p>Error: {error.message}</p>}
      <button disabled={isLoading} onClick={() => sendMessage([...messages, { role: "user", content: "Hello" }])}>
        Send
      </button>
    </div>
  );
}

function Credits() {
  const { balance } = useCredits();
  return <p>Credits: {balance?.remaining_credits} ({balance?.plan})</p>;
}`,
};

function showSnippet(name) {
  state.snippet = name;
  for (const tab of document.querySelectorAll("[data-snippet]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.snippet === name));
  }
  $("#snippet").textContent = SNIPPETS[name]();
}

function initConnection() {
  $("#base-url").textContent = BASE;
  for (const node of document.querySelectorAll("[data-fill=base]")) {
    node.textContent = BASE + node.textContent;
  }
  for (const tab of document.querySelectorAll("[data-snippet]")) {
    tab.addEventListener("click", () => showSnippet(tab.dataset.snippet));
  }
  $("#copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#snippet").textContent);
      toast("Copied", "ok");
    } catch (_) {
      toast("Select the snippet and copy it (clipboard not available here)", "info");
    }
  });
  showSnippet("curl");
}

// -- live journal ---------------------------------------------------------------------------------
function fmtTime(at) {
  if (!at) return "";
  const d = new Date(at * 1000);
  return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function fmtNumber(n) {
  if (n === null || n === undefined) return "";
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 4 });
}

function faultLabel(fault) {
  if (!fault) return "";
  const name = fault.fault || fault.name || "fault";
  const parts = [name === "http_error" && fault.status ? String(fault.status) : name];
  if (fault.retry_after !== undefined && fault.retry_after !== null) parts.push("retry " + fault.retry_after + "s");
  if (fault.after_chunks !== undefined && fault.after_chunks !== null) parts.push("after " + fault.after_chunks);
  if (fault.ms) parts.push(fault.ms + " ms");
  if (fault.source) parts.push("(" + fault.source + ")");
  return parts.join(" ");
}

function statusClass(entry) {
  if (entry.disconnected) return "s-cut";
  if (entry.status >= 500) return "s-5xx";
  if (entry.status >= 400) return "s-4xx";
  return "s-ok";
}

function entryRow(entry) {
  const tokens = entry.usage && entry.status < 400 ? entry.usage.total_tokens : ""; // a refused request used none
  const stream = entry.stream ? (entry.disconnected ? "cut" : "SSE " + entry.chunks_sent) : "";
  const row = el(
    "tr",
    { dataset: { seq: entry.seq }, class: statusClass(entry), tabindex: "0", onclick: () => select(entry.seq) },
    el("td", { class: "num" }, entry.seq),
    el("td", { class: "mono" }, fmtTime(entry.at)),
    el("td", {}, entry.method),
    el("td", { class: "mono route", title: entry.path }, entry.path),
    el("td", { class: "model", title: entry.model || "" }, entry.model || ""),
    el("td", { class: "status" }, entry.status),
    el("td", {}, stream),
    el("td", { class: "fault" }, faultLabel(entry.fault)),
    el("td", { class: "num" }, tokens),
    el("td", { class: "num" }, entry.charged ? fmtNumber(entry.charged) : ""),
    el("td", { class: "num" }, entry.duration_ms.toFixed(1) + " ms"),
    el("td", { class: "mono" }, entry.key || ""),
  );
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter") select(entry.seq);
  });
  return row;
}

// A stream under way (event: started): a row of its own until its entry arrives with the same request id.
function addStarted(info) {
  const row = el(
    "tr",
    { dataset: { requestId: info.request_id }, class: "in-flight", title: "streaming: the entry comes when the stream ends" },
    el("td", { class: "num" }, "…"),
    el("td", { class: "mono" }, fmtTime(info.at)),
    el("td", {}, info.method),
    el("td", { class: "mono route", title: info.path }, info.path),
    el("td", { class: "model", title: info.model || "" }, info.model || ""),
    el("td", { class: "status" }, "…"),
    el("td", {}, "streaming…"),
    el("td", {}, ""),
    el("td", {}, ""),
    el("td", {}, ""),
    el("td", {}, ""),
    el("td", { class: "mono" }, info.key || ""),
  );
  $("#entries").prepend(row);
  updateJournalCount();
}

function dropStarted(requestId) {
  for (const row of $("#entries").querySelectorAll("tr.in-flight")) {
    if (row.dataset.requestId === requestId) row.remove();
  }
  updateJournalCount();
}

function addEntry(entry) {
  const body = $("#entries");
  if (entry.request_id) dropStarted(entry.request_id);
  const existing = body.querySelector(`tr[data-seq="${entry.seq}"]`);
  state.entries.set(entry.seq, entry);
  const row = entryRow(entry);
  if (existing) existing.replaceWith(row);
  else body.prepend(row);
  while (body.rows.length > MAX_ROWS) {
    const last = body.rows[body.rows.length - 1];
    state.entries.delete(Number(last.dataset.seq));
    last.remove();
  }
  if (state.selected === entry.seq) row.classList.add("selected");
  updateJournalCount();
}

function clearEntries() {
  state.entries.clear();
  state.selected = null;
  $("#entries").replaceChildren();
  $("#detail").replaceChildren(el("p", { class: "empty" }, "Click a request to see its body and the response or stream events."));
  updateJournalCount();
}

function updateJournalCount() {
  const n = state.entries.size;
  const streaming = $("#entries").querySelectorAll("tr.in-flight").length;
  const parts = [n ? `${n} shown` : "", streaming ? `${streaming} streaming` : ""].filter(Boolean);
  $("#journal-count").textContent = parts.join(", ");
  $("#journal-empty").hidden = n + streaming > 0;
}

function pretty(value) {
  if (value === null || value === undefined) return "(none)";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

function select(seq) {
  const entry = state.entries.get(seq);
  if (!entry) return;
  state.selected = seq;
  for (const row of document.querySelectorAll("#entries tr.selected")) row.classList.remove("selected");
  const row = document.querySelector(`#entries tr[data-seq="${seq}"]`);
  if (row) row.classList.add("selected");
  const facts = el(
    "dl",
    { class: "facts" },
    el("dt", {}, "request id"), el("dd", { class: "mono" }, entry.request_id || "—"),
    el("dt", {}, "status"), el("dd", {}, entry.status + (entry.disconnected ? " (client went away)" : "")),
    el("dt", {}, "key"), el("dd", { class: "mono" }, entry.key || "—"),
    el("dt", {}, "usage"), el("dd", {}, entry.usage ? `${entry.usage.prompt_tokens} prompt + ${entry.usage.completion_tokens} completion` : "—"),
    el("dt", {}, "charged"), el("dd", {}, fmtNumber(entry.charged) + " credits"),
    el("dt", {}, "timing"), el("dd", {}, `first byte ${entry.ttfb_ms.toFixed(1)} ms, last ${entry.duration_ms.toFixed(1)} ms`),
    el("dt", {}, "fault"), el("dd", {}, faultLabel(entry.fault) || "—"),
  );
  const parts = [
    el("h3", {}, `#${entry.seq} ${entry.method} ${entry.path}`),
    facts,
    el("h4", {}, "Request body"),
    el("pre", { class: "body request-body" }, pretty(entry.body)),
  ];
  if (entry.events) {
    parts.push(el("h4", {}, `Stream events (${entry.events.length})`));
    parts.push(el("pre", { class: "body stream-events" }, entry.events.map((e) => e.trimEnd()).join("\n")));
  } else {
    parts.push(el("h4", {}, "Response"));
    parts.push(el("pre", { class: "body response-body" }, pretty(entry.response)));
  }
  $("#detail").replaceChildren(...parts);
}

function setLive(on, text) {
  const live = $("#live");
  live.className = "live " + (on ? "on" : "off");
  live.textContent = text;
}

function handleEvent(name, data) {
  if (name === "hello") {
    clearEntries();
  } else if (name === "changed") {
    refreshSoon();
  } else if (name === "reset") {
    clearEntries();
    refreshSoon();
  } else if (name === "request") {
    addEntry(JSON.parse(data));
    refreshSoon();
  } else if (name === "started") {
    addStarted(JSON.parse(data));
  }
}

// The journal is pushed by the server over SSE (GET /_mock/events); read with fetch so that the
// admin token can go in a header. On a drop it reconnects and gets the journal afresh.
async function followJournal() {
  for (;;) {
    const controller = new AbortController();
    state.live = controller;
    try {
      const response = await fetch("/_mock/events", { headers: controlHeaders({ Accept: "text/event-stream" }), cache: "no-store", signal: controller.signal });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        const message = errorMessage(body, response.status);
        if (response.status === 401 || response.status === 403) askForToken(message);
        setLive(false, "journal off: " + message);
        await sleep(3000);
        continue;
      }
      setLive(true, "live");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        for (const block of blocks) {
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) handleEvent(name, data.join("\n"));
        }
      }
      setLive(false, "reconnecting…");
    } catch (error) {
      setLive(false, "mock unreachable, retrying…");
    }
    await sleep(1000);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- ledger -----------------------------------------------------------------------------------------
function planSelect(current) {
  const select = el("select", { name: "plan", "aria-label": "plan" }, el("option", { value: "" }, "—"));
  for (const plan of ["free", "basic", "pro", "enterprise"]) {
    select.append(el("option", { value: plan }, plan));
  }
  if (current && !["free", "basic", "pro", "enterprise"].includes(current)) select.append(el("option", { value: current }, current));
  return select;
}

function numberInput(name, placeholder) {
  return el("input", { name, type: "number", min: "0", step: "1", size: "7", placeholder: placeholder ?? "", "aria-label": name });
}

function readNumbers(inputs) {
  const body = {};
  for (const input of inputs) {
    if (input.value === "") continue;
    body[input.name] = input.name === "plan" ? input.value : Number(input.value);
  }
  return body;
}

function accountSummary(account) {
  return [account.plan + (account.unlimited ? " ∞" : ""), `${fmtNumber(account.remaining_credits)} / ${fmtNumber(account.total_credits)}`];
}

// Rows are updated in place, so what someone is typing into a row survives the refreshes that
// every request brings; a row is rebuilt only after its own Save.
function accountRow(account) {
  const credits = numberInput("credits", String(account.total_credits));
  const plan = planSelect(account.plan);
  const rpm = numberInput("rpm", account.rpm ?? "");
  const tpm = numberInput("tpm", account.tpm ?? "");
  const save = el("button", { type: "button", class: "small" }, "Save");
  const [planText, balance] = accountSummary(account);
  const row = el(
    "tr",
    { dataset: { account: account.id } },
    el("td", { class: "mono key" }, account.key),
    el("td", { class: "plan" }, planText),
    el("td", { class: "num balance" }, balance),
    el("td", {}, credits),
    el("td", {}, plan),
    el("td", {}, rpm),
    el("td", {}, tpm),
    el("td", {}, save),
  );
  save.addEventListener("click", async () => {
    const change = readNumbers([credits, plan, rpm, tpm]);
    if (!Object.keys(change).length) return toast("Nothing to change: type a value first", "info");
    const result = await act(`Saved ${account.key}`, api("PUT", `/_mock/accounts/${encodeURIComponent(account.id)}`, change));
    if (result) {
      row.remove(); // rebuilt with the new values as placeholders
      renderAccounts(result);
    }
  });
  return row;
}

function renderAccounts(data) {
  const body = $("#accounts");
  const rows = new Map([...body.rows].map((row) => [row.dataset.account, row]));
  const seen = new Set();
  for (const account of data.accounts) {
    seen.add(account.id);
    const row = rows.get(account.id);
    if (!row) {
      body.append(accountRow(account));
      continue;
    }
    const [planText, balance] = accountSummary(account);
    row.querySelector(".plan").textContent = planText;
    row.querySelector(".balance").textContent = balance;
    row.querySelector("input[name=credits]").placeholder = String(account.total_credits);
  }
  for (const [id, row] of rows) if (!seen.has(id)) row.remove();
  $("#ledger-empty").hidden = data.accounts.length > 0;
  const magic = $("#magic");
  magic.replaceChildren();
  for (const [key, answer] of Object.entries(data.magic_keys)) {
    magic.append(el("tr", {}, el("td", { class: "mono" }, "key " + key), el("td", {}, answer)));
  }
  for (const [model, answer] of Object.entries(data.magic_models)) {
    magic.append(el("tr", {}, el("td", { class: "mono" }, "model " + model), el("td", {}, answer)));
  }
}

async function refreshAccounts() {
  renderAccounts(await api("GET", "/_mock/accounts"));
}

function initKeyForm() {
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const key = form.elements.key.value.trim();
    const change = readNumbers([form.elements.credits, form.elements.plan, form.elements.rpm, form.elements.tpm]);
    const done = await act("Key set", api("PUT", `/_mock/keys/${encodeURIComponent(key)}`, change));
    if (done) {
      form.reset();
      refreshAccounts().catch(() => {});
    }
  });
}

// -- faults -----------------------------------------------------------------------------------------
function faultBody(kind) {
  const times = Number($("#f-times").value || 1);
  const after = Number($("#f-after").value || 0);
  switch (kind) {
    case "429":
      return { fault: "http_error", status: 429, retry_after: Number($("#f-retry").value || 0), times };
    case "402":
      return { fault: "http_error", status: 402, times };
    case "503":
      return { fault: "http_error", status: 503, retry_after: Number($("#f-retry").value || 0), times };
    case "disconnect":
      return { fault: "disconnect", after_chunks: after, times };
    case "malformed_chunk":
    case "error_frame":
      return { fault: kind, after_chunks: Math.max(after, 1), times };
    case "stall":
      return { fault: "stall", ms: Number($("#f-ms").value || 0), after_chunks: Math.max(after, 1), times };
    default:
      throw new Error("unknown fault " + kind);
  }
}

function renderPending(pending) {
  const list = $("#pending");
  list.replaceChildren();
  for (const item of pending) {
    const scope = [item.model && "model " + item.model, item.route && "route " + item.route].filter(Boolean).join(", ");
    list.append(el("li", {}, el("b", {}, faultLabel(item)), ` × ${item.remaining}` + (scope ? ` (${scope})` : "")));
  }
  $("#pending-empty").hidden = pending.length > 0;
}

async function refreshFaults() {
  renderPending((await api("GET", "/_mock/faults")).pending);
}

function initFaults() {
  for (const button of document.querySelectorAll("[data-fault]")) {
    button.addEventListener("click", async () => {
      const body = faultBody(button.dataset.fault);
      const done = await act(`Queued ${button.textContent} for the next ${body.times} request(s)`, api("POST", "/_mock/faults", body));
      if (done) refreshFaults().catch(() => {});
    });
  }
  $("#faults-clear").addEventListener("click", async () => {
    const done = await act("Cleared queued faults", api("DELETE", "/_mock/faults"));
    if (done) renderPending(done.pending);
  });
}

// -- settings and models ---------------------------------------------------------------------------------
const EDITABLE = ["ttft_ms", "tokens_per_second", "error_style", "fault_rate", "seed"];
const SHOWN = ["default_model", "credits", "plan", "rpm", "tpm", "faults", "unavailable_models", "unknown_model_status", "cors_origins", "key_prefixes", "api_keys", "max_body_bytes", "journal_size"];

function renderConfig(config) {
  const form = $("#settings-form");
  for (const name of EDITABLE) {
    if (document.activeElement !== form.elements[name]) form.elements[name].value = config[name];
  }
  const facts = $("#settings-rest");
  facts.replaceChildren();
  for (const name of SHOWN) {
    if (!(name in config)) continue;
    const value = config[name];
    const shown = Array.isArray(value) ? value.join(", ") || "—" : value === null ? "—" : String(value);
    facts.append(el("dt", {}, name), el("dd", { class: "mono" }, shown));
  }
  const rows = $("#model-rows");
  rows.replaceChildren();
  const down = new Set(config.unavailable_models || []);
  for (const model of config.models) {
    rows.append(
      el(
        "tr",
        {},
        el("td", { class: "mono" }, model.id + (down.has(model.id) ? " (503)" : "")),
        el("td", {}, model.owned_by),
        el("td", { class: "num" }, fmtNumber(model.context_window)),
        el("td", { class: "num" }, fmtNumber(model.price)),
        el("td", {}, model.plans.length ? model.plans.join(", ") : "all plans"),
      ),
    );
  }
}

async function refreshConfig() {
  renderConfig(await api("GET", "/_mock/config"));
}

function initSettings() {
  $("#settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const change = {};
    for (const name of EDITABLE) {
      const value = form.elements[name].value;
      if (value === "") continue;
      change[name] = name === "error_style" ? value : Number(value);
    }
    const config = await act("Settings applied", api("PUT", "/_mock/config", change));
    if (config) renderConfig(config);
  });
}

// -- refresh, reset, token ----------------------------------------------------------------------------------
let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshAll();
  }, 200);
}

async function refreshAll() {
  const results = await Promise.allSettled([refreshAccounts(), refreshFaults(), refreshConfig()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed && !(failed.reason instanceof ApiError)) toast("Cannot reach the mock: " + failed.reason.message, "error");
}

function initTop() {
  $("#reset").addEventListener("click", async () => {
    const done = await act("Mock reset", api("POST", "/_mock/reset"));
    if (done) {
      clearEntries();
      refreshAll();
    }
  });
  $("#admin-token").value = state.token;
  $("#token-bar").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("#admin-token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("#token-bar").hidden = true;
    if (state.live) state.live.abort();
    refreshAll();
  });
}

initConnection();
initTop();
initKeyForm();
initFaults();
initSettings();
refreshAll();
followJournal();
