// grunt ui: the runs table, job pages, plots and sweeps, drawn from the JSON API under /api/.
// Plain JavaScript, no framework; uPlot (embedded) draws the plots.
"use strict";

// The token came as ?token=; the server has set the cookie, so drop it from the address bar.
if (new URLSearchParams(location.search).has("token")) {
  history.replaceState(null, "", location.pathname);
}

const $ = (sel, el = document) => el.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const REFRESH_MS = 3000;
const FINISHED = new Set(["Done", "Failed", "Timeout", "OutOfMemory", "Canceled", "NodeFail"]);

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...opts });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { text }; }
  return { ok: r.ok, status: r.status, body, text };
}

function post(path, data) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data ?? {}) });
}

// ---- the log of actions and their answers -------------------------------------------------

function logEntry(title) {
  const e = document.createElement("div");
  e.className = "entry wait";
  e.innerHTML = `<b>${esc(title)}</b> <span class="muted">pending…</span>`;
  $("#log").prepend(e);
  return {
    done(res) {
      const b = res.body || {};
      e.className = "entry " + (res.ok ? "" : "bad");
      const text = [b.stdout, b.stderr, b.error, b.text].filter((t) => t && t.trim()).join("\n").trim();
      e.innerHTML = `<b>${esc(title)}</b> ${res.ok ? "✓ answered" : "✗ " + esc(res.status)}` + (text ? `<pre>${esc(text)}</pre>` : "");
      e.dataset.answered = res.ok ? "ok" : "error";
      setTimeout(() => e.remove(), res.ok ? 20000 : 60000);
    },
  };
}

// ---- formatting ---------------------------------------------------------------------------

