/*
 * hotline operator console (GET /console): docs/operator.md.
 *
 * Staff log in (POST /api/v1/login); the console then stays live over GET /ws/operator, which
 * carries the chats (waiting, live, offered) and tells every console what changed, and works
 * tickets through the REST API. Plain JavaScript, no build step, nothing loaded from elsewhere.
 * The language switch, the words the staff pages share, the REST wrapper and the login form are
 * staff.js's (GET /staff.js, loaded first).
 *
 * Resident text (and everything else from the server) is put in the page with textContent,
 * createTextNode or attributes, never as HTML.
 *
 * Test hooks are data-testid attributes (see console.html and the h(...) calls below): waiting-item
 * and live-item carry data-conversation; chat-turn carries data-from; ticket-row data-number;
 * status carries data-code (the last request's result code) and data-ticket.
 */
(function () {
  "use strict";

  // ---- words ----

  // The ticket categories in the order of the form's list; their names are the catalogue's category.*.
  const CATEGORIES = ["housing", "property", "municipal", "environment", "noise", "utilities", "safety",
    "dispute", "food", "welfare", "social-security", "labor", "public-security", "community", "petition",
    "other"];
  const STATUSES = ["received", "dispatched", "signed", "in_progress", "resolved", "rated", "closed", "returned"];
  const TIERS = ["grid", "community", "town"];
  // What a grid worker may do to its grid's tickets (the server refuses the rest).
  const GRID_WORKER_ACTIONS = ["sign", "start", "resolve", "return", "request_extension", "note"];
  // The actions offered on a ticket, in the order of the buttons (the server says which are allowed).
  const ACTIONS = ["dispatch", "sign", "start", "resolve", "request_extension", "approve_extension", "refuse_extension",
    "urge", "escalate", "return", "reopen", "rate", "close", "note"];

  // The language, the words (the catalogue's console.* over the shared ones), the REST wrapper and
  // the login form come from staff.js.
  const staff = HotlineStaff.page({
    page: "console",
    langKey: "hotline.console.lang",
    csrf: function () {
      return me && me.csrf;
    },
    onUnauthorized: sessionExpired,
  });
  const { t, tk, lang, api } = staff;
  const { str, $, clear, load, save } = HotlineStaff;
  const SIGNED_KEY = "hotline.console.signedIn"; // "1": a session cookie may exist, ask GET /api/v1/me

  // ---- DOM helpers: text only ----

  // h builds an element. props: class, text, testid, on<event>, data-* and other attributes
  // (set as attributes, so as text); children: elements or strings (text nodes).
  function h(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null || v === false) {
          continue;
        }
        if (k === "class") {
          e.className = v;
        } else if (k === "text") {
          e.textContent = String(v);
        } else if (k === "testid") {
          e.setAttribute("data-testid", v);
        } else if (k.slice(0, 2) === "on" && typeof v === "function") {
          e.addEventListener(k.slice(2), v);
        } else if (k === "disabled" || k === "hidden" || k === "checked" || k === "selected") {
          e[k] = !!v;
        } else if (k === "value") {
          e.value = String(v);
        } else {
          e.setAttribute(k, v === true ? "" : String(v));
        }
      }
    }
    if (children) {
      for (const c of Array.isArray(children) ? children : [children]) {
        if (c === null || c === undefined || c === false) {
          continue;
        }
        e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
      }
    }
    return e;
  }

  function oneLine(s, max) {
    const x = str(s).replace(/\s+/g, " ").trim();
    return x.length > max ? x.slice(0, max - 1) + "…" : x;
  }

  function charCount(s) {
    return Array.from(s).length;
  }

  // ---- time ----

  const fmtCache = {};
  function fmt(kind) {
    const key = lang() + kind;
    if (!fmtCache[key]) {
      const opts = kind === "clock" ? { hour: "2-digit", minute: "2-digit", hour12: false } :
        { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false };
      try {
        fmtCache[key] = new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "zh-CN", Object.assign({ timeZone: "Asia/Shanghai" }, opts));
      } catch (e) {
        fmtCache[key] = null;
      }
    }
    return fmtCache[key];
  }
  function parseTime(iso) {
    if (!iso) {
      return null;
    }
    const d = new Date(str(iso));
    return isNaN(d.getTime()) || d.getFullYear() < 1971 ? null : d;
  }
  function fmtTime(iso) {
    const d = parseTime(iso);
    if (!d) {
      return "";
    }
    const f = fmt("time");
    return f ? f.format(d) : d.toLocaleString();
  }
  function fmtClock(iso) {
    const d = parseTime(iso);
    if (!d) {
      return "";
    }
    const f = fmt("clock");
    return f ? f.format(d) : d.toLocaleTimeString();
  }
  function sinceText(iso) {
    const d = parseTime(iso);
    if (!d) {
      return "";
    }
    const min = Math.floor((Date.now() - d.getTime()) / 60000);
    return min < 1 ? t("waiting.now") : t("waiting.since", { n: min });
  }

  // ---- elements ----

  const statusEl = $("status");
  const connEl = $("conn");
  const alertEl = $("alert-count");
  const notifyBtn = $("notify-button");
  const whoamiEl = $("whoami");
  const langBtn = $("lang-toggle");
  const logoutBtn = $("logout");
  const tabsEl = $("tabs");
  const tabChats = $("tab-chats");
  const tabTickets = $("tab-tickets");
  const deskEl = $("desk");
  const sideEl = $("side");
  const waitingList = $("waiting-list");
  const emergencyList = $("emergency-list");
  const liveList = $("live-list");
  const offeredList = $("offered-list");
  const chatsView = $("chats-view");
  const ticketsView = $("tickets-view");
  const chatTitle = $("chat-title");
  const chatMeta = $("chat-meta");
  const paneTake = $("pane-take");
  const ticketBtn = $("ticket-button");
  const releaseBtn = $("release-button");
  const transcriptEl = $("chat-transcript");
  const typingEl = $("chat-typing");
  const chatInput = $("chat-input");
  const chatSend = $("chat-send");
  const ticketForm = $("ticket-form");
  const tfCategory = $("tf-category");
  const tfTopic = $("tf-topic");
  const tfCommunity = $("tf-community");
  const tfPhone = $("tf-phone");
  const tfAddress = $("tf-address");
  const tfDescription = $("tf-description");
  const tfSubmit = $("tf-submit");
  const cannedList = $("canned-list");
  const cannedNew = $("canned-new");
  const cannedEditor = $("canned-editor");
  const cannedTitle = $("canned-title");
  const cannedText = $("canned-text");
  const guideInput = $("guide-search");
  const guideResults = $("guide-results");
  const filterStatus = $("filter-status");
  const filterTier = $("filter-tier");
  const filterCommunity = $("filter-community");
  const ticketListEl = $("ticket-list");
  const ticketsCount = $("tickets-count");
  const detailEl = $("ticket-detail");

  // ---- state ----

  let me = null; // {name, role, grid, csrf, number}
  let view = "chats";
  let chats = new Map(); // conversation id → chat of the last state frame
  const transcripts = new Map(); // conversation id → {turns, keys}: kept after a chat leaves the lists
  const delivered = new Set(); // conversation + "\n" + message id
  const unread = new Map(); // conversation id → resident messages not yet looked at
  const typingUntil = new Map(); // conversation id → ms
  let online = null;
  let selected = "";
  let communities = [];
  let canned = [];
  let editingCanned = null; // null: editor closed; 0: new; else the id
  let lastGuide = null;
  let tickets = [];
  let selectedTicket = "";
  let detail = null;
  let unseen = 0;
  let sounds = 0;
  // Emergencies told by an alert frame: conversation id → the alert, until the chat is taken (the
  // state frame that follows carries them too; the alert may come first).
  const emergencies = new Map();
  let grids = {}; // grid id → name, from GET /api/v1/communities

  // ---- status line ----

  // readable turns a refusal — an API error {code, message, field} or a desk result — into words
  // for staff, in the page's language: the field or the rule the server named, never its codes
  // or its English.
  const FIELD_OF = /^([a-z_]+): /;
  const RULES = [
    [/needs a reply/, "needReply"],
    [/needs (a|the) reason/, "needReason"],
    [/needs text/, "needText"],
    [/dispatch needs an assignee or a grid/, "needAssignee"],
    [/already at the town/, "topTier"],
    [/extension is already waiting/, "extensionWaiting"],
    [/no extension is waiting/, "noExtension"],
    [/must be later than the current one/, "extensionEarlier"],
    [/at version \d+, you changed version/, "conflict"],
    [/already marked overdue/, "alreadyOverdue"],
    [/rated already/, "alreadyRated"],
    [/longer than 2,000 characters/, "tooLong"]
  ];
  function readable(err) {
    const code = str(err && err.code);
    const msg = str(err && err.message);
    const m = /cannot (\w+) a ticket that is (\w+)/.exec(msg);
    if (m) {
      return t("err.transition", { action: tk("action." + m[1], m[1]), status: tk("status." + m[2], m[2]) });
    }
    for (const r of RULES) {
      if (r[0].test(msg)) {
        return t("err." + r[1]);
      }
    }
    let field = str(err && err.field);
    if (!field && (code === "invalid" || code === "bad_request")) {
      const f = FIELD_OF.exec(msg);
      field = f ? f[1] : "";
    }
    if (field) {
      return tk("errField." + field, t("err.field", { field: tk("f." + field, field) }));
    }
    if (code === "conflict") {
      return t("err.conflict");
    }
    return tk("code." + code, "") || tk("err." + code, "") || t("err.generic");
  }

  function showStatus(code, message, kind, ticket) {
    statusEl.dataset.code = code;
    if (ticket) {
      statusEl.dataset.ticket = ticket;
    } else {
      delete statusEl.dataset.ticket;
    }
    statusEl.className = "status" + (kind ? " " + kind : "");
    // message is the page's own words here; the server's refusals go through showError.
    statusEl.textContent = code === "ok" ? message || t("ok") : message || readable({ code: code });
  }
  function showError(err) {
    const code = str(err && err.code) || "error";
    statusEl.dataset.code = code;
    delete statusEl.dataset.ticket;
    statusEl.className = "status bad";
    statusEl.textContent = readable(err);
  }

  // ---- login ----

  function isManager() {
    return !!me && (me.role === "manager" || me.role === "admin");
  }
  function canChat() {
    return !!me && me.role !== "grid_worker";
  }

  function showLogin(message) {
    deskEl.hidden = true;
    tabsEl.hidden = true;
    logoutBtn.hidden = true;
    notifyBtn.hidden = true;
    whoamiEl.textContent = "";
    setConn("none");
    login.show(message);
  }

  const login = staff.loginForm(function (u) {
    save(SIGNED_KEY, "1");
    startDesk(u);
  });

  function startDesk(u) {
    me = { name: str(u.name), role: str(u.role), grid: str(u.grid), csrf: str(u.csrf), number: "" };
    login.hide();
    deskEl.hidden = false;
    logoutBtn.hidden = false;
    tabsEl.hidden = !canChat();
    sideEl.hidden = !canChat();
    renderWhoami();
    renderNotifyButton();
    cannedNew.hidden = !isManager();
    setView(canChat() ? "chats" : "tickets");
    if (canChat()) {
      connectWS();
      loadCanned();
    }
    loadCommunities();
    loadTickets();
    renderAll();
  }

  function teardown() {
    me = null;
    const sock = ws;
    ws = null;
    if (sock) {
      try {
        sock.close(1000, "logout");
      } catch (e) {
        /* closed */
      }
    }
    clearTimeout(wsTimer);
    clearInterval(wsPing);
    pending.clear();
    chats = new Map();
    transcripts.clear();
    delivered.clear();
    unread.clear();
    typingUntil.clear();
    selected = "";
    selectedTicket = "";
    detail = null;
    tickets = [];
    canned = [];
    lastGuide = null;
    unseen = 0;
    updateTitle();
  }

  function sessionExpired() {
    if (!me) {
      return;
    }
    save(SIGNED_KEY, "");
    teardown();
    showLogin(t("login.expired"));
  }

  logoutBtn.addEventListener("click", async function () {
    await staff.logout();
    save(SIGNED_KEY, "");
    teardown();
    renderAll();
    showLogin("");
  });

  function renderWhoami() {
    if (!me) {
      whoamiEl.textContent = "";
      return;
    }
    const role = tk("role." + me.role, me.role);
    whoamiEl.textContent = me.number ? t("whoami.number", { name: me.name, role: role, number: me.number }) : t("whoami", { name: me.name, role: role });
  }

  // ---- views ----

  function setView(v) {
    view = v;
    chatsView.hidden = v !== "chats";
    ticketsView.hidden = v !== "tickets";
    tabChats.setAttribute("aria-pressed", v === "chats" ? "true" : "false");
    tabTickets.setAttribute("aria-pressed", v === "tickets" ? "true" : "false");
  }
  tabChats.addEventListener("click", function () {
    setView("chats");
  });
  tabTickets.addEventListener("click", function () {
    setView("tickets");
    loadTickets();
  });

  // ---- the operator socket ----

  let ws = null;
  let wsAttempt = 0;
  let wsTimer = null;
  let wsPing = null;
  let reqSeq = 0;
  const pending = new Map(); // request id → {type, fields, onResult, quiet, at}

  function setConn(state) {
    connEl.dataset.state = state;
    connEl.textContent = t("conn." + state);
  }

  function sendWS(frame) {
    if (!ws || ws.readyState !== 1) {
      return false;
    }
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }

  function connectWS() {
    clearTimeout(wsTimer);
    wsTimer = null;
    if (!canChat() || (ws && (ws.readyState === 0 || ws.readyState === 1))) {
      return;
    }
    setConn("connecting");
    const url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/ws/operator";
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      scheduleWS();
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = function () {
      if (ws !== sock) {
        return;
      }
      opened = true;
      wsAttempt = 0;
      setConn("open");
      clearInterval(wsPing);
      wsPing = setInterval(function () {
        sendWS({ type: "ping" });
      }, 30000);
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) {
        return;
      }
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (f && typeof f === "object") {
        onFrame(f);
      }
    };
    sock.onerror = function () {
      /* a close follows */
    };
    sock.onclose = function () {
      if (ws !== sock) {
        return;
      }
      ws = null;
      clearInterval(wsPing);
      failPending("offline", t("err.offline"));
      if (!me) {
        return;
      }
      setConn("closed");
      if (opened) {
        scheduleWS();
        return;
      }
      // Refused before opening: logged out elsewhere (401 shows the login form) or a passing failure.
      api("GET", "/api/v1/me").then(scheduleWS, function (e) {
        if (e.status !== 401) {
          scheduleWS();
        }
      });
    };
  }

  // A page the browser hides — closed, navigated away from, or kept in the back/forward cache —
  // closes its socket, so that 在线坐席 counts only live pages; shown again, it reconnects.
  window.addEventListener("pagehide", function () {
    const sock = ws;
    if (!sock) {
      return;
    }
    ws = null;
    clearInterval(wsPing);
    clearTimeout(wsTimer);
    try {
      sock.close(1000, "page hidden");
    } catch (e) {
      /* closing anyway */
    }
  });
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted && me) {
      connectWS();
    }
  });

  function scheduleWS() {
    if (!me) {
      return;
    }
    clearTimeout(wsTimer);
    const base = Math.min(30000, 1000 * Math.pow(2, wsAttempt));
    wsAttempt += 1;
    wsTimer = setTimeout(connectWS, base / 2 + Math.random() * base / 2);
  }

  // request sends an operator request; onResult gets its result frame.
  function request(type, fields, onResult, quiet) {
    reqSeq += 1;
    const id = "c" + reqSeq;
    const frame = Object.assign({ type: type, id: id }, fields);
    if (!sendWS(frame)) {
      showStatus("offline", t("err.offline"), "bad");
      if (onResult) {
        onResult({ ok: false, code: "offline" });
      }
      return "";
    }
    pending.set(id, { type: type, fields: fields, onResult: onResult, quiet: quiet, at: Date.now() });
    return id;
  }

  function failPending(code, message) {
    const all = Array.from(pending.values());
    pending.clear();
    for (const p of all) {
      if (p.onResult) {
        p.onResult({ ok: false, code: code, message: message });
      }
    }
    if (all.length) {
      showStatus(code, message, "bad");
    }
  }

  setInterval(function () {
    const now = Date.now();
    for (const [id, p] of Array.from(pending.entries())) {
      if (now - p.at > 20000) {
        pending.delete(id);
        showStatus("timeout", t("err.timeout"), "bad");
        if (p.onResult) {
          p.onResult({ ok: false, code: "timeout" });
        }
      }
    }
  }, 5000);

  function onFrame(f) {
    switch (f.type) {
      case "hello":
        if (me && f.operator && typeof f.operator === "object") {
          me.number = str(f.operator.number);
          renderWhoami();
          renderLists();
          renderPane();
        }
        break;
      case "state":
        onState(f);
        break;
      case "turn":
        onTurn(str(f.conversation), f.turn);
        break;
      case "typing":
        onResidentTyping(str(f.conversation));
        break;
      case "delivered":
        delivered.add(str(f.conversation) + "\n" + str(f.id));
        if (str(f.conversation) === selected) {
          renderDelivered();
        }
        break;
      case "alert":
        onAlert(f);
        break;
      case "ticket":
        scheduleTicketRefresh(str(f.number));
        break;
      case "result":
        onResult(f);
        break;
      case "error":
        showError(f);
        break;
      default:
        break; // pong and anything newer
    }
  }

  function onResult(f) {
    const id = str(f.reply_to);
    const p = pending.get(id);
    if (!p) {
      return; // not ours (or typing, which asks for nothing)
    }
    pending.delete(id);
    if (f.ok) {
      const number = ticketNumber(f.ticket);
      if (!p.quiet) {
        showStatus("ok", number && p.type === "ticket" ? t("ok.ticket", { number: number }) : tk("ok." + p.type, t("ok")), "ok", number);
      }
    } else {
      showError({ code: str(f.code) || "error", message: str(f.message), field: str(f.field) });
    }
    if (p.onResult) {
      p.onResult(f);
    }
  }

  function ticketNumber(x) {
    if (typeof x === "string") {
      return x;
    }
    return x && typeof x === "object" ? str(x.number) : "";
  }

  // ---- chats ----

  function turnKeys(turn) {
    const keys = ["c" + str(turn.at) + "\n" + str(turn.from) + "\n" + str(turn.text)];
    if (turn.seq) {
      keys.push("s" + turn.seq);
    }
    return keys;
  }

  // mergeTurns adds turns not yet known to a conversation's transcript; it returns those added.
  function mergeTurns(id, turns) {
    let tr = transcripts.get(id);
    if (!tr) {
      tr = { turns: [], keys: new Set() };
      transcripts.set(id, tr);
    }
    const added = [];
    for (const turn of Array.isArray(turns) ? turns : []) {
      if (!turn || typeof turn !== "object") {
        continue;
      }
      const keys = turnKeys(turn);
      if (keys.some(function (k) {
        return tr.keys.has(k);
      })) {
        continue;
      }
      keys.forEach(function (k) {
        tr.keys.add(k);
      });
      tr.turns.push(turn);
      added.push(turn);
    }
    if (added.length && tr.turns.every(function (x) {
      return typeof x.seq === "number" && x.seq > 0;
    })) {
      tr.turns.sort(function (a, b) {
        return a.seq - b.seq;
      });
    }
    return added;
  }

  function turnsOf(id) {
    const tr = transcripts.get(id);
    return tr ? tr.turns : [];
  }

  function isMine(c) {
    return !!(me && c && c.state === "live" && (str(c.operator) === me.name || (me.number && str(c.agent) === me.number)));
  }
  function canSay(c) {
    return isMine(c);
  }
  // guessTopic is the bot's guess at a chat's topic: {"id","title"} (docs: {"topic","title"}).
  function guessTopic(c) {
    return c && c.guess && typeof c.guess === "object" ? str(c.guess.id) || str(c.guess.topic) : "";
  }
  function guessTitle(c) {
    return c && c.guess && typeof c.guess === "object" ? str(c.guess.title) || guessTopic(c) : "";
  }

  function communityName(c) {
    return str(c && c.community_name) || str(c && c.community) || t("community.unknown");
  }
  function whoLabel(turn) {
    switch (turn.from) {
      case "resident":
        return t("who.resident");
      case "bot":
        return t("who.bot");
      case "operator":
        return turn.agent ? t("who.operatorN", { agent: str(turn.agent) }) : t("who.operator");
      default:
        return t("who.system");
    }
  }
  function turnText(turn) {
    return str(turn.text) || str(turn.reply && turn.reply.text);
  }

  function onState(f) {
    const next = new Map();
    for (const c of Array.isArray(f.chats) ? f.chats : []) {
      if (!c || typeof c !== "object" || !c.id) {
        continue;
      }
      next.set(str(c.id), c);
      const added = mergeTurns(str(c.id), c.turns);
      if (str(c.id) === selected && added.length) {
        appendTurns(added);
      }
    }
    chats = next;
    for (const id of Array.from(emergencies.keys())) {
      if (!next.has(id)) {
        emergencies.delete(id); // taken, or the resident went back to the bot
      }
    }
    online = f.online === undefined ? online : f.online;
    renderLists();
    renderPane();
  }

  function onTurn(id, turn) {
    if (!id || !turn || typeof turn !== "object") {
      return;
    }
    const added = mergeTurns(id, [turn]);
    if (!added.length) {
      return;
    }
    if (turn.from === "resident") {
      typingUntil.delete(id);
      if (id !== selected || view !== "chats") {
        unread.set(id, (unread.get(id) || 0) + 1);
      }
    }
    if (id === selected) {
      appendTurns(added);
      renderTyping();
    }
    renderLists();
  }

  function onResidentTyping(id) {
    typingUntil.set(id, Date.now() + 4000);
    if (id === selected) {
      renderTyping();
      setTimeout(renderTyping, 4100);
    }
  }

  function renderTyping() {
    const until = typingUntil.get(selected) || 0;
    const on = !!selected && until > Date.now();
    typingEl.textContent = on ? t("chat.typing") : "";
    typingEl.dataset.active = on ? "1" : "";
  }

  function select(id) {
    if (selected !== id) {
      selected = id;
      ticketForm.hidden = true;
      clear(transcriptEl);
      appendTurns(turnsOf(id), true);
    }
    unread.delete(id);
    setView("chats");
    renderLists();
    renderPane();
    renderTyping();
  }

  function take(id, button) {
    if (button) {
      button.disabled = true;
    }
    request("take", { conversation: id }, function (res) {
      if (res.ok) {
        emergencies.delete(id);
        select(id);
      } else if (button) {
        button.disabled = false;
      }
    });
  }

  function chatItem(c, kind) {
    const id = str(c.id);
    const mine = isMine(c);
    const emergency = isEmergency(c) && c.state !== "live";
    const cls = "chat-item " + kind + (mine ? " mine" : "") + (id === selected ? " selected" : "") + (emergency ? " emergency" : "");
    const li = h("li", {
      class: cls, testid: kind + "-item", "data-conversation": id, "data-state": str(c.state),
      "data-agent": str(c.agent), "data-mine": mine ? "1" : "0", "data-emergency": emergency ? "1" : "0", tabindex: "0",
      onclick: function () {
        select(id);
      },
      onkeydown: function (ev) {
        if (ev.key === "Enter" && ev.target === li) {
          select(id);
        }
      }
    });
    const n = unread.get(id) || 0;
    li.appendChild(h("div", { class: "row" }, [
      h("span", { class: "name", text: communityName(c), title: str(c.community) }),
      n ? h("span", { class: "unread", text: String(n) }) : null,
      h("span", { class: "since", text: kind === "waiting" ? fmtClock(c.since) + " · " + sinceText(c.since) : fmtClock(c.since), title: fmtTime(c.since) })
    ]));
    if (kind !== "waiting") {
      li.appendChild(h("div", { class: "who", testid: "chat-item-agent" },
        c.agent || c.operator ? t("live.agent", { agent: str(c.agent) || str(c.operator) }) + (mine ? t("live.mine") : "") : tk("state." + str(c.state), str(c.state))));
    }
    const guess = guessTitle(c);
    if (guess) {
      const words = emergency ? t("waiting.guessEmergency", { title: guess }) : t("waiting.guess", { title: guess });
      li.appendChild(h("div", { class: "guess", text: words }));
    }
    const last = turnsOf(id).filter(function (x) {
      return x.from !== "system";
    }).slice(kind === "waiting" ? -4 : -1);
    if (last.length) {
      const ol = h("ol", { class: "preview" });
      for (const turn of last) {
        ol.appendChild(h("li", { testid: "preview-turn", "data-from": str(turn.from), title: turnText(turn) }, whoLabel(turn) + t("sep") + oneLine(turnText(turn), 120)));
      }
      li.appendChild(ol);
    }
    if (kind === "waiting" || kind === "offered") {
      const b = h("button", { type: "button", class: kind === "waiting" ? "primary" : "", testid: "take-button", text: t("chat.take") });
      b.addEventListener("click", function (ev) {
        ev.stopPropagation();
        take(id, b);
      });
      li.appendChild(h("div", { class: "actions" }, b));
    }
    return li;
  }

  function renderLists() {
    const all = Array.from(chats.values());
    const bySince = function (a, b) {
      return (parseTime(a.since) || 0) - (parseTime(b.since) || 0);
    };
    const waiting = all.filter(function (c) {
      return c.state === "waiting";
    }).sort(function (a, b) {
      return (isEmergency(b) ? 1 : 0) - (isEmergency(a) ? 1 : 0) || bySince(a, b);
    });
    renderEmergencies(all);
    const live = all.filter(function (c) {
      return c.state === "live";
    }).sort(function (a, b) {
      return (isMine(b) ? 1 : 0) - (isMine(a) ? 1 : 0) || bySince(a, b);
    });
    const offered = all.filter(function (c) {
      return c.state === "offered";
    }).sort(bySince);
    fill(waitingList, waiting, "waiting");
    fill(liveList, live, "live");
    fill(offeredList, offered, "offered");
    $("waiting-empty").hidden = waiting.length > 0;
    $("live-empty").hidden = live.length > 0;
    $("offered-section").hidden = offered.length === 0;
    const wc = $("waiting-count");
    wc.textContent = String(waiting.length);
    wc.className = "count" + (waiting.length ? " hot" : "");
    $("live-count").textContent = String(live.length);
    $("offered-count").textContent = String(offered.length);
    const n = Array.isArray(online) ? online.length : typeof online === "number" ? online : null;
    $("online").textContent = n === null ? "" : t("online", { n: n });
  }

  function isEmergency(c) {
    return !!(c && (c.emergency || emergencies.has(str(c.id))));
  }

  // renderEmergencies shows, above the queue, every emergency nobody has taken yet: the resident's
  // words, what is known of the place, and 立即接入.
  function renderEmergencies(all) {
    const items = [];
    const inState = new Set();
    for (const c of all) {
      const id = str(c.id);
      inState.add(id);
      if (isEmergency(c) && (c.state === "waiting" || c.state === "offered")) {
        items.push({ id: id, c: c, a: emergencies.get(id) });
      } else if (c.state === "live") {
        emergencies.delete(id);
      }
    }
    for (const [id, a] of emergencies) {
      if (!inState.has(id)) {
        items.push({ id: id, c: null, a: a }); // the alert came before the state
      }
    }
    const sig = JSON.stringify([lang(), items.map(function (x) {
      return [x.id, x.c && x.c.address, x.c && x.c.community_name, x.c && turnsOf(x.id).length, x.a && x.a.words];
    })]);
    if (emergencyList._sig === sig) {
      return;
    }
    emergencyList._sig = sig;
    clear(emergencyList);
    $("emergency-section").hidden = items.length === 0;
    for (const x of items) {
      const id = x.id;
      const words = residentWords(id) || str(x.a && x.a.words);
      const place = [str(x.c && x.c.community_name) || str(x.a && x.a.community_name), str(x.c && x.c.address) || str(x.a && x.a.address)]
        .filter(Boolean).join(" ") || t("emergency.placeUnknown");
      const topic = guessTitle(x.c) || "";
      const b = h("button", { type: "button", class: "danger-solid", testid: "emergency-take", text: t("emergency.take") });
      b.addEventListener("click", function (ev) {
        ev.stopPropagation();
        take(id, b);
      });
      emergencyList.appendChild(h("li", { class: "emergency-alert", testid: "emergency-alert", "data-conversation": id, role: "alert" }, [
        h("div", { class: "head", text: t("emergency.title") + (topic ? " · " + topic : "") }),
        h("div", { class: "words", testid: "emergency-words", text: words }),
        h("div", { class: "place", testid: "emergency-place", text: t("emergency.place", { place: place }) }),
        h("div", { class: "actions" }, b)
      ]));
    }
  }

  // residentWords is what the resident said, their messages only, oldest first.
  function residentWords(id) {
    return turnsOf(id).filter(function (x) {
      return x.from === "resident";
    }).map(function (x) {
      return turnText(x).trim();
    }).filter(Boolean).join(" / ");
  }

  // fill replaces a list's items only when what they show changed: a button replaced between a
  // press and its release would lose the click.
  function fill(list, items, kind) {
    const sig = JSON.stringify([lang(), selected, me && me.name, me && me.number, items.map(function (c) {
      const id = str(c.id);
      const last = turnsOf(id);
      return [id, c.state, c.operator, c.agent, c.community_name, c.community, c.guess, isEmergency(c), unread.get(id) || 0,
        kind === "waiting" ? sinceText(c.since) : str(c.since), last.length, last.length ? turnText(last[last.length - 1]) : ""];
    })]);
    if (list._sig === sig) {
      return;
    }
    list._sig = sig;
    clear(list);
    for (const c of items) {
      list.appendChild(chatItem(c, kind));
    }
  }

  // ---- the chat pane ----

  function turnEl(turn) {
    const from = ["resident", "bot", "operator", "system"].indexOf(turn.from) >= 0 ? turn.from : "system";
    const d = h("div", {
      class: "turn from-" + from, testid: "chat-turn", "data-from": from,
      "data-seq": turn.seq ? String(turn.seq) : null, "data-id": turn.id ? str(turn.id) : null
    });
    const time = fmtClock(turn.at);
    d.appendChild(h("div", { class: "meta", text: whoLabel(turn) + (time ? " · " + time : "") }));
    d.appendChild(h("div", { class: "text", testid: "chat-turn-text", text: turnText(turn) }));
    if (turn.attachment && selected && /^[A-Za-z0-9_-]+$/.test(str(turn.attachment))) {
      // A photo the resident sent: shown where it was sent, opened whole in a tab of its own.
      const url = "/api/v1/chats/" + encodeURIComponent(selected) + "/attachments/" + encodeURIComponent(str(turn.attachment));
      const img = h("img", { src: url, alt: t("f.photos"), testid: "chat-photo", loading: "lazy" });
      img.style.cssText = "display: block; max-width: 220px; max-height: 220px; margin-top: 4px; border-radius: 6px; border: 1px solid #ccd;";
      d.appendChild(h("a", { href: url, target: "_blank", rel: "noopener" }, [img]));
    }
    const extras = [];
    const r = turn.reply && typeof turn.reply === "object" ? turn.reply : null;
    if (r && Array.isArray(r.options) && r.options.length) {
      extras.push(t("chat.options", {
        list: r.options.map(function (o) {
          return str(o && (o.label || o.id));
        }).join(" / ")
      }));
    }
    const card = turn.contact || (r && r.contact);
    if (card && typeof card === "object") {
      extras.push(t("chat.card", { name: str(card.community) + (card.grid ? " · " + str(card.grid) : "") }));
    }
    if (turn.entry && typeof turn.entry === "object" && turn.entry.title) {
      extras.push(t("chat.entry", { title: str(turn.entry.title) }));
    }
    const tn = ticketNumber((r && r.ticket) || turn.ticket);
    if (tn) {
      extras.push(t("chat.ticketRef", { number: tn }));
    }
    for (const x of extras) {
      d.appendChild(h("div", { class: "extra", text: x }));
    }
    if (from === "operator") {
      const mark = h("div", { class: "delivered", testid: "delivered-mark", text: t("chat.delivered") });
      mark.hidden = !isDelivered(selected, turn);
      d.appendChild(mark);
      d._turn = turn;
    }
    return d;
  }

  function isDelivered(conv, turn) {
    return (turn.id !== undefined && turn.id !== null && turn.id !== "" && delivered.has(conv + "\n" + str(turn.id))) ||
      (!!turn.seq && delivered.has(conv + "\n" + String(turn.seq)));
  }

  function renderDelivered() {
    const marks = transcriptEl.querySelectorAll("[data-testid=chat-turn][data-from=operator]");
    for (const d of Array.from(marks)) {
      const mark = d.querySelector("[data-testid=delivered-mark]");
      if (mark && d._turn) {
        mark.hidden = !isDelivered(selected, d._turn);
      }
    }
  }

  function appendTurns(turns, force) {
    if (!selected) {
      return;
    }
    const empty = transcriptEl.querySelector(".pane-empty");
    if (empty) {
      transcriptEl.removeChild(empty);
    }
    const atEnd = force || transcriptEl.scrollHeight - transcriptEl.scrollTop - transcriptEl.clientHeight < 60;
    for (const turn of turns) {
      transcriptEl.appendChild(turnEl(turn));
    }
    if (atEnd) {
      transcriptEl.scrollTop = transcriptEl.scrollHeight;
    }
  }

  function renderTranscript() {
    clear(transcriptEl);
    if (!selected) {
      transcriptEl.appendChild(h("p", { class: "pane-empty", text: t("chat.none") }));
      return;
    }
    appendTurns(turnsOf(selected), true);
  }

  function renderPane() {
    const c = selected ? chats.get(selected) : null;
    chatTitle.textContent = c ? communityName(c) : selected ? t("chat.ended") : "";
    if (c) {
      const parts = [tk("state." + str(c.state), str(c.state))];
      if (c.agent || c.operator) {
        parts.push(t("live.agent", { agent: str(c.agent) || str(c.operator) }) + (isMine(c) ? t("live.mine") : ""));
      }
      if (c.since) {
        parts.push(t("chat.since", { time: fmtTime(c.since) }));
      }
      chatMeta.textContent = parts.join(" · ");
    } else {
      chatMeta.textContent = "";
    }
    chatMeta.dataset.state = c ? str(c.state) : "";
    paneTake.hidden = !(c && (c.state === "waiting" || c.state === "offered"));
    paneTake.disabled = false;
    const mine = canSay(c);
    ticketBtn.disabled = !mine;
    releaseBtn.disabled = !mine;
    chatInput.disabled = !mine;
    chatInput.placeholder = mine ? t("chat.placeholder") : t("chat.readonly");
    if (!mine) {
      ticketForm.hidden = true;
    }
    updateSend();
    renderGuide();
  }

  function updateSend() {
    chatSend.disabled = chatInput.disabled || chatInput.value.trim() === "";
  }

  paneTake.addEventListener("click", function () {
    if (selected) {
      take(selected, paneTake);
    }
  });

  releaseBtn.addEventListener("click", function () {
    const id = selected;
    if (!canSay(chats.get(id))) {
      return;
    }
    releaseBtn.disabled = true;
    request("release", { conversation: id }, function () {
      renderPane();
    });
  });

  function sendSay() {
    const id = selected;
    if (!canSay(chats.get(id))) {
      showStatus("not_yours", t("err.notLive"), "bad");
      return;
    }
    const text = chatInput.value;
    if (text.trim() === "") {
      return;
    }
    if (charCount(text) > 2000) {
      showStatus("bad_request", t("err.tooLong"), "bad");
      return;
    }
    chatInput.value = "";
    updateSend();
    lastTypingSent = 0;
    request("say", { conversation: id, text: text }, function (res) {
      if (!res.ok && chatInput.value === "" && selected === id) {
        chatInput.value = text; // not sent: give it back
        updateSend();
      }
    }, true);
  }

  chatSend.addEventListener("click", sendSay);
  chatInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      sendSay();
    }
  });

  // The resident sees the operator typing: at most one typing frame every 2 s.
  let lastTypingSent = 0;
  chatInput.addEventListener("input", function () {
    updateSend();
    const now = Date.now();
    if (chatInput.value.trim() !== "" && canSay(chats.get(selected)) && now - lastTypingSent >= 2000) {
      if (sendWS({ type: "typing", conversation: selected })) {
        lastTypingSent = now;
      }
    }
  });

  function insertText(text) {
    if (chatInput.disabled) {
      showStatus("not_yours", t("err.notLive"), "bad");
      return;
    }
    const start = chatInput.selectionStart === null ? chatInput.value.length : chatInput.selectionStart;
    const end = chatInput.selectionEnd === null ? start : chatInput.selectionEnd;
    chatInput.setRangeText(text, start, end, "end");
    chatInput.focus();
    chatInput.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // ---- ticket from a chat ----

  function fillSelect(sel, options) {
    const keep = sel.value;
    clear(sel);
    for (const o of options) {
      sel.appendChild(h("option", { value: o[0], text: o[1] }));
    }
    if (options.some(function (o) {
      return o[0] === keep;
    })) {
      sel.value = keep;
    }
  }

  function categoryName(code) {
    return tk("category." + str(code), str(code));
  }

  function communityLabel(id) {
    for (const c of communities) {
      if (c.id === id) {
        return c.town ? c.name + "（" + c.town + "）" : c.name;
      }
    }
    return str(id);
  }

  function topicOptions(c) {
    const opts = [["", t("tf.topicNone")]];
    const seen = {};
    const own = c && c.topic && typeof c.topic === "object" ? str(c.topic.id) : "";
    if (own) {
      opts.push([own, t("tf.chatTopic", { title: str(c.topic.title) || own })]);
      seen[own] = true;
    }
    if (guessTopic(c) && !seen[guessTopic(c)]) {
      opts.push([guessTopic(c), t("tf.guess", { title: guessTitle(c) })]);
      seen[guessTopic(c)] = true;
    }
    const entries = lastGuide && Array.isArray(lastGuide.entries) ? lastGuide.entries : [];
    for (const e of entries) {
      if (e && e.id && !seen[e.id] && e.kind !== "intent") {
        opts.push([str(e.id), str(e.title) || str(e.id)]);
        seen[e.id] = true;
      }
    }
    return opts;
  }

  function fillTicketSelects(c) {
    fillSelect(tfCategory, [["", t("tf.categoryNone")]].concat(CATEGORIES.map(function (x) {
      return [x, categoryName(x)];
    })));
    fillSelect(tfTopic, topicOptions(c));
    fillSelect(tfCommunity, [["", t("tf.communityNone")]].concat(communities.map(function (x) {
      return [x.id, communityLabel(x.id)];
    })));
  }

  // The options a resident taps are not what they said: 确认提交, 转人工… stay out of a summary.
  const TAPPED = /^(确认提交|取消|继续问机器人|转人工|登记工单|留言|是|否)$/;

  // defaultDescription is the summary of a chat for its ticket: what the resident said, in their
  // own words, oldest first — not the bot's answers, not the options they tapped.
  function defaultDescription(id) {
    const lines = [];
    for (const turn of turnsOf(id)) {
      const text = turn.from === "resident" ? turnText(turn).trim() : "";
      if (text && !TAPPED.test(text) && lines[lines.length - 1] !== text) {
        lines.push(text);
      }
    }
    let s = lines.join("\n");
    if (charCount(s) > 3800) {
      s = "…" + Array.from(s).slice(-3800).join("");
    }
    return s;
  }

  // chatPhone is a phone the chat collected: the report's, else the last one the resident typed.
  const PHONE_RE = /(?:^|\D)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)/g;
  function chatPhone(c, id) {
    if (c && c.phone) {
      return str(c.phone);
    }
    let found = "";
    for (const turn of turnsOf(id)) {
      if (turn.from !== "resident") {
        continue;
      }
      for (const m of turnText(turn).matchAll(PHONE_RE)) {
        found = m[1];
      }
    }
    return found;
  }

  ticketBtn.addEventListener("click", function () {
    const c = chats.get(selected);
    if (!canSay(c)) {
      return;
    }
    if (!ticketForm.hidden) {
      ticketForm.hidden = true;
      return;
    }
    fillTicketSelects(c);
    // What the chat collected: its report's topic (never a guess the operator has not chosen),
    // place and phone, and the resident's own words.
    tfTopic.value = c.topic && typeof c.topic === "object" ? str(c.topic.id) : "";
    tfCategory.value = !tfTopic.value && CATEGORIES.indexOf(str(c.category)) >= 0 ? str(c.category) : "";
    tfCommunity.value = communities.some(function (x) {
      return x.id === c.community;
    }) ? str(c.community) : "";
    tfPhone.value = chatPhone(c, selected);
    tfAddress.value = str(c.address);
    tfDescription.value = defaultDescription(selected);
    ticketForm.hidden = false;
    tfCategory.focus();
  });
  $("tf-cancel").addEventListener("click", function () {
    ticketForm.hidden = true;
  });
  ticketForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const id = selected;
    if (!canSay(chats.get(id))) {
      return;
    }
    const fields = {
      conversation: id, community: tfCommunity.value, address: tfAddress.value.trim(),
      phone: tfPhone.value.trim(), description: tfDescription.value.trim()
    };
    if (tfTopic.value) {
      fields.topic = tfTopic.value;
    } else if (tfCategory.value) {
      fields.category = tfCategory.value;
    }
    tfSubmit.disabled = true;
    request("ticket", fields, function (res) {
      tfSubmit.disabled = false;
      if (res.ok) {
        ticketForm.hidden = true;
        scheduleTicketRefresh();
      }
    });
  });

  // ---- canned replies ----

  async function loadCanned() {
    try {
      const list = await api("GET", "/api/v1/canned");
      canned = Array.isArray(list) ? list : [];
    } catch (e) {
      canned = [];
      showError(e);
    }
    renderCanned();
  }

  function renderCanned() {
    clear(cannedList);
    cannedNew.hidden = !isManager();
    if (!canned.length) {
      cannedList.appendChild(h("li", { class: "empty", text: t("canned.empty") }));
    }
    for (const c of canned) {
      const item = c;
      const li = h("li", { class: "canned-item", testid: "canned-item", "data-id": str(c.id) });
      li.appendChild(h("button", {
        type: "button", class: "use", testid: "canned-use", title: str(c.text), text: str(c.title) || oneLine(c.text, 20),
        onclick: function () {
          insertText(str(item.text));
        }
      }));
      if (isManager()) {
        li.appendChild(h("button", {
          type: "button", testid: "canned-edit", text: t("canned.edit"),
          onclick: function () {
            openCannedEditor(item);
          }
        }));
        const del = h("button", { type: "button", class: "danger", testid: "canned-delete", text: t("canned.delete") });
        let armed = 0;
        del.addEventListener("click", async function () {
          if (Date.now() - armed > 4000) {
            armed = Date.now();
            del.textContent = t("canned.confirm");
            setTimeout(function () {
              del.textContent = t("canned.delete");
            }, 4000);
            return;
          }
          try {
            await api("DELETE", "/api/v1/canned/" + encodeURIComponent(str(item.id)));
            showStatus("ok", t("ok.cannedDeleted"), "ok");
          } catch (e) {
            showError(e);
          }
          loadCanned();
        });
        li.appendChild(del);
      }
      cannedList.appendChild(li);
    }
  }

  function openCannedEditor(item) {
    editingCanned = item ? item.id : 0;
    cannedTitle.value = item ? str(item.title) : "";
    cannedText.value = item ? str(item.text) : "";
    cannedEditor.hidden = false;
    cannedTitle.focus();
  }
  cannedNew.addEventListener("click", function () {
    openCannedEditor(null);
  });
  $("canned-cancel").addEventListener("click", function () {
    cannedEditor.hidden = true;
    editingCanned = null;
  });
  cannedEditor.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = { title: cannedTitle.value.trim(), text: cannedText.value.trim() };
    if (!body.title || !body.text) {
      showStatus("bad_request", t("canned.needBoth"), "bad");
      return;
    }
    try {
      if (editingCanned) {
        await api("PUT", "/api/v1/canned/" + encodeURIComponent(str(editingCanned)), body);
      } else {
        await api("POST", "/api/v1/canned", body);
      }
      cannedEditor.hidden = true;
      editingCanned = null;
      showStatus("ok", t("ok.canned"), "ok");
      loadCanned();
    } catch (e) {
      showError(e);
    }
  });

  // ---- guide search ----

  let guideTimer = null;
  let guideSeq = 0;
  guideInput.addEventListener("input", function () {
    clearTimeout(guideTimer);
    guideTimer = setTimeout(searchGuide, 300);
  });
  guideInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      ev.preventDefault();
      clearTimeout(guideTimer);
      searchGuide();
    }
  });

  async function searchGuide() {
    const q = guideInput.value.trim();
    guideSeq += 1;
    const mine = guideSeq;
    if (!q) {
      lastGuide = null;
      renderGuide();
      return;
    }
    try {
      const r = await api("GET", "/api/v1/guide/search?q=" + encodeURIComponent(q));
      if (mine !== guideSeq) {
        return; // a newer search is on its way
      }
      lastGuide = r && typeof r === "object" ? r : { entries: [], communities: [] };
    } catch (e) {
      if (mine === guideSeq) {
        showError(e);
      }
      return;
    }
    renderGuide();
  }

  function renderGuide() {
    clear(guideResults);
    if (!lastGuide) {
      return;
    }
    const can = canSay(chats.get(selected));
    const entries = Array.isArray(lastGuide.entries) ? lastGuide.entries : [];
    const comms = Array.isArray(lastGuide.communities) ? lastGuide.communities : [];
    if (!entries.length && !comms.length) {
      guideResults.appendChild(h("p", { class: "empty", text: t("guide.none") }));
      return;
    }
    for (const e of entries) {
      if (!e || !e.id) {
        continue;
      }
      const entry = e;
      const box = h("div", { class: "guide-result", testid: "guide-result", "data-kind": "entry", "data-id": str(e.id) });
      box.appendChild(h("div", { class: "title" }, [str(e.title) || str(e.id),
        e.kind ? h("span", { class: "kind", text: tk("kind." + str(e.kind), str(e.kind)) }) : null]));
      box.appendChild(h("div", { class: "body", text: str(e.text) }));
      const more = h("button", { type: "button", text: t("more") });
      more.addEventListener("click", function () {
        box.classList.toggle("open");
        more.textContent = box.classList.contains("open") ? t("less") : t("more");
      });
      box.appendChild(h("div", { class: "row" }, [more, h("button", {
        type: "button", class: "primary", testid: "guide-send", disabled: !can, text: t("guide.sendEntry"),
        onclick: function () {
          request("send_entry", { conversation: selected, entry: str(entry.id) });
        }
      })]));
      guideResults.appendChild(box);
    }
    for (const c of comms) {
      if (!c || !c.id) {
        continue;
      }
      const comm = c;
      const box = h("div", { class: "guide-result", testid: "guide-result", "data-kind": "community", "data-id": str(c.id) });
      box.appendChild(h("div", { class: "title" }, [str(c.name) || str(c.id), c.town ? h("span", { class: "kind", text: str(c.town) }) : null]));
      box.appendChild(h("div", { class: "row" }, h("button", {
        type: "button", class: "primary", testid: "guide-send", disabled: !can, text: t("guide.sendCard"),
        onclick: function () {
          request("send_card", { conversation: selected, community: str(comm.id) });
        }
      })));
      guideResults.appendChild(box);
    }
  }

  // ---- communities and filters ----

  async function loadCommunities() {
    try {
      const list = await api("GET", "/api/v1/communities?grids=1");
      communities = (Array.isArray(list) ? list : []).filter(function (c) {
        return c && c.id;
      }).map(function (c) {
        return { id: str(c.id), name: str(c.name) || str(c.id), town: str(c.town) };
      });
      grids = {};
      for (const c of Array.isArray(list) ? list : []) {
        for (const g of c && Array.isArray(c.grids) ? c.grids : []) {
          if (g && g.id) {
            grids[str(g.id)] = str(c.name) + " " + (str(g.name) || str(g.id));
          }
        }
      }
    } catch (e) {
      communities = [];
    }
    fillFilters();
    renderTickets();
  }

  function fillFilters() {
    fillSelect(filterStatus, [["", t("filter.allStatus")]].concat(STATUSES.map(function (s) {
      return [s, t("status." + s)];
    })));
    fillSelect(filterTier, [["", t("filter.allTier")]].concat(TIERS.map(function (s) {
      return [s, t("tier." + s)];
    })));
    fillSelect(filterCommunity, [["", t("filter.allCommunity")]].concat(communities.map(function (c) {
      return [c.id, communityLabel(c.id)];
    })));
  }
  [filterStatus, filterTier, filterCommunity].forEach(function (s) {
    s.addEventListener("change", loadTickets);
  });
  $("tickets-refresh").addEventListener("click", loadTickets);

  // ---- the ticket queue ----

  let ticketSeq = 0;
  async function loadTickets() {
    if (!me) {
      return;
    }
    const q = new URLSearchParams();
    if (filterStatus.value) {
      q.set("status", filterStatus.value);
    }
    if (filterTier.value) {
      q.set("tier", filterTier.value);
    }
    if (filterCommunity.value) {
      q.set("community", filterCommunity.value);
    }
    q.set("limit", "200");
    ticketSeq += 1;
    const mine = ticketSeq;
    try {
      const list = await api("GET", "/api/v1/tickets?" + q.toString());
      if (mine !== ticketSeq) {
        return;
      }
      tickets = Array.isArray(list) ? list : [];
    } catch (e) {
      showError(e);
      return;
    }
    renderTickets();
  }

  let refreshTimer = null;
  let refreshDetail = false;
  function scheduleTicketRefresh(number) {
    if (number && number === selectedTicket) {
      refreshDetail = true;
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      loadTickets();
      if (refreshDetail && selectedTicket) {
        openTicket(selectedTicket);
      }
      refreshDetail = false;
    }, 250);
  }

  function statusLabel(tk0) {
    return lang() === "zh" && tk0.status_label ? str(tk0.status_label) : tk("status." + str(tk0.status), str(tk0.status));
  }

  function tagsOf(x) {
    const tags = [];
    if (x.urgency && x.urgency !== "normal") {
      tags.push(h("span", { class: "tag " + (x.urgency === "emergency" ? "red" : "amber"), text: tk("urgency." + x.urgency, str(x.urgency)) }));
    }
    if (x.overdue) {
      tags.push(h("span", { class: "tag red", text: t("tag.overdue") }));
    }
    if (x.urged) {
      tags.push(h("span", { class: "tag amber", text: t("tag.urged", { n: x.urged }) }));
    }
    if (x.reopened) {
      tags.push(h("span", { class: "tag", text: t("tag.reopened", { n: x.reopened }) }));
    }
    if (x.extension && x.extension.state) {
      tags.push(h("span", { class: "tag", text: t("tag.extension", { state: tk("ext." + x.extension.state, str(x.extension.state)) }) }));
    }
    return tags;
  }

  function renderTickets() {
    const sig = JSON.stringify([lang(), selectedTicket, communities.length, tickets]);
    if (ticketListEl._sig === sig) {
      return; // unchanged: keep the rows (and a click in progress on one)
    }
    ticketListEl._sig = sig;
    clear(ticketListEl);
    ticketsCount.textContent = me ? t("tickets.count", { n: tickets.length }) : "";
    for (const x of tickets) {
      if (!x || !x.number) {
        continue;
      }
      const number = str(x.number);
      const cls = "ticket-row" + (x.overdue ? " overdue" : x.urgency && x.urgency !== "normal" ? " urgent" : "") +
        (number === selectedTicket ? " selected" : "");
      const li = h("li", {
        class: cls, testid: "ticket-row", "data-number": number, "data-status": str(x.status), tabindex: "0",
        onclick: function () {
          openTicket(number);
        },
        onkeydown: function (ev) {
          if (ev.key === "Enter") {
            openTicket(number);
          }
        }
      });
      const what = [categoryName(x.category), x.community ? communityLabel(x.community) : ""].filter(Boolean).join(" · ");
      li.appendChild(h("span", { class: "num", text: number }));
      li.appendChild(h("span", { class: "status", testid: "ticket-row-status", text: statusLabel(x) }));
      li.appendChild(h("span", { class: "desc", title: str(x.description) }, [what ? what + t("sep") : "", oneLine(x.description, 80)]));
      li.appendChild(h("span", { class: "due", text: fmtTime(x.due_by) }));
      li.appendChild(h("div", { class: "tags" }, tagsOf(x).concat([x.assignee ? str(x.assignee) : ""])));
      ticketListEl.appendChild(li);
    }
  }

  // ---- one ticket ----

  let detailSeq = 0;
  // The ticket whose text an operator or manager chose to see whole, with a reason (?reveal=1).
  let revealed = "";
  async function openTicket(number) {
    const changed = number !== selectedTicket;
    selectedTicket = number;
    if (changed) {
      renderTickets();
    }
    detailSeq += 1;
    const mine = detailSeq;
    try {
      const d = await api("GET", "/api/v1/tickets/" + encodeURIComponent(number) + (revealed === number ? "?reveal=1" : ""));
      if (mine !== detailSeq || selectedTicket !== number) {
        return;
      }
      if (!changed && detail && JSON.stringify(detail) === JSON.stringify(d)) {
        return; // unchanged: keep the form (and a click in progress on it)
      }
      detail = d;
    } catch (e) {
      showError(e);
      return;
    }
    renderDetail(!changed);
    if (changed && window.innerWidth <= 900) {
      detailEl.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  function row(dl, key, value, testid) {
    if (value === undefined || value === null || value === "") {
      return;
    }
    dl.appendChild(h("dt", { text: t(key) }));
    dl.appendChild(h("dd", { testid: testid || null }, value));
  }

  // ticketPhotos shows the photos the resident sent with the ticket (GET …/attachments), under its
  // fields; none, nothing.
  async function ticketPhotos(number) {
    let list;
    try {
      list = await api("GET", "/api/v1/tickets/" + encodeURIComponent(number) + "/attachments");
    } catch (e) {
      return; // the detail shows without them
    }
    const items = list && Array.isArray(list.attachments) ? list.attachments : [];
    if (!items.length || detailEl.dataset.number !== number || detailEl.querySelector("[data-testid=ticket-photos]")) {
      return;
    }
    const box = h("div", { class: "ticket-photos", testid: "ticket-photos" }, [h("h3", { text: t("f.photos") })]);
    for (const a of items) {
      const url = str(a.url);
      if (!/^\/api\/v1\/tickets\//.test(url)) {
        continue;
      }
      const img = h("img", { src: url, alt: t("f.photos"), testid: "ticket-photo", loading: "lazy" });
      img.style.cssText = "max-width: 240px; max-height: 240px; margin: 4px 8px 4px 0; border-radius: 6px; border: 1px solid #ccd;";
      box.appendChild(h("a", { href: url, target: "_blank", rel: "noopener" }, [img]));
    }
    const dl = detailEl.querySelector("dl");
    detailEl.insertBefore(box, dl ? dl.nextSibling : null);
  }

  function renderDetail(keepInputs) {
    const kept = {};
    if (keepInputs) {
      for (const id of ["ticket-note", "ticket-assignee", "ticket-grid", "ticket-tier", "ticket-until", "ticket-rating"]) {
        const e = detailEl.querySelector("[data-testid=" + id + "]");
        if (e) {
          kept[id] = e.value;
        }
      }
    }
    clear(detailEl);
    const d = detail;
    if (!d || !d.number) {
      delete detailEl.dataset.number;
      detailEl.appendChild(h("p", { class: "pane-empty", text: t("ticket.none") }));
      return;
    }
    detailEl.dataset.number = str(d.number);
    detailEl.dataset.status = str(d.status);
    detailEl.dataset.version = str(d.version);
    detailEl.appendChild(h("h2", {}, [h("span", { class: "num", text: str(d.number) }),
      h("span", { class: "tag", testid: "ticket-status", text: statusLabel(d) })].concat(tagsOf(d))));
    const dl = h("dl");
    row(dl, "f.category", categoryName(d.category));
    row(dl, "f.topic", str(d.topic));
    row(dl, "f.community", d.community ? communityLabel(d.community) : "");
    row(dl, "f.grid", d.grid ? gridName(d.grid) : "");
    row(dl, "f.tier", d.tier ? tk("tier." + d.tier, str(d.tier)) : "");
    row(dl, "f.urgency", d.urgency ? tk("urgency." + d.urgency, str(d.urgency)) : "");
    row(dl, "f.assignee", str(d.assignee));
    const phone = str(d.phone_full) || str(d.phone);
    if (phone) {
      const a = h("a", { text: phone });
      if (/^[\d+-]+$/.test(phone) && d.phone_full) {
        a.setAttribute("href", "tel:" + phone.replace(/[^\d+]/g, ""));
      }
      row(dl, "f.phone", a, "ticket-phone-value");
    }
    row(dl, "f.address", str(d.address));
    row(dl, "f.description", str(d.description), "ticket-description-value");
    if (revealed !== str(d.number) && me && (me.role === "operator" || me.role === "manager")) {
      // Seeing the numbers takes a reason, written into the ticket's history (POST …/reveal);
      // for half an hour after, the detail is fetched whole (?reveal=1).
      const reason = h("input", { type: "text", testid: "ticket-reveal-reason", placeholder: t("revealReason"), maxlength: "200" });
      reason.setAttribute("aria-label", t("revealReason"));
      dl.appendChild(h("dd", { class: "reveal" }, [reason, h("button", {
        type: "button", testid: "ticket-reveal", text: t("reveal"),
        onclick: async function () {
          const number = str(d.number);
          try {
            await api("POST", "/api/v1/tickets/" + encodeURIComponent(number) + "/reveal", { reason: reason.value });
          } catch (e) {
            showError(e);
            return;
          }
          revealed = number;
          openTicket(number);
        }
      })]));
    }
    row(dl, "f.created", fmtTime(d.created_at));
    row(dl, "f.signBy", fmtTime(d.sign_by));
    row(dl, "f.dueBy", fmtTime(d.due_by));
    if (d.extension && typeof d.extension === "object") {
      row(dl, "f.extension", tk("ext." + d.extension.state, str(d.extension.state)) + " · " + fmtTime(d.extension.until) +
        (d.extension.reason ? " · " + str(d.extension.reason) : ""));
    }
    row(dl, "f.reply", str(d.reply), "ticket-reply-value");
    row(dl, "f.rating", d.rating ? tk("rating." + d.rating, str(d.rating)) : "");
    row(dl, "f.channel", d.channel ? tk("channel." + d.channel, str(d.channel)) : "");
    if (d.conversation_id) {
      const conv = str(d.conversation_id);
      const known = transcripts.has(conv) || chats.has(conv);
      row(dl, "f.conversation", known ? h("button", {
        type: "button", testid: "ticket-open-chat", text: t("open.chat"),
        onclick: function () {
          select(conv);
        }
      }) : conv);
    }
    detailEl.appendChild(dl);
    ticketPhotos(str(d.number));

    // Actions: what the lifecycle allows now, and this role may do.
    const pendingExt = !!(d.extension && d.extension.state === "requested");
    const allowed = (Array.isArray(d.allowed) ? d.allowed.map(str) : []).filter(function (a) {
      if ((a === "approve_extension" || a === "refuse_extension") && !pendingExt) {
        return false;
      }
      if (a === "request_extension" && pendingExt) {
        return false;
      }
      return !(me && me.role === "grid_worker") || GRID_WORKER_ACTIONS.indexOf(a) >= 0;
    });
    const form = h("div", { class: "grid-form" });
    const note = h("textarea", { id: "ticket-note", testid: "ticket-note", rows: "3" });
    form.appendChild(h("label", { class: "wide" }, [h("span", { text: t("act.note") }), note]));
    const assignee = h("input", { testid: "ticket-assignee", value: str(d.assignee), autocomplete: "off" });
    const grid = h("input", { testid: "ticket-grid", value: str(d.grid), autocomplete: "off" });
    const tier = h("select", { testid: "ticket-tier" });
    fillSelect(tier, [["", t("act.tierKeep")]].concat(TIERS.map(function (x) {
      return [x, t("tier." + x)];
    })));
    const until = h("input", { testid: "ticket-until", type: "datetime-local" });
    const rating = h("select", { testid: "ticket-rating" });
    fillSelect(rating, ["satisfied", "basically_satisfied", "dissatisfied"].map(function (x) {
      return [x, t("rating." + x)];
    }));
    const needs = function (acts) {
      return acts.some(function (a) {
        return allowed.indexOf(a) >= 0;
      });
    };
    if (needs(["dispatch", "escalate", "reopen"])) {
      form.appendChild(h("label", {}, [h("span", { text: t("act.assignee") }), assignee]));
    }
    if (needs(["dispatch"])) {
      form.appendChild(h("label", {}, [h("span", { text: t("act.grid") }), grid]));
      form.appendChild(h("label", {}, [h("span", { text: t("act.tier") }), tier]));
    }
    if (needs(["request_extension"])) {
      form.appendChild(h("label", {}, [h("span", { text: t("act.until") }), until]));
    }
    if (needs(["rate"])) {
      form.appendChild(h("label", {}, [h("span", { text: t("act.rating") }), rating]));
    }
    detailEl.appendChild(form);
    const buttons = h("div", { class: "ticket-actions", testid: "ticket-actions" });
    for (const a of ACTIONS) {
      if (allowed.indexOf(a) < 0 && a !== "note") {
        continue;
      }
      const action = a;
      buttons.appendChild(h("button", {
        type: "button", class: a === "resolve" || a === "sign" || a === "dispatch" ? "primary" : "", testid: "ticket-action-" + a,
        text: t("action." + a),
        onclick: function () {
          act(action, { note: note, assignee: assignee, grid: grid, tier: tier, until: until, rating: rating }, buttons);
        }
      }));
    }
    detailEl.appendChild(buttons);
    for (const id of Object.keys(kept)) {
      const e = detailEl.querySelector("[data-testid=" + id + "]");
      if (e) {
        e.value = kept[id];
      }
    }

    const events = Array.isArray(d.events) ? d.events : [];
    if (events.length) {
      detailEl.appendChild(h("h3", { text: t("events.title") }));
      const ol = h("ol", { class: "events", testid: "ticket-events" });
      for (const ev of events) {
        // The new status, unless the action's name already says it (派单 → 派单).
        const actionLabel = tk("action." + ev.action, str(ev.action));
        const toLabel = ev.to && ev.to !== ev.from ? tk("status." + ev.to, str(ev.to)) : "";
        const moved = toLabel && toLabel !== actionLabel ? " → " + toLabel : "";
        const note = eventNote(ev);
        ol.appendChild(h("li", { testid: "ticket-event", "data-action": str(ev.action) }, [
          h("span", { class: "when", text: fmtTime(ev.at) + " " }),
          actorLabel(ev.actor) + " · " + actionLabel + moved,
          note ? h("div", { testid: "ticket-event-note", text: note }) : null
        ]));
      }
      detailEl.appendChild(ol);
    }
  }

  // actorLabel: who did it, in words — 系统, 居民 — or the staff member's name.
  function actorLabel(actor) {
    const a = str(actor);
    return a === "system" || a === "resident" ? t("actor." + a) : a;
  }
  // gridName is a grid's community and name, its id when unknown.
  function gridName(id) {
    return grids[str(id)] || str(id);
  }
  // eventNote is an event's note as staff read it: the channel of a creation (在线咨询), a rating
  // in words, grid ids as grid names.
  function eventNote(ev) {
    let note = str(ev.note);
    if (!note) {
      return "";
    }
    if (ev.action === "create") {
      return tk("channel." + note, note);
    }
    if (ev.action === "rate") {
      return tk("rating." + note, note);
    }
    return note.replace(/[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+/g, function (id) {
      return grids[id] || id;
    });
  }

  async function act(action, inputs, buttons) {
    const d = detail;
    if (!d) {
      return;
    }
    const number = str(d.number);
    const body = { version: d.version };
    const note = inputs.note.value.trim();
    if (note) {
      body.note = note;
    }
    if (action === "dispatch" || action === "escalate" || action === "reopen") {
      if (inputs.assignee.value.trim()) {
        body.assignee = inputs.assignee.value.trim();
      }
    }
    if (action === "dispatch") {
      if (inputs.grid.value.trim()) {
        body.grid = inputs.grid.value.trim();
      }
      if (inputs.tier.value) {
        body.tier = inputs.tier.value;
      }
    }
    if (action === "request_extension" && inputs.until.value) {
      const u = new Date(inputs.until.value);
      if (!isNaN(u.getTime())) {
        body.until = u.toISOString();
      }
    }
    if (action === "rate") {
      body.rating = inputs.rating.value;
    }
    const path = "/api/v1/tickets/" + encodeURIComponent(number) + (action === "note" ? "/notes" : "/" + action);
    const all = Array.from(buttons.querySelectorAll("button"));
    all.forEach(function (b) {
      b.disabled = true;
    });
    try {
      await api("POST", path, body);
      showStatus("ok", t("ok.action", { action: t("action." + action), number: number }), "ok");
      inputs.note.value = "";
    } catch (e) {
      showError(e);
    } finally {
      all.forEach(function (b) {
        b.disabled = false;
      });
    }
    if (selectedTicket === number) {
      await openTicket(number);
    }
    loadTickets();
  }

  // ---- alerts: sound, notification, count in the title ----

  let audio = null;
  function audioContext() {
    if (!audio) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) {
        return null;
      }
      try {
        audio = new AC();
      } catch (e) {
        return null;
      }
    }
    if (audio.state === "suspended") {
      audio.resume().catch(function () {
        /* needs a gesture first */
      });
    }
    return audio;
  }

  function beep(urgent) {
    sounds += 1;
    alertEl.dataset.sounds = String(sounds);
    const ac = audioContext();
    if (!ac) {
      return;
    }
    try {
      const now = ac.currentTime + 0.02;
      const tones = urgent ? [988, 740, 988, 740] : [880, 1175];
      tones.forEach(function (freq, i) {
        const o = ac.createOscillator();
        const g = ac.createGain();
        const t0 = now + i * 0.18;
        o.type = "sine";
        o.frequency.value = freq;
        g.gain.setValueAtTime(0.0001, t0);
        g.gain.exponentialRampToValueAtTime(0.25, t0 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.16);
        o.connect(g);
        g.connect(ac.destination);
        o.start(t0);
        o.stop(t0 + 0.17);
      });
    } catch (e) {
      /* no sound */
    }
  }

  function notify(f) {
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    try {
      const conv = str(f.conversation);
      const n = new Notification(f.kind === "emergency" ? t("alert.emergency") : f.kind === "urgent" ? t("alert.urgent") : t("alert.handoff"), {
        body: str(f.text) || str(f.ticket), tag: "hotline-" + (conv || str(f.ticket) || Date.now())
      });
      n.onclick = function () {
        window.focus();
        if (conv) {
          select(conv);
        } else if (f.ticket) {
          setView("tickets");
          openTicket(ticketNumber(f.ticket));
        }
        n.close();
      };
    } catch (e) {
      /* not shown */
    }
  }

  function onAlert(f) {
    unseen += 1;
    updateTitle();
    if (f.kind === "emergency" && f.conversation) {
      emergencies.set(str(f.conversation), f);
      renderLists();
      beep(true);
      beep(true); // twice as long as an urgent ticket's: someone may be in danger now
    } else {
      beep(f.kind === "urgent");
    }
    notify(f);
    if (f.kind === "urgent" || f.ticket) {
      scheduleTicketRefresh();
    }
  }

  function updateTitle() {
    document.title = (unseen ? "(" + unseen + ") " : "") + t("app.title");
    alertEl.textContent = String(unseen);
    alertEl.dataset.count = String(unseen);
  }

  // The operator has looked: the window got the focus, or they clicked or typed in it.
  function seen() {
    if (unseen) {
      unseen = 0;
      updateTitle();
    }
  }
  window.addEventListener("focus", function () {
    if (document.visibilityState === "visible") {
      seen();
    }
  });
  document.addEventListener("pointerdown", function () {
    seen();
    audioContext(); // a gesture lets the sound play later
  }, true);
  document.addEventListener("keydown", seen, true);

  function renderNotifyButton() {
    notifyBtn.hidden = !me || !("Notification" in window) || Notification.permission !== "default";
  }
  notifyBtn.addEventListener("click", function () {
    if (!("Notification" in window)) {
      return;
    }
    // Asked only on a click: never on load.
    const p = Notification.requestPermission(renderNotifyButton);
    if (p && typeof p.then === "function") {
      p.then(renderNotifyButton, renderNotifyButton);
    }
  });

  // ---- language ----

  function applyLang() {
    staff.applyTexts(langBtn);
    langBtn.setAttribute("aria-pressed", lang() === "en" ? "true" : "false");
    setConn(connEl.dataset.state || "none");
    updateTitle();
  }

  function renderAll() {
    renderWhoami();
    fillFilters();
    if (!ticketForm.hidden) {
      fillTicketSelects(chats.get(selected));
    }
    renderLists();
    renderTranscript();
    renderPane();
    renderTyping();
    renderCanned();
    renderTickets();
    if (detail && selectedTicket) {
      renderDetail(true);
    } else {
      renderDetail(false);
    }
  }

  staff.langButton(langBtn, function () {
    applyLang();
    renderAll();
  });

  // The waiting times move on.
  setInterval(function () {
    if (me && chats.size) {
      renderLists();
    }
  }, 30000);

  // ---- start ----

  applyLang();
  renderAll();
  if (load(SIGNED_KEY) === "1") {
    api("GET", "/api/v1/me").then(function (u) {
      if (u && u.name) {
        startDesk(u);
      } else {
        showLogin("");
      }
    }, function () {
      save(SIGNED_KEY, "");
      showLogin("");
    });
  } else {
    showLogin(""); // never logged in here: no need to ask (and log a 401)
  }
})();
