// edgeguard console: plain JS, no framework, nothing from another host.
"use strict";

const T = {
  en: {
    title: "edgeguard console", language: "Language", device: "Device", health: "Health",
    policy: "Policy in force", faceDetector: "Face detector", cameras: "Cameras", camera: "Camera",
    state: "State", codec: "Codec", size: "Size", drops: "Drops", reconnects: "Reconnects",
    lastEvent: "Last event", rules: "Rules", liveView: "Live view",
    events: "Events (as the control room received them)", all: "all", type: "Type",
    noEvents: "No events yet.", live: "Live view (anonymised)", watch: "Watch", stop: "Stop",
    editor: "Zones and lines",
    editorHelp: "Click on the picture to add corners (or focus it and use the arrow keys and Enter). A line takes two points: from, then to.",
    draw: "Draw", modeZone: "zone (operator, zones:)", modeLine: "directed line (operator, lines:)",
    modePrivacy: "privacy zone (officer, privacy_zones:)", name: "Name", direction: "Direction",
    finish: "Finish shape", undo: "Undo point", clear: "Clear all", points: "Points",
    yamlOperator: "Configuration (operator): under the camera in edgeguard.yaml",
    yamlPrivacy: "Policy (privacy officer): under the camera in the policy",
    copy: "Copy", copied: "Copied",
    save: "Save zones and lines", saveHelp: "Save writes the zones and lines above into this camera's zones:/lines: in the configuration file (a backup is kept); the service applies them. Privacy zones are never saved: copy them for the officer.",
    savingOff: "Saving is not offered: ", saved: "Saved to", backup: "backup",
    outcome: { applied: "applied: the camera runs with them", rejected: "written, but the service refused the reload", unchanged: "unchanged: the file already says so", pending: "written, not applied yet" },
    saveFailed: "Not saved", nothingToSave: "Draw a zone or a line first.",
    login: "Log in", user: "User", password: "Password", logIn: "Log in", logOut: "Log out",
    noLogin: "no login: this console only reads", loginFailed: "Login failed",
    active: "active", suspended: "suspended", allowed: "allowed", notAllowed: "not allowed",
    ready: "ready", notReady: "not ready", none: "none",
    liveRefused: "Live view refused", liveNotReady: "No picture now", liveShowing: "Showing the anonymised picture, at most 2 per second.",
    liveIdle: "Not watching: no picture is made.", noPicture: "no picture (live view not allowed or not watching)",
    why: { warmup: "learning the background", light_change: "light changed", view_moved: "view moved", low_texture: "view without texture" },
  },
  de: {
    title: "edgeguard-Konsole", language: "Sprache", device: "Gerät", health: "Zustand",
    policy: "Geltende Richtlinie", faceDetector: "Gesichtsdetektor", cameras: "Kameras", camera: "Kamera",
    state: "Status", codec: "Codec", size: "Größe", drops: "Verworfen", reconnects: "Neuverbindungen",
    lastEvent: "Letztes Ereignis", rules: "Regeln", liveView: "Livebild",
    events: "Ereignisse (wie die Leitstelle sie erhielt)", all: "alle", type: "Art",
    noEvents: "Noch keine Ereignisse.", live: "Livebild (anonymisiert)", watch: "Ansehen", stop: "Beenden",
    editor: "Bereiche und Linien",
    editorHelp: "Auf das Bild klicken, um Ecken zu setzen (oder das Bild fokussieren und Pfeiltasten und Enter nutzen). Eine Linie hat zwei Punkte: von, dann nach.",
    draw: "Zeichnen", modeZone: "Bereich (Betreiber, zones:)", modeLine: "gerichtete Linie (Betreiber, lines:)",
    modePrivacy: "Schutzbereich (Datenschutz, privacy_zones:)", name: "Name", direction: "Richtung",
    finish: "Form abschließen", undo: "Punkt zurück", clear: "Alles löschen", points: "Punkte",
    yamlOperator: "Konfiguration (Betreiber): unter der Kamera in edgeguard.yaml",
    yamlPrivacy: "Richtlinie (Datenschutz): unter der Kamera in der Richtlinie",
    copy: "Kopieren", copied: "Kopiert",
    save: "Bereiche und Linien speichern", saveHelp: "Speichern schreibt die Bereiche und Linien oben in zones:/lines: dieser Kamera in der Konfigurationsdatei (mit Sicherungskopie); der Dienst übernimmt sie. Schutzbereiche werden nie gespeichert: bitte für den Datenschutz kopieren.",
    savingOff: "Speichern nicht möglich: ", saved: "Gespeichert in", backup: "Sicherung",
    outcome: { applied: "übernommen: die Kamera läuft damit", rejected: "geschrieben, aber der Dienst hat das Neuladen abgelehnt", unchanged: "unverändert: die Datei enthält das schon", pending: "geschrieben, noch nicht übernommen" },
    saveFailed: "Nicht gespeichert", nothingToSave: "Zuerst einen Bereich oder eine Linie zeichnen.",
    login: "Anmelden", user: "Benutzer", password: "Passwort", logIn: "Anmelden", logOut: "Abmelden",
    noLogin: "keine Anmeldung: diese Konsole zeigt nur an", loginFailed: "Anmeldung fehlgeschlagen",
    active: "aktiv", suspended: "ausgesetzt", allowed: "erlaubt", notAllowed: "nicht erlaubt",
    ready: "bereit", notReady: "nicht bereit", none: "keiner",
    liveRefused: "Livebild verweigert", liveNotReady: "Gerade kein Bild", liveShowing: "Das anonymisierte Bild, höchstens 2 pro Sekunde.",
    liveIdle: "Nicht angesehen: es entsteht kein Bild.", noPicture: "kein Bild (Livebild nicht erlaubt oder nicht angesehen)",
    why: { warmup: "lernt den Hintergrund", light_change: "Licht geändert", view_moved: "Blickfeld verschoben", low_texture: "Bild ohne Struktur" },
  },
};