function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return esc(t);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fmtElapsed(s) {
  if (s == null) return "";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

function chip(j) {
  const reason = j.reason ? ` title="${esc(j.reason)}"` : "";
  return `<span class="chip ${esc(j.state)}"${reason}>${esc(j.status || j.state)}</span>`;
}

// A sweep job's parameters (job.params) as `k=v k=v`.
function paramText(j) {
  return Object.entries(j.params || {}).map(([k, v]) => `${k}=${v}`).join(" ");
}

function place(j) {
  if (j.location === "archive") return "archive";
  if (j.location === "delete") return "delete";
  return FINISHED.has(j.state) ? "done" : "active";
}

// ---- the jobs table, shared by every view ---------------------------------------------------

const store = { jobs: [], asOf: null, error: null, raw: "", listeners: new Set(), timer: null };

async function loadJobs() {
  const r = await api("/api/jobs");
  if (!r.ok) { $("#asof").textContent = "cannot read /api/jobs (" + r.status + ")"; return; }
  $("#asof").textContent = r.body.as_of ? "as of " + new Date(r.body.as_of).toLocaleTimeString()
    : r.body.error ? "not pulled yet" : "first pull…";
  $("#asof").dataset.asof = r.body.as_of || "";
  const st = $("#staleness");
  st.hidden = !r.body.error;
  st.textContent = r.body.error ? "cannot pull: " + r.body.error.split("\n")[0] : "";
  if (!r.body.as_of && !r.body.error) setTimeout(loadJobs, 300); // the first pull is under way
  if (r.text === store.raw) return;
  store.raw = r.text;
  store.jobs = r.body.jobs || [];
  store.asOf = r.body.as_of;
  for (const f of store.listeners) f();
}

function startRefresh() {
  loadJobs();
  clearInterval(store.timer);
  store.timer = setInterval(loadJobs, REFRESH_MS);
}

// ---- actions --------------------------------------------------------------------------------

const pending = new Map(); // job id -> action word, until grund's answer is pulled

async function act(ids, word, extra) {
  if (!ids.length) return;
  let body = {};
  if (word === "nuke") {
    if (!confirm(`nuke ${ids.join(" ")}? Their records and results are removed for good.`)) return;
    body.confirm = true;
  }
  if (word === "message") {
    const m = extra ?? prompt(`New message for ${ids[0]}:`, (store.jobs.find((j) => j.id === ids[0]) || {}).message || "");
    if (!m) return;
    body.message = m;
    ids = ids.slice(0, 1);
  }
  for (const id of ids) pending.set(id, word);
  for (const f of store.listeners) f();
  const entry = logEntry(`${word} ${ids.join(", ")}`);
  const res = await post(`/api/jobs/${ids.join(",")}/${word}`, body);
  entry.done(res);
  await loadJobs();
  for (const id of ids) pending.delete(id);
  for (const f of store.listeners) f();
  return res;
}

const ACTIONS = ["status", "results", "cancel", "rerun", "archive", "delete", "nuke", "message"];

function actionButtons(getIds) {
  const bar = document.createElement("span");
  bar.className = "bar actions";
  for (const w of ACTIONS) {
    const b = document.createElement("button");
    b.className = "act" + (w === "nuke" || w === "delete" ? " danger" : "");
    b.textContent = w;
    b.dataset.action = w;
    b.onclick = () => act(getIds(), w);
    bar.append(b);
  }
  return bar;
}

// ---- the runs table -------------------------------------------------------------------------

const COLS = [
  ["id", "Id"], ["message", "Message"], ["state", "State"], ["profile", "Profile"], ["sweep", "Sweep"],
  ["submit", "Submitted"], ["start", "Started"], ["end", "Ended"], ["elapsed_secs", "Elapsed"], ["args", "Args"],
];

function runsView(app) {
  const ui = { tab: "all", filter: "", sort: "id", asc: false, picked: new Set() };
  app.innerHTML = `
    <div class="bar tabs" id="tabs"></div>
    <div class="bar"><input type="search" id="filter" placeholder="filter: id, message, state, args…" autofocus>
      <span class="sel" id="selcount"></span></div>
    <div class="bar" id="actbar"></div>
    <form class="submit" id="submit"><b>submit</b>
      <input type="text" name="args" placeholder="args (space separated)">
      <input type="text" name="message" placeholder="message (why)" required>
      <input type="text" name="profile" placeholder="profile (optional)" style="min-width:120px">
      <button class="act" type="submit">submit</button></form>
    <table class="runs" id="runs"><colgroup><col style="width:40px"><col style="width:96px"><col>
      <col style="width:120px"><col style="width:76px"><col style="width:90px"><col style="width:104px"><col style="width:104px">
      <col style="width:104px"><col style="width:72px"><col style="width:15%"></colgroup><thead><tr><th class="nosort"><input type="checkbox" id="all"></th>
      ${COLS.map(([k, t]) => `<th data-k="${k}">${t}</th>`).join("")}</tr></thead><tbody></tbody></table>
    <p class="muted" id="empty" hidden>No jobs here.</p>
    <section id="plotbox"></section>`;
  const tbody = $("#runs tbody");
  const picked = () => [...ui.picked];
  $("#actbar").append(actionButtons(picked));
  const plotBtn = document.createElement("button");
  plotBtn.className = "act"; plotBtn.textContent = "plot selected"; plotBtn.id = "plotsel";
  plotBtn.onclick = async () => {
    $("#plotbox").innerHTML = "";
    await plotter($("#plotbox"), picked());
    $("#plotbox").scrollIntoView({ block: "nearest" });
  };
  $("#actbar").append(plotBtn);

  $("#submit").onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const args = String(f.get("args") || "").split(/\s+/).filter(Boolean);
    const entry = logEntry(`submit ${args.join(" ")}`);
    const res = await post("/api/submit", { args, message: f.get("message"), profile: f.get("profile") || null });
    entry.done(res);
    if (res.ok) e.target.reset();
    loadJobs();
  };
  $("#filter").oninput = (e) => { ui.filter = e.target.value.toLowerCase(); draw(); };
  $("#runs thead").onclick = (e) => {
    const th = e.target.closest("th[data-k]");
    if (!th) return;
    if (ui.sort === th.dataset.k) ui.asc = !ui.asc; else { ui.sort = th.dataset.k; ui.asc = true; }
    draw();
  };
  $("#all").onchange = (e) => {
    for (const j of shown) e.target.checked ? ui.picked.add(j.id) : ui.picked.delete(j.id);
    draw();
  };
  tbody.onchange = (e) => {
    const cb = e.target.closest("input[data-id]");
    if (!cb) return;
    cb.checked ? ui.picked.add(cb.dataset.id) : ui.picked.delete(cb.dataset.id);
    cb.closest("tr").classList.toggle("picked", cb.checked);
    counts();
  };

  function matches(j) {
    if (ui.tab !== "all" && place(j) !== ui.tab) return false;
    if (!ui.filter) return true;
    const hay = `${j.id} ${j.message} ${j.status} ${j.reason || ""} ${j.profile || ""} ${j.sweep || ""} ${(j.args || []).join(" ")} ${paramText(j)}`.toLowerCase();
    return ui.filter.split(/\s+/).every((w) => hay.includes(w));
  }
  function visible() {
    const k = ui.sort, dir = ui.asc ? 1 : -1;
    const key = (j) => k === "args" ? (j.args || []).join(" ") : j[k] ?? "";
    return store.jobs.filter(matches).map((j) => [key(j), j]).sort((a, b) => {
      const x = a[0], y = b[0];
      return (typeof x === "number" && typeof y === "number" ? x - y : x < y ? -1 : x > y ? 1 : 0) * dir;
    }).map((p) => p[1]);
  }
  function counts() {
    const n = { all: store.jobs.length, active: 0, done: 0, archive: 0, delete: 0 };
    for (const j of store.jobs) n[place(j)]++;
    $("#tabs").innerHTML = ["all", "active", "done", "archive", "delete"]
      .map((t) => `<button data-tab="${t}" class="${ui.tab === t ? "on" : ""}">${t}<span class="n">${n[t]}</span></button>`).join("");
    $("#selcount").textContent = ui.picked.size ? `${ui.picked.size} selected` : "";
    for (const b of $("#actbar").querySelectorAll("button")) b.disabled = !ui.picked.size;
  }
  $("#tabs").onclick = (e) => { const b = e.target.closest("button[data-tab]"); if (b) { ui.tab = b.dataset.tab; draw(); } };

  // Short times in the table (month-day hour:minute), the whole one on hover.
  const when = (t) => t ? `<span title="${esc(t)}">${fmtTime(t).slice(5)}</span>` : "";
  function row(j) {
    const p = pending.get(j.id);
    const on = ui.picked.has(j.id);
    return `<tr data-id="${esc(j.id)}"${on ? ' class="picked"' : ""}><td><input type="checkbox" data-id="${esc(j.id)}"${on ? " checked" : ""}></td>` +
      `<td><a href="/jobs/${esc(j.id)}">${esc(j.id)}</a></td><td class="msg" title="${esc(j.message)}">${esc(j.message)}</td>` +
      `<td>${p ? `<span class="chip pending-action">${esc(p)}…</span>` : chip(j)}${j.reason ? ` <span class="muted">${esc(j.reason)}</span>` : ""}</td>` +
      `<td>${esc(j.profile || "")}</td><td>${esc(j.sweep || "")}</td>` +
      `<td>${when(j.submit)}</td><td>${when(j.start)}</td><td>${when(j.end)}</td><td>${fmtElapsed(j.elapsed_secs)}</td>` +
      `<td class="mono" title="${esc((j.args || []).join(" "))}">${esc((j.args || []).join(" "))}</td></tr>`;
  }
  // Only the rows in view (and a margin) are in the DOM: 10,000 jobs draw as fast as 50.
  const ROW_H = 30, MARGIN = 30;
  let shown = [], painted = "";
  function paint(force) {
    const top = $("#runs").getBoundingClientRect().top + scrollY + $("#runs thead").offsetHeight;
    const first = Math.max(0, Math.floor((scrollY - top) / ROW_H) - MARGIN);
    const last = Math.min(shown.length, first + Math.ceil(innerHeight / ROW_H) + 2 * MARGIN);
    const key = `${first}:${last}`;
    if (!force && key === painted) return;
    painted = key;
    const pad = (h) => h > 0 ? `<tr class="spacer" style="height:${h}px"><td colspan="${COLS.length + 1}"></td></tr>` : "";
    tbody.innerHTML = pad(first * ROW_H) + shown.slice(first, last).map(row).join("") + pad((shown.length - last) * ROW_H);
  }
  let ticking = false;
  addEventListener("scroll", () => {
    if (ticking) return;
    ticking = true;
    requestAnimationFrame(() => { ticking = false; paint(false); });
  }, { passive: true });
  addEventListener("resize", () => paint(false));
  function draw() {
    const t0 = performance.now();
    shown = visible();
    paint(true);
    $("#empty").hidden = shown.length > 0;
    for (const th of $("#runs thead").querySelectorAll("th[data-k]")) {
      th.className = th.dataset.k === ui.sort ? "sorted" + (ui.asc ? " asc" : "") : "";
    }
    counts();
    document.body.dataset.rows = String(shown.length);
    // Layout now, so the time (read by the bench) covers what the reader waits for.
    void tbody.offsetHeight;
    window.gruntDraw = { rows: shown.length, ms: performance.now() - t0, at: performance.now() };
  }
  store.listeners.clear();
  store.listeners.add(draw);
  draw();
}

