/*
 * The guide editor, GET /console/guide (managers and admins): the contacts as a form, an entry
 * (entries/*.yaml) as a form above its text, every file of the guide as text, a preview of how a
 * bot built from the draft answers, publishing the draft as a new version, and the history with
 * rollback. API: /api/v1/guide… (web/guideapi.go).
 *
 * The draft is the files changed on the base version, kept in this page until published: a
 * file's new text by name. Chinese first, English on a click (the choice kept like the other staff
 * pages'); its words are the message catalogue's (internal/i18n, guide.*, from GET /messages.js).
 */
(function () {
  "use strict";
  const H = window.HotlineStaff;
  const $ = H.$;
  const str = H.str;

  let me = null; // {name, role, csrf}
  const P = H.page({
    page: "guide", // its words: the catalogue's guide.* (internal/i18n), with the shared ones
    langKey: "hotline.guide.lang",
    csrf: function () {
      return me && me.csrf;
    },
    onUnauthorized: function () {
      showLogin();
    },
  });
  const t = P.t;

  const state = {
    base: 0, // the version the draft is made on
    version: null,
    serving: 0,
    files: [], // [{name, size}]
    original: {}, // name → text of the base version, as loaded
    draft: {}, // name → new text
    rows: [], // contacts rows of the draft's contacts.yaml
    history: [], // the versions, newest first
    edits: {}, // "path|field" → value, not yet in the draft
    entry: null, // the fields of the entry file shown, as POST /api/v1/guide/entry gave them
    entryShown: null, // the same as the form reads them back
    tab: "contacts",
  };

  function status(msg, info) {
    const s = $("status");
    s.textContent = msg || "";
    s.className = info ? "status info" : "status";
  }
  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) {
      e.textContent = str(text);
    }
    for (const k in attrs || {}) {
      e.setAttribute(k, attrs[k]);
    }
    return e;
  }
  function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? str(iso) : d.toLocaleString(P.lang() === "en" ? "en-GB" : "zh-CN", { hour12: false });
  }

  function applyTexts() {
    document.documentElement.lang = P.lang() === "en" ? "en" : "zh-CN";
    document.title = t("title");
    for (const e of Array.from(document.querySelectorAll("[data-g]"))) {
      e.textContent = t(e.getAttribute("data-g"));
    }
    for (const e of Array.from(document.querySelectorAll("[data-gp]"))) {
      e.setAttribute("placeholder", t(e.getAttribute("data-gp")));
    }
    const b = $("lang");
    b.textContent = P.lang() === "zh" ? "English" : "中文";
    b.setAttribute("lang", P.lang() === "zh" ? "en" : "zh-CN");
    if (me) {
      shortCount();
      renderVersion();
      renderRows();
      renderHistory();
    }
  }

  // ---- text of a file: the draft's, else the base version's (fetched once) ----

  async function fileText(name) {
    if (state.draft[name] !== undefined) {
      return state.draft[name];
    }
    if (!state.files.some((f) => f.name === name)) {
      return ""; // a new file
    }
    if (state.original[name] === undefined) {
      const q = state.base > 0 ? "?version=" + state.base : "";
      const f = await P.api("GET", "/api/v1/guide/files/" + name.split("/").map(encodeURIComponent).join("/") + q);
      state.original[name] = str(f.text);
    }
    return state.original[name];
  }

  function setDraft(name, text) {
    if (text === state.original[name]) {
      delete state.draft[name];
    } else {
      state.draft[name] = text;
    }
    renderVersion();
  }

  // ---- version line ----

  function renderVersion() {
    const v = state.version;
    $("current").textContent = v
      ? t("current", { n: v.number, author: v.author || "—", time: when(v.published), note: v.note || "—" })
      : t("currentNone");
    $("current").dataset.version = v ? String(v.number) : "0";
    $("serving").textContent = state.serving ? t("serving", { n: state.serving }) : t("servingNone");
    const n = Object.keys(state.draft).length;
    $("drafted").textContent = n ? t("drafted", { n: n }) : "";
    $("discard").hidden = n === 0;
  }

  async function loadCurrent() {
    const g = await P.api("GET", "/api/v1/guide");
    state.version = g.version || null;
    state.base = g.version ? g.version.number : 0;
    state.serving = g.serving || 0;
    state.files = g.files || [];
    state.original = {};
    state.draft = {};
    state.edits = {};
    renderVersion();
    const sel = $("file-select");
    H.clear(sel);
    for (const f of state.files) {
      sel.appendChild(el("option", f.name, { value: f.name }));
    }
    await loadRows();
    if (state.tab === "files") {
      await showFile();
    }
    if (state.tab === "history") {
      await loadHistory();
    }
  }

  // ---- contacts ----

  async function loadRows(set) {
    const text = await fileText("contacts.yaml");
    const out = await P.api("POST", "/api/v1/guide/contacts", { yaml: text, set: set || [] });
    if (set && set.length) {
      setDraft("contacts.yaml", str(out.yaml));
    }
    state.rows = out.rows || [];
    renderRows();
    const sel = $("preview-community");
    const chosen = sel.value;
    H.clear(sel);
    sel.appendChild(el("option", t("preview.none"), { value: "" }));
    for (const r of state.rows) {
      if (r.kind === "community") {
        sel.appendChild(el("option", r.town + " " + r.community, { value: r.id }));
      }
    }
    sel.value = chosen;
  }

  function renderRows() {
    const body = $("contacts-rows");
    H.clear(body);
    const filter = $("contacts-filter").value.trim();
    for (const r of state.rows) {
      const hay = [r.community, r.grid, r.name, r.role, r.phone].join(" ");
      if (filter && hay.indexOf(filter) < 0) {
        continue;
      }
      const tr = el("tr", null, { "data-path": r.path, "data-name": r.name, class: r.kind });
      tr.appendChild(el("td", r.kind === "community" ? r.town + " " + r.community : r.community));
      tr.appendChild(el("td", r.grid || ""));
      const fields = r.kind === "community" ? ["name", null, "phone", "hours"] : ["name", "role", "phone", "hours"];
      for (const f of fields) {
        const td = el("td");
        if (f) {
          const key = r.path + "|" + f;
          const input = el("input", null, { "data-field": f, "data-testid": "contact-" + f, "aria-label": t("col." + f) });
          input.value = state.edits[key] !== undefined ? state.edits[key] : str(r[f]);
          input.addEventListener("input", function () {
            if (input.value === str(r[f])) {
              delete state.edits[key];
            } else {
              state.edits[key] = input.value;
            }
            tr.classList.toggle("changed", Object.keys(state.edits).some((k) => k.indexOf(r.path + "|") === 0));
          });
          td.appendChild(input);
        }
        tr.appendChild(td);
      }
      if (Object.keys(state.edits).some((k) => k.indexOf(r.path + "|") === 0)) {
        tr.classList.add("changed");
      }
      body.appendChild(tr);
    }
  }

  async function applyContacts() {
    const set = Object.keys(state.edits).map(function (k) {
      const i = k.lastIndexOf("|");
      return { path: k.slice(0, i), field: k.slice(i + 1), value: state.edits[k].trim() };
    });
    if (!set.length) {
      status(t("draft.unchanged"), true);
      return;
    }
    try {
      await loadRows(set);
      state.edits = {};
      renderRows();
      status(t("draft.applied"), true);
    } catch (e) {
      status(e.message);
    }
  }

  // ---- the entry form: a file under entries/ as fields (POST /api/v1/guide/entry) ----

  const ENTRY_LISTS = ["examples", "keywords"]; // the entry's own lists; the rest are strings
  const SECTION_LISTS = ["conditions", "materials", "where", "steps"]; // one item a line
  const FIELD_WORDS = {
    title: "entry.fTitle", short: "entry.fShort", summary: "entry.fSummary", examples: "entry.fExamples", keywords: "entry.fKeywords",
    "sections.conditions": "entry.fConditions", "sections.materials": "entry.fMaterials", "sections.where": "entry.fWhere",
    "sections.steps": "entry.fSteps", "sections.hours": "entry.fHours", "sections.phone": "entry.fPhone", "sections.time_limit": "entry.fTimeLimit",
  };

  function isEntryFile(name) {
    return /^entries\/[^/]+\.yaml$/.test(name || "");
  }
  function lines(v) {
    return v.split("\n").map((s) => s.trim()).filter(Boolean);
  }
  function entryControls() {
    return Array.from(document.querySelectorAll("#entry-form [data-field], #entry-form [data-section]"));
  }

  function shortCount() {
    $("entry-short-count").textContent = state.entry ? t("entry.count", { n: Array.from($("entry-short").value.trim()).length }) : "";
  }

  function fillEntry(entry) {
    state.entry = entry;
    for (const c of entryControls()) {
      const f = c.dataset.field;
      const v = f ? entry[f] : (entry.sections || {})[c.dataset.section];
      if (f === "keywords") {
        c.value = (v || []).join("，");
      } else {
        c.value = Array.isArray(v) ? v.join("\n") : str(v);
      }
      c.disabled = false;
    }
    $("entry-apply").disabled = false;
    state.entryShown = formEntry(); // what the form shows unchanged: the baseline of a change
    shortCount();
  }

  // formEntry is the form's fields in the shape of the API's entry.
  function formEntry() {
    const out = { sections: {} };
    for (const c of entryControls()) {
      const f = c.dataset.field;
      const key = f || c.dataset.section;
      let v;
      if (f === "keywords") {
        v = c.value.split(/[,，\n]/).map((s) => s.trim()).filter(Boolean);
      } else if (ENTRY_LISTS.indexOf(key) >= 0 || (!f && SECTION_LISTS.indexOf(key) >= 0)) {
        v = lines(c.value);
      } else {
        v = c.value.trim();
      }
      if (f) {
        out[key] = v;
      } else {
        out.sections[key] = v;
      }
    }
    return out;
  }

  // entryChanges is what the form changes: only the fields that differ from what it showed (a
  // value it trims or splits the same way is no change).
  function entryChanges() {
    const now = formEntry();
    const was = state.entryShown;
    const set = {};
    const sections = {};
    for (const k of Object.keys(now)) {
      if (k !== "sections" && JSON.stringify(now[k]) !== JSON.stringify(was[k])) {
        set[k] = now[k];
      }
    }
    for (const k of Object.keys(now.sections)) {
      if (JSON.stringify(now.sections[k]) !== JSON.stringify((was.sections || {})[k])) {
        sections[k] = now.sections[k];
      }
    }
    if (Object.keys(sections).length) {
      set.sections = sections;
    }
    return set;
  }

  // showEntry shows the form for an entry file, filled from its text (hidden for other files).
  async function showEntry(name, text) {
    const form = $("entry-form");
    state.entry = null;
    $("entry-error").textContent = "";
    form.hidden = !isEntryFile(name);
    if (form.hidden) {
      return;
    }
    try {
      const out = await P.api("POST", "/api/v1/guide/entry", { yaml: text });
      if ($("file-text").dataset.name === name) {
        fillEntry(out.entry);
      }
    } catch (e) {
      for (const c of entryControls()) {
        c.value = "";
        c.disabled = true;
      }
      $("entry-apply").disabled = true;
      shortCount();
      $("entry-error").textContent = t("entry.cannot", { why: e.message });
    }
  }

  function refusal(e) {
    const i = e.message.indexOf(": ");
    const field = i > 0 ? e.message.slice(0, i) : "";
    return FIELD_WORDS[field] ? t("entry.refused", { field: t(FIELD_WORDS[field]), why: e.message.slice(i + 2) }) : e.message;
  }

  async function applyEntry(ev) {
    ev.preventDefault();
    const name = $("file-text").dataset.name;
    if (!state.entry || !isEntryFile(name)) {
      return;
    }
    const set = entryChanges();
    if (!Object.keys(set).length) {
      status(t("draft.unchanged"), true);
      return;
    }
    $("entry-apply").disabled = true;
    try {
      const out = await P.api("POST", "/api/v1/guide/entry", { yaml: await fileText(name), set: set });
      setDraft(name, str(out.yaml));
      if ($("file-text").dataset.name === name) {
        $("file-text").value = str(out.yaml);
        fillEntry(out.entry);
      }
      $("entry-error").textContent = "";
      status(t("draft.applied"), true);
    } catch (e) {
      $("entry-error").textContent = refusal(e);
      status(refusal(e));
    } finally {
      $("entry-apply").disabled = !state.entry;
    }
  }

  // ---- files ----

  async function showFile(line) {
    const name = $("file-select").value;
    if (!name) {
      return;
    }
    const ta = $("file-text");
    ta.value = await fileText(name);
    ta.dataset.name = name;
    $("file-line").textContent = "";
    await showEntry(name, ta.value);
    if (line > 0) {
      const lines = ta.value.split("\n");
      let pos = 0;
      for (let i = 0; i < line - 1 && i < lines.length; i++) {
        pos += lines[i].length + 1;
      }
      ta.focus();
      ta.setSelectionRange(pos, pos + (lines[line - 1] || "").length);
      $("file-line").textContent = name + ":" + line;
    }
  }

  async function saveFile() {
    const ta = $("file-text");
    const name = ta.dataset.name;
    if (!name) {
      return;
    }
    await fileText(name);
    setDraft(name, ta.value);
    if (name === "contacts.yaml") {
      await loadRows();
    }
    if (isEntryFile(name)) {
      await showEntry(name, ta.value);
    }
    status(t("draft.applied"), true);
  }

  // ---- preview ----

  function describe(d) {
    if (!d) {
      return "—";
    }
    const parts = ["[" + str(d.decision) + (d.topic ? " " + d.topic : "") + "]", str(d.text)];
    const c = d.contact;
    if (c) {
      parts.push([c.community, c.grid, c.phone].filter(Boolean).join(" · "));
      for (const p of c.people || []) {
        parts.push(p.role + " " + p.name + " " + p.phone + (p.hours ? "（" + p.hours + "）" : ""));
      }
    }
    return parts.filter(Boolean).join("\n");
  }

  async function runPreview() {
    const questions = $("preview-questions").value.split("\n").map((s) => s.trim()).filter(Boolean);
    const body = $("preview-rows");
    H.clear(body);
    $("preview-took").textContent = t("preview.running");
    $("preview-run").disabled = true;
    try {
      const out = await apiWithData("POST", "/api/v1/guide/preview", {
        base: state.base, files: state.draft, questions: questions, community: $("preview-community").value,
      });
      for (const a of out.answers || []) {
        const tr = el("tr");
        tr.appendChild(el("td", a.question));
        tr.appendChild(el("td", describe(a.draft), { class: "answer", "data-testid": "preview-draft" }));
        tr.appendChild(el("td", describe(a.serving), { class: "answer" }));
        body.appendChild(tr);
      }
      $("preview-took").textContent = t("preview.took", { ms: out.build_ms });
      status("");
    } catch (e) {
      $("preview-took").textContent = "";
      showProblems(e);
    } finally {
      $("preview-run").disabled = false;
    }
  }

  // ---- publish ----

  function showProblems(e) {
    const list = $("problems");
    H.clear(list);
    status(e.message);
    for (const p of (e.data && e.data.problems) || []) {
      const li = el("li", p.file + ":" + p.line + ": " + p.reason, { "data-testid": "problem" });
      li.addEventListener("click", async function () {
        await switchTab("files");
        $("file-select").value = p.file;
        await showFile(p.line);
      });
      list.appendChild(li);
    }
  }

  async function publish() {
    H.clear($("problems"));
    if (!Object.keys(state.draft).length) {
      status(t("publish.empty"));
      return;
    }
    const note = $("publish-note").value.trim();
    if (!note) {
      status(t("publish.noNote"));
      return;
    }
    $("publish-run").disabled = true;
    try {
      const v = await apiWithData("POST", "/api/v1/guide/versions", { base: state.base, note: note, files: state.draft });
      $("publish-note").value = "";
      await loadCurrent();
      status(t("publish.done", { n: v.number }), true);
      pollServing(v.number);
    } catch (e) {
      if (e.code === "conflict") {
        status(t("err.stale"));
      } else {
        showProblems(e);
      }
    } finally {
      $("publish-run").disabled = false;
    }
  }

  // apiWithData is P.api, but a refusal keeps the answer's body (the problems of a draft).
  async function apiWithData(method, path, body) {
    const resp = await fetch(path, {
      method: method, credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": (me && me.csrf) || "" },
      body: JSON.stringify(body),
    }).catch(function () {
      throw new H.ApiError(0, "network", "network", "");
    });
    const data = await resp.json().catch(function () {
      return null;
    });
    if (!resp.ok) {
      if (resp.status === 401) {
        showLogin();
      }
      const err = new H.ApiError(resp.status, str(data && data.code), str(data && data.error) || resp.statusText, "");
      err.data = data;
      throw err;
    }
    return data;
  }

  // pollServing refreshes "this node serves" until it reaches n (the node builds in the
  // background: seconds).
  function pollServing(n) {
    let tries = 0;
    const timer = setInterval(async function () {
      tries++;
      try {
        const g = await P.api("GET", "/api/v1/guide");
        state.serving = g.serving || 0;
        renderVersion();
        if (state.serving >= n || tries > 60) {
          clearInterval(timer);
        }
      } catch (e) {
        clearInterval(timer);
      }
    }, 1000);
  }

  // ---- history ----

  async function loadHistory() {
    const out = await P.api("GET", "/api/v1/guide/versions");
    state.history = out.versions || [];
    renderHistory();
  }

  function renderHistory() {
    const body = $("history-rows");
    H.clear(body);
    for (const v of state.history) {
      const tr = el("tr", null, { "data-version": String(v.number) });
      tr.appendChild(el("td", String(v.number)));
      tr.appendChild(el("td", v.author || "—"));
      tr.appendChild(el("td", when(v.published)));
      tr.appendChild(el("td", (v.note || "") + (v.rollback_of ? " " + t("history.of", { n: v.rollback_of }) : "")));
      const td = el("td");
      if (state.version && v.number !== state.version.number) {
        const b = el("button", t("history.rollback"), { type: "button", "data-testid": "rollback" });
        b.addEventListener("click", function () {
          rollback(v.number);
        });
        td.appendChild(b);
      }
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  async function rollback(n) {
    if (!window.confirm(t("history.confirm", { n: n }))) {
      return;
    }
    try {
      const v = await apiWithData("POST", "/api/v1/guide/versions/" + n + "/rollback", { base: state.base });
      await loadCurrent();
      await loadHistory();
      status(t("history.done", { n: v.number, of: n }), true);
      pollServing(v.number);
    } catch (e) {
      status(e.code === "conflict" ? t("err.stale") : e.message);
    }
  }

  // ---- tabs, login ----

  async function switchTab(tab) {
    state.tab = tab;
    for (const b of Array.from(document.querySelectorAll("#tabs button"))) {
      b.setAttribute("aria-pressed", b.dataset.tab === tab ? "true" : "false");
      $("pane-" + b.dataset.tab).hidden = b.dataset.tab !== tab;
    }
    try {
      if (tab === "files") {
        await showFile();
      } else if (tab === "history") {
        await loadHistory();
      }
    } catch (e) {
      status(e.message);
    }
  }

  const login = P.loginForm(signedIn);

  function showLogin() {
    me = null;
    $("editor").hidden = true;
    $("forbidden-view").hidden = true;
    $("logout").hidden = true;
    $("whoami").textContent = "";
    login.show();
  }

  async function signedIn(u) {
    me = { name: str(u.name), role: str(u.role), csrf: str(u.csrf) };
    login.hide();
    $("whoami").textContent = me.name;
    $("logout").hidden = false;
    if (me.role !== "manager" && me.role !== "admin") {
      $("forbidden-view").hidden = false;
      return;
    }
    $("editor").hidden = false;
    try {
      await loadCurrent();
    } catch (e) {
      status(e.message);
    }
  }

  for (const b of Array.from(document.querySelectorAll("#tabs button"))) {
    b.addEventListener("click", function () {
      switchTab(b.dataset.tab);
    });
  }
  $("contacts-apply").addEventListener("click", applyContacts);
  $("entry-form").addEventListener("submit", applyEntry);
  $("entry-short").addEventListener("input", shortCount);
  $("contacts-filter").addEventListener("input", renderRows);
  $("file-select").addEventListener("change", function () {
    showFile().catch((e) => status(e.message));
  });
  $("file-save").addEventListener("click", function () {
    saveFile().catch((e) => status(e.message));
  });
  $("new-file-add").addEventListener("click", function () {
    const name = $("new-file").value.trim();
    if (!/^(entries\/)?[a-z0-9][a-z0-9-]*\.(yaml|jsonl)$/.test(name) && !/^training\/[a-z0-9][a-z0-9-]*\.jsonl$/.test(name)) {
      status(t("files.badName"));
      return;
    }
    const sel = $("file-select");
    if (![...sel.options].some((o) => o.value === name)) {
      sel.appendChild(el("option", name, { value: name }));
    }
    sel.value = name;
    $("new-file").value = "";
    showFile().catch((e) => status(e.message));
  });
  $("file-revert").addEventListener("click", function () {
    const name = $("file-text").dataset.name;
    delete state.draft[name];
    renderVersion();
    showFile().catch((e) => status(e.message));
    if (name === "contacts.yaml") {
      loadRows().catch((e) => status(e.message));
    }
  });
  $("discard").addEventListener("click", function () {
    loadCurrent().catch((e) => status(e.message));
  });
  $("preview-run").addEventListener("click", runPreview);
  $("publish-run").addEventListener("click", publish);
  $("switch-user").addEventListener("click", async function () {
    await P.logout();
    showLogin();
  });
  $("logout").addEventListener("click", async function () {
    await P.logout();
    showLogin();
  });
  P.langButton($("lang"), applyTexts);
  applyTexts();

  (async function start() {
    try {
      signedIn(await P.api("GET", "/api/v1/me"));
    } catch (e) {
      showLogin();
    }
  })();
})();