let lang = localStorage.getItem("edgeguard.lang") || (navigator.language || "en").slice(0, 2);
if (!T[lang]) lang = "en";
const t = (k) => T[lang][k] ?? T.en[k] ?? k;
const $ = (id) => document.getElementById(id);

function applyLang() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").value = lang;
  $("live-toggle").textContent = watching ? t("stop") : t("watch");
  applySession();
  render();
  drawEditor();
}

// The session: who is logged in, with which role, and the CSRF token
// every non-GET request carries (GET /api/session).
let session = null;
let sessionReady = loadSession();

async function loadSession() {
  try {
    const r = await fetch("/api/session", { cache: "no-store" });
    session = await r.json();
  } catch (e) {
    session = null;
  }
  applySession();
  return session;
}

// egFetch is fetch for every request that is not a GET: it adds the
// session's CSRF token (X-CSRF-Token) and X-Requested-With, which a page
// of another site cannot send. The policy page uses it too.
async function egFetch(url, opts = {}) {
  if (!session) await sessionReady;
  if (!session) await (sessionReady = loadSession());
  const headers = new Headers(opts.headers || {});
  headers.set("X-CSRF-Token", session ? session.csrf : "");
  headers.set("X-Requested-With", "edgeguard");
  const r = await fetch(url, { ...opts, headers, credentials: "same-origin", cache: "no-store" });
  if (r.status === 401) sessionReady = loadSession(); // the session ended: show the login
  return r;
}
window.egFetch = egFetch;

const needLogin = () => !!(session && session.login && !session.user);

