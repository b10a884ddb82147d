// edgeguard console, the policy page (policy.go): the policy in force, its
// explanation, each camera's privacy zones outlined, and a diff of an
// uploaded policy file. Its strings are here, not in console.js; it reads
// the language console.js chose from <html lang>.
"use strict";

(() => {
  const P = {
    en: {
      navPolicy: "Policy", policyTitle: "Policy (privacy officer)", inForce: "In force",
      explainTitle: "What the policy allows", zonesTitle: "Privacy zones",
      zonesLive: "The anonymised live picture with the privacy zones outlined. A picture is made only when you ask for it, and it is recorded in the audit trail.",
      zonesNoLive: "The policy does not allow live view: the privacy zones are outlined on a neutral canvas of the camera's aspect ratio. No picture leaves the device.",
      showPicture: "Show current picture", noZones: "no privacy zones", notRunning: "not running",
      pictureRefused: "no picture", diffTitle: "Compare a policy file with the policy in force",
      diffHelp: "Choose a policy file or paste its YAML. It is only compared: never stored, never applied. The console does not edit the policy file; install a new policy as docs/policy.md describes.",
      file: "Policy file", paste: "or paste the YAML", compare: "Compare",
      uploaded: "Uploaded", changes: "Changes", noChange: "No change",
      effect: { more: "wider", less: "narrower", review: "review", info: "info" },
      zone: "zone",
    },
    de: {
      navPolicy: "Richtlinie", policyTitle: "Richtlinie (Datenschutz)", inForce: "Geltend",
      explainTitle: "Was die Richtlinie erlaubt", zonesTitle: "Schutzbereiche",
      zonesLive: "Das anonymisierte Livebild mit den Schutzbereichen als Umriss. Ein Bild entsteht nur auf Anforderung und wird im Prüfprotokoll vermerkt.",
      zonesNoLive: "Die Richtlinie erlaubt kein Livebild: die Schutzbereiche sind auf einer neutralen Fläche im Seitenverhältnis der Kamera umrissen. Kein Bild verlässt das Gerät.",
      showPicture: "Aktuelles Bild zeigen", noZones: "keine Schutzbereiche", notRunning: "läuft nicht",
      pictureRefused: "kein Bild", diffTitle: "Eine Richtliniendatei mit der geltenden Richtlinie vergleichen",
      diffHelp: "Eine Richtliniendatei wählen oder ihr YAML einfügen. Sie wird nur verglichen: nie gespeichert, nie angewendet. Die Konsole ändert die Richtliniendatei nicht; eine neue Richtlinie wird wie in docs/policy.md beschrieben installiert.",
      file: "Richtliniendatei", paste: "oder das YAML einfügen", compare: "Vergleichen",
      uploaded: "Hochgeladen", changes: "Änderungen", noChange: "Keine Änderung",
      effect: { more: "erweitert", less: "eingeschränkt", review: "prüfen", info: "Info" },
      zone: "Bereich",
    },
  };
  const $ = (id) => document.getElementById(id);
  const lang = () => (P[document.documentElement.lang] ? document.documentElement.lang : "en");
  const tr = (k) => P[lang()][k] ?? P.en[k] ?? k;

  let pol = null;      // GET /api/policy
  let diff = null;     // the last diff answer, or {error}
  const pictures = {}; // camera id → Image, only after "Show current picture"

  function applyLang() {
    for (const el of document.querySelectorAll("[data-i18n-policy]")) el.textContent = tr(el.dataset.i18nPolicy);
    render();
  }

  async function load() {
    try {
      const r = await fetch("/api/policy", { cache: "no-store" });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.status);
      // Re-render only when something changed (a reload): keeps focus.
      if (pol && JSON.stringify(pol) === JSON.stringify(body)) return;
      pol = body;
    } catch (e) {
      $("policy-identity").textContent = String(e.message || e);
      return;
    }
    render();
  }

  function render() {
    if (!pol) return;
    $("policy-identity").textContent = `${tr("inForce")}: ${pol.name} ${pol.version} (sha256 ${pol.sha256})`;
    $("policy-explain").textContent = pol.explain[lang()] || pol.explain.en || "";
    const live = pol.summary.live_view;
    $("policy-zones-note").textContent = live ? tr("zonesLive") : tr("zonesNoLive");
    const box = $("policy-zones");
    box.textContent = "";
    for (const cam of pol.cameras) box.append(cameraFigure(cam, live));
    renderDiff();
  }

  function cameraFigure(cam, live) {
    const fig = document.createElement("figure");
    fig.className = "policy-camera";
    fig.dataset.camera = cam.id;
    fig.style.display = "inline-block";
    fig.style.margin = "0 1rem 1rem 0";
    const w = 480, h = Math.round(w * ((cam.width && cam.height) ? cam.height / cam.width : 9 / 16));
    const cv = document.createElement("canvas");
    cv.width = w; cv.height = h;
    cv.style.width = w + "px"; cv.style.height = h + "px"; cv.style.cursor = "default";
    cv.setAttribute("role", "img");
    cv.setAttribute("aria-label", `${cam.id}: ` + (cam.zones.length ? cam.zones.map((z) => z.name).join(", ") : tr("noZones")));
    draw(cv, cam);
    fig.append(cv);
    const cap = document.createElement("figcaption");
    const zones = cam.zones.map((z) => `${z.name} [${z.polygon.map((p) => `[${p[0]}, ${p[1]}]`).join(", ")}]`);
    cap.textContent = `${cam.id}${cam.running ? "" : " (" + tr("notRunning") + ")"}: ` + (zones.length ? zones.join("; ") : tr("noZones"));
    fig.append(cap);
    if (live && cam.running) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "policy-picture"; b.textContent = tr("showPicture");
      b.addEventListener("click", () => picture(cam, cv, cap));
      fig.append(b);
    }
    return fig;
  }

  function draw(cv, cam) {
    const g = cv.getContext("2d"), w = cv.width, h = cv.height;
    const img = pictures[cam.id];
    if (img) g.drawImage(img, 0, 0, w, h);
    else { g.fillStyle = "#d9dde3"; g.fillRect(0, 0, w, h); }
    g.lineWidth = 3; g.strokeStyle = "#d0021b"; g.font = "13px sans-serif";
    for (const z of cam.zones) {
      g.beginPath();
      z.polygon.forEach((p, i) => (i ? g.lineTo(p[0] * w, p[1] * h) : g.moveTo(p[0] * w, p[1] * h)));
      g.closePath(); g.stroke();
      g.fillStyle = "#d0021b";
      g.fillText(z.name, z.polygon[0][0] * w + 4, z.polygon[0][1] * h + 15);
    }
  }

  async function picture(cam, cv, cap) {
    try {
      const r = await fetch(`/api/cameras/${encodeURIComponent(cam.id)}/latest.jpg`, { cache: "no-store" });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error(`${tr("pictureRefused")} (${r.status}): ${body.error || ""}`);
      }
      const url = URL.createObjectURL(await r.blob());
      const img = new Image();
      img.onload = () => { pictures[cam.id] = img; draw(cv, cam); URL.revokeObjectURL(url); };
      img.src = url;
    } catch (e) {
      cap.textContent += " — " + String(e.message || e);
    }
  }

  async function compare() {
    const file = $("policy-file").files[0];
    const text = file ? await file.text() : $("policy-paste").value;
    const name = file ? file.name.replace(/[^A-Za-z0-9._ -]/g, "_").slice(0, 64) : "pasted.yaml";
    try {
      // console.js's egFetch: the session's X-CSRF-Token and X-Requested-With.
      const r = await egFetch("/api/policy/diff?name=" + encodeURIComponent(name), {
        method: "POST", body: text, headers: { "Content-Type": "application/yaml" },
      });
      const body = await r.json();
      diff = r.ok ? body : { error: `${r.status}: ${body.error || ""}` };
    } catch (e) {
      diff = { error: String(e.message || e) };
    }
    renderDiff();
  }

  const effectColour = { more: "#b00020", less: "#11772b", review: "#7a4b00", info: "#555" };

  function renderDiff() {
    const out = $("policy-diff");
    out.textContent = "";
    if (!diff) return;
    if (diff.error) {
      const p = document.createElement("p");
      p.className = "refused"; p.id = "policy-diff-error"; p.textContent = diff.error;
      out.append(p);
      return;
    }
    const head = document.createElement("p");
    head.textContent = `${tr("uploaded")}: ${diff.uploaded.name} ${diff.uploaded.version} (sha256 ${diff.uploaded.sha256})`;
    out.append(head);
    if (!diff.changes.length) {
      const p = document.createElement("p");
      p.className = "policy-no-change";
      p.textContent = `${tr("noChange")}: ${diff.no_change[lang()] || diff.no_change.en}`;
      out.append(p);
      return;
    }
    const ul = document.createElement("ul");
    for (const c of diff.changes) {
      const li = document.createElement("li");
      li.dataset.effect = c.effect; li.dataset.path = c.path;
      const eff = document.createElement("strong");
      eff.textContent = `[${tr("effect")[c.effect] || c.effect}] `;
      eff.style.color = effectColour[c.effect] || "";
      li.append(eff, document.createTextNode(c.text[lang()] || c.text.en));
      ul.append(li);
    }
    out.append(ul);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("policy-panel").style.gridColumn = "1 / -1";
    $("nav-policy").style.color = "#fff";
    $("policy-compare").addEventListener("click", compare);
    $("lang").addEventListener("change", applyLang);
    applyLang();
    load();
    setInterval(load, 10000);
    document.addEventListener("eg-login", load);
  });
})();