// ---- plots ----------------------------------------------------------------------------------

function parseTable(text, name) {
  const sep = /\.tsv$/i.test(name) ? "\t" : ",";
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  if (!lines.length) return { cols: [], rows: [] };
  const cols = lines[0].split(sep).map((c) => c.trim().replace(/^"|"$/g, ""));
  const rows = lines.slice(1).map((l) => l.split(sep).map((v) => { const n = Number(v); return v.trim() === "" || isNaN(n) ? null : n; }));
  return { cols, rows };
}

// A plot of result files (CSV/TSV) of one or more jobs: file, x and y columns, one series a job.
async function plotter(box, ids) {
  box.innerHTML = `<div class="plot"><div class="controls muted">reading results of ${esc(ids.join(", "))}…</div></div>`;
  const el = $(".plot", box);
  if (!ids.length) { $(".controls", el).textContent = "select jobs to plot"; return; }
  const jobs = await Promise.all(ids.map((id) => api(`/api/jobs/${id}`).then((r) => r.ok ? r.body : { id, results: [] })));
  const files = [...new Set(jobs.flatMap((j) => (j.results || []).filter((f) => /\.(csv|tsv)$/i.test(f))))].sort();
  if (!files.length) {
    $(".controls", el).textContent = "no CSV/TSV results for these jobs yet (grunt results, then grunt link)";
    return;
  }
  el.innerHTML = `<div class="controls">
    <label>file <select class="file">${files.map((f) => `<option>${esc(f)}</option>`).join("")}</select></label>
    <label>x <select class="x"></select></label><label>y <select class="y"></select></label>
    <label>legend <select class="legend"><option value="id">job id</option><option value="params">parameters</option><option value="args">args</option><option value="message">message</option></select></label>
    <button class="act png">PNG</button><button class="act csv">CSV</button>
    <span class="muted">drag to zoom, double-click to reset</span></div><div class="chart"></div>`;
  const tables = new Map();
  async function tablesFor(file) {
    const out = [];
    for (const j of jobs) {
      if (!(j.results || []).includes(file)) continue;
      const key = j.id + "/" + file;
      if (!tables.has(key)) {
        const r = await fetch(`/api/jobs/${j.id}/files/${file.split("/").map(encodeURIComponent).join("/")}`, { credentials: "same-origin" });
        tables.set(key, r.ok ? parseTable(await r.text(), file) : { cols: [], rows: [] });
      }
      out.push([j, tables.get(key)]);
    }
    return out;
  }
  let current = null;
  async function render(resetCols) {
    const file = $(".file", el).value;
    const ts = await tablesFor(file);
    const cols = [...new Set(ts.flatMap(([, t]) => t.cols))];
    if (resetCols) {
      const opts = cols.map((c) => `<option>${esc(c)}</option>`).join("");
      $(".x", el).innerHTML = opts; $(".y", el).innerHTML = opts;
      $(".y", el).selectedIndex = Math.min(1, cols.length - 1);
    }
    const xc = $(".x", el).value, yc = $(".y", el).value;
    const legend = $(".legend", el).value;
    const parts = ts.map(([j, t]) => {
      const xi = t.cols.indexOf(xc), yi = t.cols.indexOf(yc);
      const pts = t.rows.map((r) => [r[xi], r[yi]]).filter(([x]) => x != null).sort((a, b) => a[0] - b[0]);
      return { j, xs: pts.map((p) => p[0]), ys: pts.map((p) => p[1]) };
    }).filter((p) => p.xs.length);
    const chart = $(".chart", el);
    chart.innerHTML = "";
    if (current) { current.destroy(); current = null; }
    if (!parts.length) { chart.textContent = "nothing numeric to plot in these columns"; return; }
    const data = uPlot.join(parts.map((p) => [p.xs, p.ys]));
    const palette = ["#2f6fde", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#a61e4d", "#5c940d"];
    const label = (j) => legend === "params" ? `${j.id} ${paramText(j) || (j.args || []).join(" ")}` : legend === "args" ? `${j.id} ${(j.args || []).join(" ")}` : legend === "message" ? `${j.id} ${j.message || ""}` : j.id;
    current = new uPlot({
      width: Math.max(400, chart.clientWidth || box.clientWidth || 800) - 10, height: 320,
      scales: { x: { time: false } },
      axes: [{ label: xc }, { label: yc }],
      series: [{ label: xc }, ...parts.map((p, i) => ({ label: label(p.j), stroke: palette[i % palette.length], width: 1.5, spanGaps: true }))],
    }, data, chart);
    current._grunt = { data, xc, parts, label };
  }
  for (const c of [".x", ".y", ".legend"]) $(c, el).onchange = () => render(false);
  $(".file", el).onchange = () => render(true);
  $(".png", el).onclick = () => {
    if (!current) return;
    const src = current.ctx.canvas, c = document.createElement("canvas");
    c.width = src.width; c.height = src.height;
    const g = c.getContext("2d"); g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height); g.drawImage(src, 0, 0);
    download(c.toDataURL("image/png"), "plot.png");
  };
  $(".csv", el).onclick = () => {
    if (!current) return;
    const { data, xc, parts, label } = current._grunt;
    const head = [xc, ...parts.map((p) => label(p.j))].map((h) => `"${String(h).replace(/"/g, '""')}"`).join(",");
    const lines = data[0].map((x, i) => [x, ...data.slice(1).map((s) => s[i] ?? "")].join(","));
    download(URL.createObjectURL(new Blob([head + "\n" + lines.join("\n") + "\n"], { type: "text/csv" })), "plot.csv");
  };
  await render(true);
}

