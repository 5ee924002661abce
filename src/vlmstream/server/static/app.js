// vlmstream dashboard: live results over one WebSocket, stream status polled once a second,
// the latest analysed picture per stream fetched a few times a second and the result of that
// very frame (matched by seq) drawn over it on a canvas.
"use strict";

const STATUS_MS = 1000;
const THUMB_MS = 300;
const KEEP_RESULTS = 64;
const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#0082c8", "#f58231", "#911eb4", "#46f0f0",
  "#f032e6", "#d2f53c", "#fabebe"];

const streams = new Map(); // id -> {card, results: Map(seq -> result), latest, drawnSeq, busy}
const params = new URLSearchParams(location.hash.slice(1));
if (params.get("token")) localStorage.setItem("vlmstream-token", params.get("token"));
const tokenInput = document.getElementById("token");
tokenInput.value = localStorage.getItem("vlmstream-token") || "";
tokenInput.addEventListener("change", () => {
  localStorage.setItem("vlmstream-token", tokenInput.value.trim());
  connect();
});

function authHeaders(extra = {}) {
  const t = tokenInput.value.trim();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: authHeaders(opts.headers || {}) });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try { const b = await r.json(); msg = b.message || (typeof b.detail === "string" ? b.detail : JSON.stringify(b.detail)); } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

// -- live results ------------------------------------------------------------------------
let ws = null;
const conn = document.getElementById("conn");
function setConn(state) { conn.textContent = state; conn.dataset.state = state; }