function applySession() {
  if (!session) return;
  const need = needLogin();
  $("login-panel").hidden = !need;
  $("main").hidden = need;
  $("whoami").textContent = session.user ? `${session.user} (${session.role})` : (session.login ? "" : t("noLogin"));
  $("logout").hidden = !session.user;
  $("editor-save").hidden = !session.can.save;
  const note = $("saving");
  if (!note.dataset.result) {
    note.className = "note";
    note.textContent = session.can.save ? t("saveHelp") : t("savingOff") + (session.save_refusal || "");
  }
  if (need) setTimeout(() => $("login-user").focus(), 0);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = $("login-error");
  err.textContent = "";
  try {
    const r = await egFetch("/api/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: $("login-user").value, password: $("login-password").value }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { err.textContent = `${t("loginFailed")} (${r.status}): ${body.error || ""}`; return; }
    $("login-password").value = "";
    session = body; sessionReady = Promise.resolve(session);
    applySession();
    refresh();
    document.dispatchEvent(new Event("eg-login")); // other panels fetch again as this user
  } catch (ex) {
    err.textContent = `${t("loginFailed")}: ${ex.message || ex}`;
  } finally {
    $("login-password").value = "";
  }
});

$("logout").addEventListener("click", async () => {
  setWatching(false);
  const r = await egFetch("/api/logout", { method: "POST" });
  session = await r.json().catch(() => null);
  sessionReady = session ? Promise.resolve(session) : loadSession();
  cams = []; evs = []; dev = null;
  render();
  applySession();
});

let cams = [];
let dev = null;
let evs = [];

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (r.status === 401) { sessionReady = loadSession(); throw new Error(t("login")); }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.status);
  return body;
}

async function refresh() {
  if (!session || needLogin()) return;
  try {
    const c = await getJSON("/api/cameras");
    cams = c.cameras; dev = c.device;
    const cam = $("events-camera").value;
    const q = "/api/events?limit=100" + (cam ? "&camera=" + encodeURIComponent(cam) : "");
    evs = (await getJSON(q)).events;
  } catch (e) {
    $("health").textContent = String(e.message || e);
  }
  render();
}

function text(el, s) { el.textContent = s; return el; }
function cell(tr, s) { return text(tr.insertCell(), s); }

function fillSelect(sel, values, keepAll) {
  const cur = sel.value;
  const want = (keepAll ? [""] : []).concat(values);
  const have = Array.from(sel.options).map((o) => o.value);
  if (want.join("\n") !== have.join("\n")) {
    sel.textContent = "";
    for (const v of want) {
      const o = document.createElement("option");
      o.value = v; o.textContent = v === "" ? t("all") : v;
      sel.append(o);
    }
    sel.value = want.includes(cur) ? cur : want[0] ?? "";
  } else if (keepAll && sel.options[0]) {
    sel.options[0].textContent = t("all");
  }
}

function render() {
  if (dev) {
    $("device").textContent = dev.id;
    $("health").textContent = dev.status === "ready" ? t("ready") : t("notReady");
    $("health-reasons").textContent = (dev.reasons || []).join("; ");
    const p = dev.policy;
    $("policy").textContent = `${p.name} ${p.version} (sha256 ${p.sha256.slice(0, 12)}…), ${t("liveView")}: ${p.live_view ? t("allowed") : t("notAllowed")}`;
    $("face-detector").textContent = dev.face_detector || t("none");
  }
  const tb = $("cameras").tBodies[0];
  tb.textContent = "";
  for (const c of cams) {
    const tr = tb.insertRow();
    tr.dataset.camera = c.id;
    cell(tr, c.id);
    const st = cell(tr, c.state + (c.error ? ": " + c.error : ""));
    st.className = "state state-" + c.state;
    cell(tr, c.codec || "");
    cell(tr, c.width ? `${c.width}×${c.height}` : "");
    cell(tr, c.fps ? String(c.fps) : "");
    cell(tr, `${c.drops.decode} / ${c.drops.analysis}`);
    cell(tr, String(c.reconnects));
    cell(tr, c.last_event ? `${c.last_event.type} ${c.last_event.phase} ${c.last_event.at}` : "–").className = "last-event";
    cell(tr, c.rules.active ? t("active") : `${t("suspended")}: ${(T[lang].why[c.rules.suspended]) || c.rules.suspended}`);
    cell(tr, c.live_view.allowed ? t("allowed") : `${t("notAllowed")}: ${c.live_view.reason || ""}`).className = "live";
  }
  fillSelect($("events-camera"), cams.map((c) => c.id), true);
  fillSelect($("live-camera"), cams.map((c) => c.id), false);
  const types = Array.from(new Set(evs.map((e) => e.type))).sort();
  fillSelect($("events-type"), types, true);
  const ty = $("events-type").value;
  const ol = $("events");
  ol.textContent = "";
  for (const e of evs) {
    if (ty && e.type !== ty) continue;
    const li = document.createElement("li");
    li.dataset.type = e.type; li.dataset.camera = e.camera;
    let s = `${e.at} ${e.camera} ${e.type} ${e.phase}`;
    if (e.zone) s += ` zone=${e.zone}`;
    if (e.score) s += ` score=${e.score}`;
    li.textContent = s;
    ol.append(li);
  }
  $("events-empty").hidden = ol.children.length > 0;
}