function download(href, name) {
  const a = document.createElement("a");
  a.href = href; a.download = name; document.body.append(a); a.click(); a.remove();
}

// ---- the job page ---------------------------------------------------------------------------

async function jobView(app, id) {
  app.innerHTML = `<p class="muted">reading ${esc(id)}…</p>`;
  const r = await api(`/api/jobs/${encodeURIComponent(id)}`);
  if (!r.ok) {
    app.innerHTML = `<h1>${esc(id)}</h1><pre class="box err">${esc(r.body.stderr || r.body.error || r.text)}</pre>`;
    return;
  }
  const j = r.body;
  document.title = `${j.id} · grunt ui`;
  const field = (k, v) => v ? `<div class="k">${k}</div><div>${v}</div>` : "";
  app.innerHTML = `
    <h1 class="mono" style="font-size:20px">${esc(j.id)} ${chip(j)}</h1>
    <div class="bar" id="jobacts"></div>
    <div class="grid">
      ${field("message", esc(j.message))}
      ${field("args", `<span class="mono">${esc((j.args || []).join(" "))}</span>`)}
      ${field("parameters", j.params ? `<span class="mono">${esc(paramText(j))}</span>` : "")}
      ${field("state", `${esc(j.status)}${j.reason ? " — " + esc(j.reason) : ""}`)}
      ${field("profile", esc(j.profile))}${field("sweep", esc(j.sweep))}
      ${field("submitted", fmtTime(j.submit))}${field("started", fmtTime(j.start))}${field("ended", fmtTime(j.end))}
      ${field("elapsed", fmtElapsed(j.elapsed_secs))}${field("batch id", esc(j.batch_id))}
      ${field("scheduler", esc(j.scheduler_status))}${field("server", esc(j.server))}${field("location", esc(j.location))}
    </div>
    <section id="plot-section"><h2>Plot</h2><div id="plot"></div></section>
    ${j.error ? `<section><h2>job.error</h2><pre class="box err" id="joberror">${esc(j.error)}</pre></section>` : ""}
    ${j.runner_stderr ? `<section><h2>runner stderr</h2><pre class="box err">${esc(j.runner_stderr)}</pre></section>` : ""}
    <section><h2>Output <label class="muted"><input type="checkbox" id="follow"> follow</label></h2>
      <pre class="box" id="output">${esc(j.output || "(no output yet)")}</pre></section>
    <section><h2>History</h2><table class="runs"><thead><tr><th>when</th><th>commit</th><th>what</th></tr></thead><tbody>
      ${(j.history || []).map((h) => `<tr><td>${fmtTime(h.time)}</td><td class="mono">${esc(h.commit.slice(0, 10))}</td><td>${esc(h.summary)}</td></tr>`).join("")}
    </tbody></table></section>
    <section><h2>Files</h2><ul class="files">${(j.files || []).map((f) => `<li class="mono">${esc(f)}</li>`).join("") || "<li class=muted>none listed</li>"}</ul>
      <h2>Results</h2><ul class="files">${(j.results || []).map((f) => `<li><a class="mono" href="/api/jobs/${esc(j.id)}/files/${esc(f)}">${esc(f)}</a></li>`).join("") || "<li class=muted>none here yet</li>"}</ul></section>
    <section><h2>Code diff</h2><div class="bar"><input type="text" id="against" placeholder="another job id (blank: the working tree)">
      <button class="act" id="dodiff">diff</button></div><pre class="box" id="diff" hidden></pre></section>`;
  $("#jobacts").append(actionButtons(() => [j.id]));
  $("#dodiff").onclick = async () => {
    const a = $("#against").value.trim();
    const d = await api(`/api/jobs/${j.id}/diff` + (a ? `?against=${encodeURIComponent(a)}` : ""));
    const box = $("#diff"); box.hidden = false;
    box.textContent = (d.body.stdout || "") + (d.body.stderr || d.body.error || "") || "(no difference)";
  };
  // Follow: `grunt out --follow` streamed from the server until the job ends (or unticked).
  let follow = null;
  $("#follow").onchange = async (e) => {
    if (follow) { follow.abort(); follow = null; }
    if (!e.target.checked) return;
    const ctrl = new AbortController();
    follow = ctrl;
    const box = $("#output");
    box.dataset.followed = "streaming";
    try {
      const r = await fetch(`/api/jobs/${j.id}/follow`, { credentials: "same-origin", signal: ctrl.signal });
      const reader = r.body.getReader(), dec = new TextDecoder();
      box.textContent = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        box.textContent += dec.decode(value, { stream: true });
        box.scrollTop = box.scrollHeight;
      }
      box.dataset.followed = "ended";
    } catch (err) {
      box.dataset.followed = ctrl.signal.aborted ? "stopped" : "failed";
    }
    if (follow === ctrl) follow = null;
  };
  // The state chip follows the table's refresh; a changed state redraws the page.
  store.listeners.clear();
  let seen = j.status;
  store.listeners.add(() => {
    const now = store.jobs.find((x) => x.id === j.id);
    if (now && now.status !== seen && !pending.has(j.id) && !follow) { seen = now.status; jobView(app, id); }
  });
  plotter($("#plot"), [j.id]);
}