function connect() {
  if (ws) { ws.onclose = null; ws.close(); }
  const t = tokenInput.value.trim();
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/ws` +
    (t ? `?token=${encodeURIComponent(t)}` : "");
  ws = new WebSocket(url);
  setConn("connecting");
  ws.onopen = () => setConn("open");
  ws.onclose = (ev) => {
    setConn(ev.code === 4401 || ev.code === 4403 ? "closed: token needed" : "closed");
    setTimeout(connect, 2000);
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "lagged") { document.body.dataset.lagged = (Number(document.body.dataset.lagged || 0) + msg.skipped); return; }
    if (msg.type !== "result") return;
    const s = streams.get(msg.stream_id);
    if (!s) return;
    s.results.set(msg.seq, msg);
    if (s.results.size > KEEP_RESULTS) s.results.delete(s.results.keys().next().value);
    s.latest = msg;
    s.card.dataset.results = Number(s.card.dataset.results || 0) + 1;
    s.card.querySelector(".caption").textContent = msg.text || "";
  };
}

// -- cards -------------------------------------------------------------------------------
const grid = document.getElementById("grid");
const template = document.getElementById("card-template");

function ensureCard(id) {
  let s = streams.get(id);
  if (s) return s;
  const card = template.content.firstElementChild.cloneNode(true);
  card.dataset.streamId = id;
  card.dataset.results = 0;
  card.dataset.drawn = 0;
  card.querySelector(".sid").textContent = id;
  card.querySelector(".remove").addEventListener("click", async () => {
    try { await api(`/api/streams/${encodeURIComponent(id)}`, { method: "DELETE" }); dropCard(id); }
    catch (e) { card.querySelector(".error").textContent = `remove failed: ${e.message}`; }
  });
  grid.appendChild(card);
  s = { card, results: new Map(), latest: null, drawnSeq: -1, busy: false };
  streams.set(id, s);
  return s;
}

function dropCard(id) {
  const s = streams.get(id);
  if (s) { s.card.remove(); streams.delete(id); }
}

function fmt(v, digits = 1) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }

function updateCard(st) {
  const s = ensureCard(st.id);
  const c = s.card;
  const badge = c.querySelector(".state");
  badge.textContent = st.state;
  badge.dataset.state = st.state;
  c.dataset.state = st.state;
  c.querySelector(".fps").textContent = `${fmt(st.fps_recent)} / ${fmt(st.target_fps, 0)} fps`;
  c.querySelector(".p99").textContent = `p99 ${fmt(st.latency_ms.p99, 0)} ms`;
  c.querySelector(".drops").textContent = st.dropped_total ? `drops ${st.dropped_total}` : "";
  c.querySelector(".error").textContent = st.last_error || "";
  drawSparkline(c.querySelector(".spark"), st.latency_recent_ms);
}

function drawSparkline(cv, values) {
  const g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  if (!values || values.length < 2) return;
  const max = Math.max(...values, 1);
  g.strokeStyle = "#58a6ff";
  g.lineWidth = 1.5;
  g.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (cv.width - 2) + 1;
    const y = cv.height - 2 - (v / max) * (cv.height - 4);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#8b949e";
  g.font = "10px sans-serif";
  g.fillText(`${Math.round(max)} ms`, 2, 10);
}

async function refreshStatus() {
  try {
    const r = await api("/api/streams");
    const list = await r.json();
    const seen = new Set(list.map((st) => st.id));
    for (const id of [...streams.keys()]) if (!seen.has(id)) dropCard(id);
    list.forEach(updateCard);
    document.getElementById("summary").textContent = `${list.length} stream(s)`;
  } catch (e) {
    document.getElementById("summary").textContent = `status: ${e.message}`;
  }
}

// -- pictures with their results drawn over them -----------------------------------------
async function refreshThumb(id, s) {
  if (s.busy) return;
  s.busy = true;
  try {
    const r = await fetch(`/api/streams/${encodeURIComponent(id)}/thumbnail.jpg`, { headers: authHeaders() });
    if (!r.ok) return;
    const seq = Number(r.headers.get("X-Seq"));
    if (seq === s.drawnSeq) return;
    const bmp = await createImageBitmap(await r.blob());
    const result = s.results.get(seq) || s.latest;
    draw(s.card.querySelector("canvas.frame"), bmp, result);
    s.drawnSeq = seq;
    s.card.dataset.drawn = Number(s.card.dataset.drawn) + 1;
    if (result) s.card.dataset.overlaySeq = result.seq;
  } catch (_) {
    /* the stream went away between polls */
  } finally {
    s.busy = false;
  }
}

function draw(cv, bmp, result) {
  if (cv.width !== bmp.width || cv.height !== bmp.height) { cv.width = bmp.width; cv.height = bmp.height; }
  const g = cv.getContext("2d");
  g.drawImage(bmp, 0, 0);
  if (!result) return;
  const sx = cv.width / result.width, sy = cv.height / result.height;
  g.lineWidth = 2;
  g.font = "13px sans-serif";
  (result.boxes || []).forEach((b, i) => {
    const key = b.track_id ?? b.label ?? i;
    const color = PALETTE[Math.abs(hash(String(key))) % PALETTE.length];
    const [x1, y1, x2, y2] = b.xyxy;
    g.strokeStyle = color;
    g.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    let tag = b.track_id != null ? `#${b.track_id} ` : "";
    tag += b.label || "";
    if (b.label && b.label !== "motion" && b.score != null) tag += ` ${b.score.toFixed(2)}`;
    if (tag.trim()) label(g, tag.trim(), x1 * sx, Math.max(14, y1 * sy - 2), color);
  });
  let head = `${result.stream_id} #${result.seq}`;
  if (result.label) head += `  ${result.label}` + (result.score != null ? ` (${result.score.toFixed(2)})` : "");
  if (result.latency_ms != null) head += `  ${Math.round(result.latency_ms)} ms`;
  label(g, head, 4, 18, "#ffffff");
  if (result.text) label(g, result.text.slice(0, 120), 4, cv.height - 6, "#ffe066");
}

function label(g, text, x, y, color) {
  const w = g.measureText(text).width;
  g.fillStyle = "rgba(0,0,0,0.7)";
  g.fillRect(x, y - 14, w + 6, 18);
  g.fillStyle = color;
  g.fillText(text, x + 3, y);
}

function hash(s) { let h = 0; for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0; return h; }

// -- add form ----------------------------------------------------------------------------
document.getElementById("add-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { source: f.get("source").trim() };
  const v = (k) => (f.get(k) || "").trim();
  if (v("id")) body.id = v("id");
  if (v("fps")) body.fps = Number(v("fps"));
  if (v("max_latency_ms")) body.max_latency_ms = Number(v("max_latency_ms"));
  if (v("task") || v("labels")) body.task = { kind: v("task") || "motion", labels: v("labels") };
  if (v("backend")) body.backend = { name: v("backend") };
  const errBox = document.getElementById("add-error");
  errBox.textContent = "";
  try {
    const r = await api("/api/streams", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    updateCard(await r.json());
    ev.target.reset();
  } catch (e) {
    errBox.textContent = e.message;
  }
});

connect();
refreshStatus();
setInterval(refreshStatus, STATUS_MS);
setInterval(() => { for (const [id, s] of streams) refreshThumb(id, s); }, THUMB_MS);