// Live view: pictures are asked for only while someone watches (the
// button) and the page is visible; the server makes at most 2 per second.
let watching = false;
let liveTimer = 0;
let liveURL = "";
let liveImage = null; // the last picture, for the editor's background

async function liveTick() {
  liveTimer = 0;
  if (!watching || document.hidden) return;
  const cam = $("live-camera").value;
  if (cam) {
    try {
      const r = await fetch(`/api/cameras/${encodeURIComponent(cam)}/latest.jpg`, { cache: "no-store" });
      if (r.ok) {
        const b = await r.blob();
        if (liveURL) URL.revokeObjectURL(liveURL);
        liveURL = URL.createObjectURL(b);
        const img = $("live-img");
        img.src = liveURL; img.hidden = false;
        img.alt = cam;
        const bg = new Image();
        bg.onload = () => { liveImage = bg; drawEditor(); };
        bg.src = liveURL;
        const s = $("live-status");
        s.className = ""; s.dataset.status = "200"; s.textContent = t("liveShowing");
      } else {
        const body = await r.json().catch(() => ({}));
        const s = $("live-status");
        s.className = "refused"; s.dataset.status = String(r.status);
        s.textContent = `${r.status === 403 ? t("liveRefused") : t("liveNotReady")} (${r.status}): ${body.error || ""}`;
        $("live-img").hidden = true;
      }
    } catch (e) {
      $("live-status").textContent = String(e);
    }
  }
  if (watching) liveTimer = setTimeout(liveTick, 500);
}

function setWatching(on) {
  watching = on;
  $("live-toggle").textContent = on ? t("stop") : t("watch");
  if (on && !liveTimer) liveTick();
  if (!on) {
    clearTimeout(liveTimer); liveTimer = 0;
    const s = $("live-status"); s.className = ""; s.dataset.status = ""; s.textContent = t("liveIdle");
  }
}

// Editor: shapes in normalised coordinates (0..1, x right, y down), as
// the configuration and the policy write them.
const shapes = [];
let current = [];
let cursor = [0.5, 0.5];
const canvas = $("editor-canvas");
const ctx = canvas.getContext("2d");

// Two decimals: 1 % of the picture, as the example files write them, and
// steady against the browser's sub-pixel mouse positions.
const round = (v) => Number(Math.min(1, Math.max(0, v)).toFixed(2));
const pt = (p) => `[${p[0]}, ${p[1]}]`;
const poly = (ps) => "[" + ps.map(pt).join(", ") + "]";
const mode = () => $("editor-mode").value;
const safeName = (s) => (s || "").replace(/[^A-Za-z0-9_-]/g, "") || mode() + "-" + (shapes.length + 1);

function nextName() {
  const m = mode();
  const n = shapes.filter((s) => s.kind === m).length + 1;
  $("editor-name").value = `${m}-${n}`;
}