// ---- sweeps: each sweep's points (jobs) by parameter, coloured by state ---------------------

function sweepsView(app) {
  function draw() {
    const by = new Map();
    const byId = [...store.jobs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const j of byId) if (j.sweep) (by.get(j.sweep) || by.set(j.sweep, []).get(j.sweep)).push(j);
    if (!by.size) {
      app.innerHTML = `<h1 style="font-size:18px">Sweeps</h1><p class="muted">No sweeps in this project (jobs submitted as part of a sweep carry a job.sweep file).</p>`;
      return;
    }
    app.innerHTML = `<h1 style="font-size:18px">Sweeps</h1>` + [...by].map(([s, js]) => {
      const states = {};
      for (const j of js) states[j.state] = (states[j.state] || 0) + 1;
      const keys = [...new Set(js.flatMap((j) => Object.keys(j.params || {})))].sort();
      return `<section class="sweep" data-sweep="${esc(s)}"><h2><span class="mono">${esc(s)}</span> · ${js.length} points
        ${Object.entries(states).map(([k, n]) => `<span class="chip ${esc(k)}">${esc(k)} ${n}</span>`).join(" ")}</h2>
        <table class="runs"><thead><tr><th>job</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}<th>state</th><th>message</th></tr></thead><tbody>
        ${js.map((j) => `<tr class="point ${esc(j.state)}"><td><a href="/jobs/${esc(j.id)}">${esc(j.id)}</a></td>
          ${keys.map((k) => `<td class="mono">${esc((j.params || {})[k] ?? "")}</td>`).join("")}<td>${chip(j)}</td><td>${esc(j.message)}</td></tr>`).join("")}
        </tbody></table>
        <div class="bar"><button class="act metric" data-sweep="${esc(s)}">plot a parameter against a metric</button></div>
        <div class="metricbox"></div></section>`;
    }).join("");
    for (const b of app.querySelectorAll("button.metric")) {
      b.onclick = () => metricPlot(b.closest("section").querySelector(".metricbox"), by.get(b.dataset.sweep));
    }
  }
  store.listeners.clear();
  store.listeners.add(draw);
  draw();
}

