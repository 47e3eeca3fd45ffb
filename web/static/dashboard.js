/*
 * The managers' dashboard, GET /dashboard (docs/rates.md, "The dashboard").
 *
 * A manager (or an admin) logs in (POST /api/v1/login), picks a period, and the page shows
 * GET /api/v1/stats?from=&to= for it: the four rates against their targets, the daily satisfaction
 * trend, tickets by category, community and tier, the overdue list, the share of conversations
 * the bot settled alone and the topics residents found least helpful. Every table links its CSV
 * (GET /api/v1/stats/{table}.csv?from=&to=). Charts are SVG drawn here; nothing is loaded from
 * anywhere else (CSP: default-src 'self').
 *
 * Dates are Beijing days. The API's `to` is exclusive; the picker shows the last day included
 * (to − 1), which is what a person means by "to".
 *
 * Every string from the server goes into the page with textContent (or an SVG text node), never
 * as markup.
 *
 * The language switch, the words the staff pages share, the REST wrapper and the login form are
 * staff.js's (GET /staff.js, loaded first).
 */
(function () {
  "use strict";

  // ---- words ----

  // Chart colours (SVG presentation attributes take no CSS variables).
  const COLORS = { sat: "#2e8540", basic: "#8cc68f", dis: "#d9534f", blue: "#1661ab", bar: "#4a86c5" };
  const RATE_ORDER = ["signed_on_time", "resolved_on_time", "solved", "satisfied"];

  // The language, the words (the catalogue's dashboard.* over the shared ones: the login form's,
  // ticket statuses, tiers and the rates' names), the REST wrapper and the login form come from
  // staff.js.
  const staff = HotlineStaff.page({
    page: "dashboard",
    langKey: "hotline.dashboard.lang",
    csrf: function () {
      return me && me.csrf;
    },
    statusInMessage: true,
  });
  const { t, tk, api } = staff;
  const { str, $, clear } = HotlineStaff;

  function num(v) {
    return typeof v === "number" && isFinite(v) ? v : 0;
  }

  // pct shows a fraction as a percent with one decimal, "—" when there is none (null: nothing to
  // divide). Rounded half up at the first decimal, the same on every browser.
  function pct(v) {
    if (typeof v !== "number" || !isFinite(v)) {
      return "—";
    }
    return (Math.round(v * 1000) / 10).toFixed(1) + "%";
  }
  // verdict: "good" at or above the target, "bad" below, "none" without a value.
  function verdict(value, target) {
    if (typeof value !== "number" || !isFinite(value)) {
      return "none";
    }
    return value >= num(target) ? "good" : "bad";
  }

  // ---- dates (Beijing days, as YYYY-MM-DD) ----

  const DAY = 86400000;
  function isDay(s) {
    return /^\d{4}-\d{2}-\d{2}$/.test(s) && !isNaN(Date.parse(s + "T00:00:00Z"));
  }
  function beijingToday() {
    return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
  }
  function addDays(day, n) {
    return new Date(Date.parse(day + "T00:00:00Z") + n * DAY).toISOString().slice(0, 10);
  }
  function daysBetween(a, b) {
    return Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / DAY);
  }
  // beijingTime formats an RFC 3339 time as "YYYY-MM-DD HH:MM", Beijing time.
  function beijingTime(s) {
    const ms = Date.parse(str(s));
    if (isNaN(ms)) {
      return str(s);
    }
    return new Date(ms + 8 * 3600000).toISOString().slice(0, 16).replace("T", " ");
  }

  // ---- the page ----

  const statusEl = $("status");
  const whoamiEl = $("whoami");
  const langBtn = $("lang");
  const logoutBtn = $("logout");
  const forbiddenView = $("forbidden-view");
  const forbiddenText = $("forbidden-text");
  const switchBtn = $("switch-user");
  const dash = $("dash");
  const periodForm = $("period");
  const fromInput = $("from");
  const toInput = $("to");
  const shownEl = $("shown");
  const content = $("content");

  let me = null; // {name, role, csrf}
  let period = null; // {from, to}: the API's parameters (to exclusive)
  let stats = null; // the last answer shown
  let seq = 0; // the latest request; older answers are dropped

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        if (attrs[k] !== undefined && attrs[k] !== null) {
          e.setAttribute(k, attrs[k]);
        }
      }
    }
    if (text !== undefined && text !== null) {
      e.textContent = str(text);
    }
    return e;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function sv(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        e.setAttribute(k, String(attrs[k]));
      }
    }
    if (text !== undefined && text !== null) {
      e.textContent = str(text);
    }
    return e;
  }
  function showStatus(message, kind) {
    statusEl.className = "status" + (kind ? " " + kind : "");
    statusEl.textContent = message || "";
  }

  function applyLang() {
    staff.applyTexts(langBtn);
    document.title = t("title");
    renderWhoami();
    if (me && !forbiddenView.hidden) {
      renderForbidden();
    }
    if (stats) {
      render(stats);
    }
  }

  staff.langButton(langBtn, applyLang);

  function renderWhoami() {
    whoamiEl.textContent = me ? me.name + " · " + t("role." + me.role) : "";
  }

  // ---- who is looking ----

  function canSee(u) {
    return !!u && (u.role === "manager" || u.role === "admin");
  }

  function showLogin(message) {
    me = null;
    stats = null;
    renderWhoami();
    dash.hidden = true;
    forbiddenView.hidden = true;
    logoutBtn.hidden = true;
    showStatus("");
    login.show(message);
  }

  function renderForbidden() {
    forbiddenText.textContent = t("forbidden.text", { name: me ? me.name : "", role: me && me.role ? t("role." + me.role) : "" });
  }

  function showForbidden() {
    stats = null;
    dash.hidden = true;
    login.hide();
    forbiddenView.hidden = false;
    logoutBtn.hidden = false;
    renderForbidden();
    showStatus("");
  }

  function signedIn(u) {
    me = { name: str(u.name), role: str(u.role), csrf: str(u.csrf) };
    renderWhoami();
    if (!canSee(me)) {
      showForbidden();
      return;
    }
    login.hide();
    forbiddenView.hidden = true;
    logoutBtn.hidden = false;
    dash.hidden = false;
    load();
  }

  const login = staff.loginForm(signedIn);

  async function logout() {
    await staff.logout(); // the login form either way
    showLogin("");
  }
  logoutBtn.addEventListener("click", logout);
  switchBtn.addEventListener("click", logout);

  // ---- the period ----

  function setPeriod(from, to) {
    period = { from: from, to: to };
    fromInput.value = from;
    toInput.value = addDays(to, -1);
    for (const a of document.querySelectorAll("a.csv[data-table]")) {
      a.href = "/api/v1/stats/" + a.dataset.table + ".csv?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to);
      a.setAttribute("download", "hotline-" + a.dataset.table + "-" + from + "-" + addDays(to, -1) + ".csv");
    }
    periodForm.dataset.from = from;
    periodForm.dataset.to = to;
    const hash = "#from=" + from + "&to=" + to;
    if (location.hash !== hash) {
      history.replaceState(null, "", location.pathname + location.search + hash);
    }
  }

  function defaultPeriod() {
    const to = addDays(beijingToday(), 1);
    return { from: addDays(to, -30), to: to };
  }

  function periodFromHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    const from = p.get("from") || "";
    const to = p.get("to") || "";
    if (isDay(from) && isDay(to) && from < to) {
      return { from: from, to: to };
    }
    return null;
  }

  periodForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const from = fromInput.value;
    const last = toInput.value;
    if (!isDay(from) || !isDay(last)) {
      showStatus(t("period.bad"));
      return;
    }
    if (from > last) {
      showStatus(t("period.order"));
      return;
    }
    setPeriod(from, addDays(last, 1));
    load();
  });

  for (const b of periodForm.querySelectorAll("button[data-days], button[data-month]")) {
    b.addEventListener("click", function () {
      const today = beijingToday();
      if (b.dataset.days) {
        const to = addDays(today, 1);
        setPeriod(addDays(to, -Number(b.dataset.days)), to);
      } else {
        const y = Number(today.slice(0, 4));
        const m = Number(today.slice(5, 7)) - 1 + Number(b.dataset.month);
        const first = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
        const next = new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
        setPeriod(first, next);
      }
      load();
    });
  }

  window.addEventListener("hashchange", function () {
    const p = periodFromHash();
    if (p && me && canSee(me) && (!period || p.from !== period.from || p.to !== period.to)) {
      setPeriod(p.from, p.to);
      load();
    }
  });

  // ---- loading ----

  async function load() {
    if (!period) {
      const p = periodFromHash() || defaultPeriod();
      setPeriod(p.from, p.to);
    }
    const mine = ++seq;
    content.classList.add("loading");
    dash.setAttribute("aria-busy", "true");
    dash.dataset.state = "loading";
    showStatus(t("loading"), "info");
    let data;
    try {
      data = await api("GET", "/api/v1/stats?from=" + encodeURIComponent(period.from) + "&to=" + encodeURIComponent(period.to));
    } catch (e) {
      if (mine !== seq) {
        return;
      }
      content.classList.remove("loading");
      dash.removeAttribute("aria-busy");
      dash.dataset.state = "error";
      if (e.status === 401) {
        showLogin(t("login.expired"));
      } else if (e.status === 403) {
        showForbidden();
      } else {
        showStatus(t("err.load") + ": " + e.message);
      }
      return;
    }
    if (mine !== seq) {
      return;
    }
    content.classList.remove("loading");
    dash.removeAttribute("aria-busy");
    showStatus("");
    stats = data || {};
    render(stats);
    dash.dataset.state = "ready";
    dash.dataset.from = str(stats.from) || period.from;
    dash.dataset.to = str(stats.to) || period.to;
  }

  // ---- drawing ----

  function render(s) {
    const from = isDay(str(s.from)) ? s.from : period.from;
    const to = isDay(str(s.to)) ? s.to : period.to;
    shownEl.textContent = t("period.shown", { from: from, to: addDays(to, -1) });
    const labels = {
      category: keyLabels(s.by_category),
      community: keyLabels(s.by_community),
    };
    renderRates(Array.isArray(s.rates) ? s.rates : []);
    renderDaily(Array.isArray(s.daily) ? s.daily : [], from, to);
    renderGroups("category", Array.isArray(s.by_category) ? s.by_category : [], true);
    renderGroups("community", Array.isArray(s.by_community) ? s.by_community : [], true);
    renderGroups("tier", Array.isArray(s.by_tier) ? s.by_tier : [], false);
    renderBot(s.bot || {}, Array.isArray(s.unhelpful_topics) ? s.unhelpful_topics : []);
    renderChat(s.chat || {});
    renderOverdue(Array.isArray(s.overdue) ? s.overdue : [], labels);
  }

  function keyLabels(rows) {
    const m = new Map();
    for (const r of Array.isArray(rows) ? rows : []) {
      if (r && r.key) {
        m.set(str(r.key), str(r.label));
      }
    }
    return m;
  }

  function rateName(r) {
    return tk("rates." + str(r.rate), str(r.label) || str(r.rate));
  }

  function ordered(rates) {
    const byName = new Map();
    for (const r of rates) {
      if (r && r.rate) {
        byName.set(str(r.rate), r);
      }
    }
    const out = [];
    for (const n of RATE_ORDER) {
      if (byName.has(n)) {
        out.push(byName.get(n));
        byName.delete(n);
      }
    }
    return out.concat(Array.from(byName.values()));
  }

  function renderRates(rates) {
    const box = $("rates");
    clear(box);
    for (const r of ordered(rates)) {
      const v = verdict(r.value, r.target);
      const card = el("div", { class: "rate " + v, "data-rate": str(r.rate), "data-state": v });
      card.appendChild(el("div", { class: "name" }, rateName(r)));
      const value = el("div", { class: "value" + (v === "none" ? " none" : " " + v), "data-testid": "rate-" + str(r.rate), "data-state": v }, pct(r.value));
      value.title = num(r.numerator) + "/" + num(r.denominator);
      card.appendChild(value);
      card.appendChild(el("div", { class: "meta" }, t("rates.target", { target: pct(r.target) }) + " · " + num(r.numerator) + "/" + num(r.denominator)));
      card.appendChild(el("div", { class: "verdict" }, t("rates." + v)));
      box.appendChild(card);
    }
  }

  // The daily trend: a stacked bar a day (满意, 基本满意, 不满意) and the day's satisfaction rate
  // as a line over them (right-hand scale, 0–100 %).
  function renderDaily(daily, from, to) {
    const wrap = $("daily-wrap");
    const legend = $("daily-legend");
    clear(wrap);
    clear(legend);
    const byDay = new Map();
    for (const d of daily) {
      if (d && isDay(str(d.day))) {
        byDay.set(d.day, d);
      }
    }
    // Every day of the period when it is not too long to draw; else the days with ratings.
    let days = [];
    const span = daysBetween(from, to);
    if (span > 0 && span <= 400) {
      for (let i = 0; i < span; i++) {
        days.push(addDays(from, i));
      }
      for (const d of byDay.keys()) {
        if (d < from || d >= to) {
          days.push(d);
        }
      }
      days.sort();
    } else {
      days = Array.from(byDay.keys()).sort();
    }
    const W = 960, H = 240, L = 40, R = 44, T = 12, B = 30;
    const svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "data-testid": "daily-chart", "data-days": byDay.size });
    svg.appendChild(sv("title", null, t("daily.title")));
    const cw = W - L - R, ch = H - T - B;
    let max = 0;
    for (const d of byDay.values()) {
      max = Math.max(max, num(d.satisfied) + num(d.basically_satisfied) + num(d.dissatisfied));
    }
    const top = Math.max(1, niceCeil(max));
    // Axes and grid.
    for (let i = 0; i <= 4; i++) {
      const y = T + ch - (ch * i) / 4;
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: i === 0 ? "#9aa5b1" : "#e4e8ec", "stroke-width": 1 }));
      const count = (top * i) / 4;
      if (Number.isInteger(count)) {
        svg.appendChild(sv("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 11 }, count));
      }
      svg.appendChild(sv("text", { x: W - R + 6, y: y + 4, "font-size": 11 }, i * 25 + "%"));
    }
    const n = Math.max(days.length, 1);
    const step = cw / n;
    const bw = Math.max(1, Math.min(28, step * 0.7));
    const points = [];
    days.forEach(function (day, i) {
      const d = byDay.get(day);
      const x = L + step * i + (step - bw) / 2;
      const g = sv("g", { "data-day": day });
      if (d) {
        const parts = [
          ["dissatisfied", num(d.dissatisfied), COLORS.dis],
          ["basically_satisfied", num(d.basically_satisfied), COLORS.basic],
          ["satisfied", num(d.satisfied), COLORS.sat],
        ];
        let y = T + ch;
        for (const p of parts) {
          g.setAttribute("data-" + p[0].replace("_", "-"), p[1]);
          if (p[1] > 0) {
            const h = (ch * p[1]) / top;
            y -= h;
            g.appendChild(sv("rect", { x: x, y: y, width: bw, height: h, fill: p[2] }));
          }
        }
        g.setAttribute("data-rate", typeof d.rate === "number" ? d.rate : "");
        g.appendChild(sv("title", null, t("daily.tip", { day: day, s: num(d.satisfied), b: num(d.basically_satisfied), d: num(d.dissatisfied), rate: pct(d.rate) })));
        // An invisible full-height target for the tooltip.
        g.appendChild(sv("rect", { x: L + step * i, y: T, width: step, height: ch, fill: "transparent" }));
        if (typeof d.rate === "number" && isFinite(d.rate)) {
          points.push([L + step * i + step / 2, T + ch - ch * Math.max(0, Math.min(1, d.rate))]);
        }
      }
      svg.appendChild(g);
    });
    if (points.length > 1) {
      svg.appendChild(sv("polyline", { points: points.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "),
        fill: "none", stroke: COLORS.blue, "stroke-width": 2, "pointer-events": "none" }));
    }
    for (const p of points) {
      svg.appendChild(sv("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 3.5, fill: "#fff", stroke: COLORS.blue, "stroke-width": 2, "pointer-events": "none" }));
    }
    // Dates under the axis: the first, the last and a few between.
    if (days.length > 0) {
      const every = Math.max(1, Math.ceil(days.length / 8));
      days.forEach(function (day, i) {
        if (i % every === 0 || i === days.length - 1) {
          if (i === days.length - 1 && i % every !== 0 && i % every < every / 2) {
            return; // too close to the previous label
          }
          svg.appendChild(sv("text", { x: L + step * i + step / 2, y: H - 10, "text-anchor": "middle", "font-size": 11 }, day.slice(5)));
        }
      });
    }
    if (byDay.size === 0) {
      svg.appendChild(sv("text", { x: L + cw / 2, y: T + ch / 2, "text-anchor": "middle", "font-size": 14, fill: "#8a96a3" }, t("daily.empty")));
    }
    wrap.appendChild(svg);
    for (const [key, color] of [["satisfied", COLORS.sat], ["basically_satisfied", COLORS.basic], ["dissatisfied", COLORS.dis], ["rate", COLORS.blue]]) {
      const item = el("span");
      const sw = el("i");
      sw.style.background = color;
      if (key === "rate") {
        sw.style.height = "3px";
        sw.style.verticalAlign = "3px";
      }
      item.appendChild(sw);
      item.appendChild(document.createTextNode(t("daily." + key)));
      legend.appendChild(item);
    }
  }

  function niceCeil(v) {
    if (v <= 4) {
      return 4;
    }
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 4, 5, 10]) {
      if (m * p >= v && Number.isInteger((m * p) / 4)) {
        return m * p;
      }
    }
    return Math.ceil(v / 4) * 4;
  }

  function groupLabel(kind, row) {
    if (kind === "tier") {
      return tk("tier." + str(row.key), "") || str(row.label) || str(row.key);
    }
    return str(row.label) || str(row.key);
  }

  // renderGroups fills the table of one breakdown (and its bar chart of ticket counts).
  function renderGroups(kind, rows, chart) {
    const table = $(kind + "-table");
    clear(table);
    const head = el("tr");
    head.appendChild(el("th", { scope: "col" }, t(kind + ".col")));
    head.appendChild(el("th", { scope: "col", class: "num" }, t("col.tickets")));
    for (const r of RATE_ORDER) {
      head.appendChild(el("th", { scope: "col", class: "num" }, t("rates." + r)));
    }
    const thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr", { "data-key": str(row.key) });
      tr.appendChild(el("td", { "data-col": "label" }, groupLabel(kind, row)));
      tr.appendChild(el("td", { class: "num", "data-col": "tickets" }, num(row.tickets)));
      const byName = new Map();
      for (const r of Array.isArray(row.rates) ? row.rates : []) {
        byName.set(str(r.rate), r);
      }
      for (const name of RATE_ORDER) {
        const r = byName.get(name) || { value: null, numerator: 0, denominator: 0, target: 0 };
        const v = verdict(r.value, r.target);
        const td = el("td", { class: "num " + v, "data-col": name, "data-state": v }, pct(r.value));
        td.title = num(r.numerator) + "/" + num(r.denominator) + " · " + t("rates.target", { target: pct(r.target) });
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    if (rows.length === 0) {
      body.appendChild(emptyRow(2 + RATE_ORDER.length));
    }
    table.appendChild(body);
    if (chart) {
      renderBars($(kind + "-chart"), kind, rows);
    }
  }

  function emptyRow(cols) {
    const tr = el("tr", { class: "empty" });
    tr.appendChild(el("td", { colspan: cols }, t("empty")));
    return tr;
  }

  // renderBars draws the ticket counts as horizontal bars, largest first.
  function renderBars(box, kind, rows) {
    clear(box);
    const MAX_ROWS = 12;
    const sorted = rows.slice().sort(function (a, b) {
      return num(b.tickets) - num(a.tickets) || groupLabel(kind, a).localeCompare(groupLabel(kind, b));
    });
    const shown = sorted.slice(0, MAX_ROWS);
    if (shown.length === 0) {
      return;
    }
    const W = 480, rowH = 22, labelW = 170, T = 4;
    const H = T * 2 + rowH * shown.length;
    const svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "data-testid": kind + "-chart" });
    svg.appendChild(sv("title", null, t(kind + ".title")));
    let max = 0;
    for (const r of shown) {
      max = Math.max(max, num(r.tickets));
    }
    const bwMax = W - labelW - 50;
    shown.forEach(function (r, i) {
      const y = T + rowH * i;
      const label = groupLabel(kind, r);
      const g = sv("g", { "data-key": str(r.key), "data-tickets": num(r.tickets) });
      g.appendChild(sv("title", null, t("chart.tip", { label: label, n: num(r.tickets) })));
      g.appendChild(sv("text", { x: labelW - 6, y: y + rowH / 2 + 4, "text-anchor": "end", "font-size": 12 }, shorten(label, 13)));
      const w = max > 0 ? Math.max(num(r.tickets) > 0 ? 2 : 0, (bwMax * num(r.tickets)) / max) : 0;
      g.appendChild(sv("rect", { x: labelW, y: y + 4, width: w.toFixed(1), height: rowH - 8, rx: 2, fill: COLORS.bar }));
      g.appendChild(sv("text", { x: labelW + w + 5, y: y + rowH / 2 + 4, "font-size": 12 }, num(r.tickets)));
      svg.appendChild(g);
    });
    box.appendChild(svg);
    if (sorted.length > shown.length) {
      box.appendChild(el("div", { class: "note" }, t("chart.top", { n: shown.length })));
    }
  }

  function shorten(s, n) {
    const a = Array.from(s);
    return a.length > n ? a.slice(0, n - 1).join("") + "…" : s;
  }

  function renderBot(bot, topics) {
    const share = $("bot-share");
    share.textContent = pct(bot.share);
    share.classList.toggle("none", typeof bot.share !== "number");
    const dl = $("bot-details");
    clear(dl);
    const answered = num(bot.helpful) + num(bot.unhelpful);
    const rows = [
      ["conversations", num(bot.conversations)],
      ["settled", num(bot.settled)],
      ["votes", num(bot.votes)],
      ["helpful", num(bot.helpful) + (answered > 0 ? " (" + pct(num(bot.helpful) / answered) + ")" : "")],
      ["unhelpful", num(bot.unhelpful)],
    ];
    for (const [key, value] of rows) {
      dl.appendChild(el("dt", null, t("bot." + key)));
      dl.appendChild(el("dd", { "data-field": key }, value));
    }

    const table = $("topics-table");
    clear(table);
    const thead = el("thead");
    const head = el("tr");
    head.appendChild(el("th", { scope: "col" }, t("topics.topic")));
    head.appendChild(el("th", { scope: "col", class: "num" }, t("topics.helpful")));
    head.appendChild(el("th", { scope: "col", class: "num" }, t("topics.unhelpful")));
    head.appendChild(el("th", { scope: "col", class: "num" }, t("topics.share")));
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el("tbody");
    for (const tp of topics) {
      const tr = el("tr", { "data-key": str(tp.topic) });
      const name = el("td", { "data-col": "title" }, str(tp.title) || str(tp.topic));
      name.title = str(tp.topic);
      tr.appendChild(name);
      tr.appendChild(el("td", { class: "num", "data-col": "helpful" }, num(tp.helpful)));
      tr.appendChild(el("td", { class: "num", "data-col": "unhelpful" }, num(tp.unhelpful)));
      tr.appendChild(el("td", { class: "num", "data-col": "share" }, pct(tp.share)));
      body.appendChild(tr);
    }
    if (topics.length === 0) {
      body.appendChild(emptyRow(4));
    }
    table.appendChild(body);
  }

  // duration is seconds as people read them: 45 秒, 3 分 20 秒, 1 小时 5 分; "—" for none.
  function duration(v) {
    if (typeof v !== "number" || !isFinite(v)) {
      return "—";
    }
    const s = Math.round(v);
    if (s < 60) {
      return t("dur.s", { s: s });
    }
    if (s < 3600) {
      return s % 60 ? t("dur.ms", { m: Math.floor(s / 60), s: s % 60 }) : t("dur.m", { m: s / 60 });
    }
    return t("dur.hm", { h: Math.floor(s / 3600), m: Math.round((s % 3600) / 60) });
  }

  // renderChat: what the period's conversations show of the bot and the desk, and the emergencies.
  function renderChat(c) {
    const res = $("chat-resolution");
    res.textContent = pct(c.resolution);
    res.classList.toggle("none", typeof c.resolution !== "number");
    const dl = $("chat-details");
    clear(dl);
    const rows = [
      ["conversations", num(c.conversations)],
      ["answered", num(c.answered)],
      ["resolved", num(c.resolved)],
      ["handoffs", num(c.handoffs)],
      ["taken", num(c.taken)],
      ["abandoned", num(c.abandoned) + (typeof c.abandoned_share === "number" ? " (" + pct(c.abandoned_share) + ")" : "")],
      ["waiting", num(c.waiting)],
      ["wait", duration(c.wait_p50_seconds) + " / " + duration(c.wait_p90_seconds)],
      ["firstResponse", duration(c.first_response_p50_seconds) + " / " + duration(c.first_response_p90_seconds)],
    ];
    for (const [key, value] of rows) {
      dl.appendChild(el("dt", null, t("chat." + key)));
      dl.appendChild(el("dd", { "data-field": key }, value));
    }

    const days = Array.isArray(c.emergencies) ? c.emergencies : [];
    const table = $("emergency-table");
    clear(table);
    const thead = el("thead");
    const head = el("tr");
    for (const [key, cls] of [["day", ""], ["count", "num"], ["taken", "num"], ["p50", "num"], ["max", "num"]]) {
      head.appendChild(el("th", cls ? { scope: "col", class: cls } : { scope: "col" }, t("emergency." + key)));
    }
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el("tbody");
    for (const d of days) {
      const tr = el("tr", { "data-key": str(d.day) });
      tr.appendChild(el("td", { "data-col": "day" }, str(d.day)));
      tr.appendChild(el("td", { class: "num", "data-col": "count" }, num(d.emergencies)));
      tr.appendChild(el("td", { class: "num", "data-col": "taken" }, num(d.taken)));
      tr.appendChild(el("td", { class: "num", "data-col": "p50" }, duration(d.to_operator_p50_seconds)));
      tr.appendChild(el("td", { class: "num", "data-col": "max" }, duration(d.to_operator_max_seconds)));
      body.appendChild(tr);
    }
    if (days.length === 0) {
      body.appendChild(emptyRow(5));
    }
    table.appendChild(body);
  }

  function renderOverdue(rows, labels) {
    $("overdue-count").textContent = t("overdue.count", { n: rows.length });
    const table = $("overdue-table");
    clear(table);
    const cols = ["number", "category", "community", "tier", "status", "due", "late", "assignee"];
    const thead = el("thead");
    const head = el("tr");
    for (const c of cols) {
      head.appendChild(el("th", { scope: "col" }, t("overdue." + c)));
    }
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el("tbody");
    const now = Date.now();
    for (const o of rows) {
      const tr = el("tr", { "data-number": str(o.number) });
      const category = str(o.category);
      const community = str(o.community);
      const due = Date.parse(str(o.due_by));
      const late = isNaN(due) ? "" : t("overdue.days", { n: Math.max(0, Math.floor((now - due) / DAY)) });
      const cells = {
        number: str(o.number),
        category: labels.category.get(category) || category,
        community: labels.community.get(community) || community,
        tier: tk("tier." + str(o.tier), str(o.tier)),
        status: tk("status." + str(o.status), str(o.status)),
        due: beijingTime(o.due_by),
        late: late,
        assignee: str(o.assignee),
      };
      for (const c of cols) {
        tr.appendChild(el("td", { "data-col": c, class: c === "late" ? "late" : null }, cells[c]));
      }
      body.appendChild(tr);
    }
    if (rows.length === 0) {
      body.appendChild(emptyRow(cols.length));
    }
    table.appendChild(body);
  }

  // ---- start ----

  applyLang();
  (async function start() {
    try {
      signedIn(await api("GET", "/api/v1/me"));
    } catch (e) {
      if (e.status === 401) {
        showLogin("");
      } else if (e.status === 403) {
        me = { name: "", role: "", csrf: "" };
        showForbidden();
      } else {
        showLogin(e.message);
      }
    }
  })();
})();