function addPoint(p) {
  current.push([round(p[0]), round(p[1])]);
  if (mode() === "line" && current.length === 2) finish();
  else update();
}

function finish() {
  const m = mode();
  if ((m === "line" && current.length !== 2) || (m !== "line" && current.length < 3)) return;
  shapes.push({ kind: m, name: safeName($("editor-name").value), points: current, direction: $("editor-direction").value });
  current = [];
  nextName();
  update();
}

function yaml() {
  const zones = shapes.filter((s) => s.kind === "zone");
  const lines = shapes.filter((s) => s.kind === "line");
  const priv = shapes.filter((s) => s.kind === "privacy");
  let op = "";
  if (zones.length) op += "zones:\n" + zones.map((s) => `  ${s.name}: ${poly(s.points)}\n`).join("");
  if (lines.length) op += "lines:\n" + lines.map((s) => `  ${s.name}: {from: ${pt(s.points[0])}, to: ${pt(s.points[1])}, direction: ${s.direction}}\n`).join("");
  let pv = "";
  if (priv.length) pv = "privacy_zones:\n" + priv.map((s) => `  - name: ${s.name}\n    polygon: ${poly(s.points)}\n`).join("");
  return [op, pv];
}

function update() {
  const [op, pv] = yaml();
  $("yaml-operator").textContent = op;
  $("yaml-privacy").textContent = pv;
  $("editor-points").textContent = poly(current);
  drawEditor();
}

function drawEditor() {
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (liveImage) ctx.drawImage(liveImage, 0, 0, w, h);
  else {
    ctx.fillStyle = "#333"; ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = "#ccc"; ctx.font = "14px sans-serif"; ctx.fillText(t("noPicture"), 12, 24);
  }
  const colour = { zone: "#3fa7ff", line: "#ffd23f", privacy: "#ff4f4f" };
  const path = (ps, close) => {
    ctx.beginPath();
    ps.forEach((p, i) => (i ? ctx.lineTo(p[0] * w, p[1] * h) : ctx.moveTo(p[0] * w, p[1] * h)));
    if (close) ctx.closePath();
  };
  for (const s of shapes) {
    ctx.strokeStyle = colour[s.kind]; ctx.lineWidth = 2;
    path(s.points, s.kind !== "line"); ctx.stroke();
    if (s.kind === "privacy") { ctx.fillStyle = "#ff4f4f55"; ctx.fill(); }
    if (s.kind === "line") { // arrow head at "to"
      const [a, b] = s.points, ang = Math.atan2((b[1] - a[1]) * h, (b[0] - a[0]) * w);
      ctx.beginPath(); ctx.moveTo(b[0] * w, b[1] * h);
      ctx.lineTo(b[0] * w - 10 * Math.cos(ang - 0.4), b[1] * h - 10 * Math.sin(ang - 0.4));
      ctx.lineTo(b[0] * w - 10 * Math.cos(ang + 0.4), b[1] * h - 10 * Math.sin(ang + 0.4));
      ctx.closePath(); ctx.fillStyle = colour.line; ctx.fill();
    }
    ctx.fillStyle = "#fff"; ctx.font = "12px sans-serif";
    ctx.fillText(s.name, s.points[0][0] * w + 4, s.points[0][1] * h - 4);
  }
  ctx.strokeStyle = "#fff"; ctx.setLineDash([4, 3]);
  path(current, false); ctx.stroke(); ctx.setLineDash([]);
  for (const p of current) { ctx.fillStyle = "#fff"; ctx.fillRect(p[0] * w - 3, p[1] * h - 3, 6, 6); }
  if (document.activeElement === canvas) {
    ctx.strokeStyle = "#f0a500";
    ctx.beginPath(); ctx.arc(cursor[0] * w, cursor[1] * h, 6, 0, 2 * Math.PI); ctx.stroke();
  }
}