// A sweep's parameter (x) against a metric (y): the last value of a result column of each
// point, one dot per job.
async function metricPlot(box, jobs) {
  box.innerHTML = `<div class="plot"><div class="controls muted">reading the points' results…</div></div>`;
  const el = $(".plot", box);
  const details = await Promise.all(jobs.map((j) => api(`/api/jobs/${j.id}`).then((r) => r.ok ? r.body : { ...j, results: [] })));
  const files = [...new Set(details.flatMap((j) => (j.results || []).filter((f) => /\.(csv|tsv)$/i.test(f))))].sort();
  const keys = [...new Set(jobs.flatMap((j) => Object.keys(j.params || {})))].sort();
  if (!files.length || !keys.length) {
    $(".controls", el).textContent = !keys.length ? "these jobs have no parameters" : "no CSV/TSV results for these points yet (use the results action)";
    return;
  }
  el.innerHTML = `<div class="controls"><label>parameter <select class="param">${keys.map((k) => `<option>${esc(k)}</option>`).join("")}</select></label>
    <label>file <select class="file">${files.map((f) => `<option>${esc(f)}</option>`).join("")}</select></label>
    <label>metric (last value of) <select class="col"></select></label></div><div class="chart"></div>`;
  const cache = new Map();
  async function table(j, file) {
    const key = j.id + "/" + file;
    if (!cache.has(key)) {
      const r = await fetch(`/api/jobs/${j.id}/files/${file.split("/").map(encodeURIComponent).join("/")}`, { credentials: "same-origin" });
      cache.set(key, (j.results || []).includes(file) && r.ok ? parseTable(await r.text(), file) : { cols: [], rows: [] });
    }
    return cache.get(key);
  }
  let u = null;
  async function render(resetCols) {
    const file = $(".file", el).value, param = $(".param", el).value;
    const tables = await Promise.all(details.map(async (j) => [j, await table(j, file)]));
    if (resetCols) {
      const cols = [...new Set(tables.flatMap(([, t]) => t.cols))];
      $(".col", el).innerHTML = cols.map((c) => `<option>${esc(c)}</option>`).join("");
      $(".col", el).selectedIndex = Math.min(1, cols.length - 1);
    }
    const col = $(".col", el).value;
    const pts = tables.map(([j, t]) => {
      const ci = t.cols.indexOf(col);
      const last = [...t.rows].reverse().find((r) => r[ci] != null);
      return [Number((j.params || {})[param]), last ? last[ci] : null];
    }).filter(([x, y]) => !isNaN(x) && y != null).sort((a, b) => a[0] - b[0]);
    const chart = $(".chart", el);
    chart.innerHTML = "";
    if (u) { u.destroy(); u = null; }
    if (!pts.length) { chart.textContent = "no numeric points for this parameter and metric"; return; }
    u = new uPlot({
      width: Math.max(400, chart.clientWidth || 800) - 10, height: 280,
      scales: { x: { time: false } }, axes: [{ label: param }, { label: col }],
      series: [{ label: param }, { label: col, stroke: "#2f6fde", paths: () => null, points: { show: true, size: 9, fill: "#2f6fde" } }],
    }, [pts.map((p) => p[0]), pts.map((p) => p[1])], chart);
  }
  $(".param", el).onchange = () => render(false);
  $(".col", el).onchange = () => render(false);
  $(".file", el).onchange = () => render(true);
  await render(true);
}

// ---- routing --------------------------------------------------------------------------------

function route() {
  const app = $("#app");
  const m = location.pathname.match(/^\/jobs\/([A-Za-z0-9]+)$/);
  $("#nav-runs").classList.toggle("on", location.pathname === "/");
  $("#nav-sweeps").classList.toggle("on", location.pathname === "/sweeps");
  if (m) jobView(app, m[1]);
  else if (location.pathname === "/sweeps") sweepsView(app);
  else runsView(app);
}

route();
startRefresh();