canvas.addEventListener("click", (e) => {
  // The picture is the canvas' content box, inside its border.
  const r = canvas.getBoundingClientRect();
  addPoint([(e.clientX - r.left - canvas.clientLeft) / canvas.clientWidth,
    (e.clientY - r.top - canvas.clientTop) / canvas.clientHeight]);
});
canvas.addEventListener("keydown", (e) => {
  const step = e.shiftKey ? 0.05 : 0.01;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (moves[e.key]) {
    cursor = [round(cursor[0] + moves[e.key][0]), round(cursor[1] + moves[e.key][1])];
    drawEditor();
  } else if (e.key === "Enter" || e.key === " ") addPoint(cursor);
  else if (e.key === "Backspace") { current.pop(); update(); }
  else if (e.key === "Escape") { current = []; update(); }
  else return;
  e.preventDefault();
});
canvas.addEventListener("focus", drawEditor);
canvas.addEventListener("blur", drawEditor);
$("editor-finish").addEventListener("click", finish);
$("editor-undo").addEventListener("click", () => { current.pop(); update(); });
$("editor-clear").addEventListener("click", () => { shapes.length = 0; current = []; nextName(); update(); });
$("editor-mode").addEventListener("change", () => { current = []; nextName(); update(); });
// Save: the operator's zones and lines of the camera chosen for live view
// (the picture they were drawn on) into the configuration file.
$("editor-save").addEventListener("click", async () => {
  const cam = $("live-camera").value;
  const zones = {}, lines = {};
  for (const s of shapes) {
    if (s.kind === "zone") zones[s.name] = s.points;
    if (s.kind === "line") lines[s.name] = { from: s.points[0], to: s.points[1], direction: s.direction };
  }
  const note = $("saving");
  note.dataset.result = "1";
  if (!cam || (!Object.keys(zones).length && !Object.keys(lines).length)) {
    note.className = "note refused"; note.textContent = t("nothingToSave"); return;
  }
  $("editor-save").disabled = true;
  try {
    const r = await egFetch(`/api/cameras/${encodeURIComponent(cam)}/zones`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ zones, lines }),
    });
    const body = await r.json().catch(() => ({}));
    note.dataset.status = String(r.status);
    note.dataset.outcome = body.outcome || "";
    if (!r.ok) {
      note.className = "note refused"; note.textContent = `${t("saveFailed")} (${r.status}): ${body.error || ""}`;
    } else {
      note.className = body.outcome === "applied" || body.outcome === "unchanged" ? "note ok" : "note refused";
      note.textContent = `${t("saved")} ${body.file}${body.backup ? ` (${t("backup")} ${body.backup})` : ""}: ` +
        `${(T[lang].outcome || T.en.outcome)[body.outcome] || body.outcome}${body.reason ? ": " + body.reason : ""}`;
    }
  } catch (e) {
    note.className = "note refused"; note.textContent = `${t("saveFailed")}: ${e.message || e}`;
  } finally {
    $("editor-save").disabled = false;
  }
});

for (const b of document.querySelectorAll("button.copy")) {
  b.addEventListener("click", async () => {
    const s = $(b.dataset.copy).textContent;
    try { await navigator.clipboard.writeText(s); b.textContent = t("copied"); }
    catch { const r = document.createRange(); r.selectNodeContents($(b.dataset.copy)); getSelection().removeAllRanges(); getSelection().addRange(r); }
    setTimeout(() => (b.textContent = t("copy")), 1500);
  });
}
$("lang").addEventListener("change", () => { lang = $("lang").value; localStorage.setItem("edgeguard.lang", lang); applyLang(); });
$("events-camera").addEventListener("change", refresh);
$("events-type").addEventListener("change", render);
$("live-toggle").addEventListener("click", () => setWatching(!watching));
$("live-camera").addEventListener("change", () => { liveImage = null; drawEditor(); });
document.addEventListener("visibilitychange", () => { if (!document.hidden && watching && !liveTimer) liveTick(); });

applyLang();
setWatching(false);
update();
sessionReady.then(refresh);
setInterval(refresh, 2000);
