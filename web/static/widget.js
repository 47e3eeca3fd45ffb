/*
 * hotline resident chat widget.
 *
 *   <script src="https://HOST/widget.js" data-community="wy-jinqiao" async></script>
 *
 * adds a round "在线咨询" button and a chat panel to the page, both inside an open Shadow DOM so
 * the page's CSS cannot reach them. It talks to wss://HOST/ws/chat (docs/protocol.md), keeps the
 * session token in localStorage ("hotline.session") and resumes the conversation after a reload
 * or a reconnect. Plain JavaScript, no build step, no requests anywhere but HOST.
 *
 * Every string from the server or the resident is put in the page with textContent or
 * createTextNode, never as HTML.
 *
 * When the resident asks for a person (docs/operator.md, "Resident side"), an operator may take
 * the chat over: their messages show as a person's ("工作人员 0007"), each acknowledged once shown
 * ({"type":"ack"}); the resident's messages are then only stored for the operator (a "received"
 * frame marks them sent); typing shows both ways ({"type":"typing"}, at most one every 2 s).
 *
 * A resolved ticket of the conversation brings a survey (docs/rates.md, "The survey"): a card in the
 * conversation with 满意 / 基本满意 / 不满意, 问题解决了吗 是 / 否 and an optional comment, sent as a
 * {"type":"rate"} frame; one card per ticket number for the page's life. Under every bot answer
 * the resident may say whether it helped ({"type":"feedback"}; a second tap on the other changes
 * the vote).
 *
 * A guide answer shows its short text; the rest of it (a reply's "more": 条件, 材料, 地点…) waits
 * behind a 更多 button in the same bubble, and 收起 folds it again.
 *
 * Test hooks: host element #hotline-widget; in its shadow root [data-testid=launcher], =input,
 * =send, =messages, =msg (with data-from; data-sent once received; data-notice, data-handoff;
 * data-reply-to on bot replies), =more (the 更多 / 收起 button of a reply with sections, with
 * aria-expanded) and =more-body holding =more-section (with data-title), =option (with
 * data-option-id), =status, =typing, =agent-status
 * (with data-state); =feedback-yes, =feedback-no (aria-pressed) in each answer's message;
 * =survey-card (with data-number, data-state: open, sending, rated, or the refusal's code) holding
 * =survey-rating-<id>, =survey-solved-yes, =survey-solved-no, =survey-comment, =survey-submit,
 * =survey-result and =survey-link; =time (each message's time, in data-time), =calls/=call
 * (tel: buttons, data-number), =hint, =report-tools holding =photo, =photo-input and =location;
 * photo messages carry data-photo (sending, sent, failed); the widget's own lines data-local.
 *
 * Sizes for elders and phones, photos, the location, the queue and the hidden-tab cue:
 * docs/protocol.md, "The widget on a phone".
 */
(function () {
  "use strict";

  var HOST_ID = "hotline-widget";
  var SESSION_KEY = "hotline.session";
  var LARGE_KEY = "hotline.largeText";
  var MAX_CHARS = 2000;
  var BACKOFF_MIN = 1000;
  var BACKOFF_MAX = 30000;
  var PING_EVERY = 45000;

  if (typeof document === "undefined" || document.getElementById(HOST_ID)) {
    return; // loaded twice: one widget is enough
  }

  // ---- where the server is ----

  function findScript() {
    var s = document.currentScript;
    if (s && s.src) {
      return s;
    }
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) {
      var path = (all[i].getAttribute("src") || "").split(/[?#]/)[0];
      if (/(^|\/)widget\.js$/.test(path)) {
        return all[i];
      }
    }
    return null;
  }

  var script = findScript();
  var origin;
  try {
    origin = new URL(script ? script.src : "/", document.baseURI || location.href);
  } catch (e) {
    origin = new URL(location.href);
  }
  var wsURL = (origin.protocol === "https:" ? "wss:" : "ws:") + "//" + origin.host + "/ws/chat";
  var community = (script && script.getAttribute("data-community")) || "";

  // ---- storage that may be unavailable (private mode, blocked cookies) ----

  var memoryStore = {};
  function load(key) {
    try {
      var v = window.localStorage.getItem(key);
      return v === null ? "" : v;
    } catch (e) {
      return memoryStore[key] || "";
    }
  }
  function save(key, value) {
    memoryStore[key] = value;
    try {
      if (value === "") {
        window.localStorage.removeItem(key);
      } else {
        window.localStorage.setItem(key, value);
      }
    } catch (e) {
      /* memory only */
    }
  }

  // ---- styles (inside the shadow root only) ----

  // Sizes for elders and phones: text is 18px (22px with 大字) and never smaller; every control is
  // at least 44×44 px; every text colour has at least 4.5:1 contrast on its background (the
  // greys are #4a5560 and #5b6670, never lighter). Times and the 已发送 receipt are drawn from
  // attributes (.meta::before/::after), so a message's textContent is what was said.
  var CSS = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    ".root { font-family: system-ui, -apple-system, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif;",
    "  font-size: 18px; line-height: 1.5; color: #1f2933; -webkit-text-size-adjust: 100%; }",
    "button, textarea, input { font: inherit; color: inherit; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 80px; height: 80px;",
    "  border-radius: 50%; border: none; background: #1661ab; color: #fff; cursor: pointer; font-size: 18px;",
    "  font-weight: 600; line-height: 1.2; padding: 8px 21px; box-shadow: 0 4px 14px rgba(0,0,0,.28); }",
    ".launcher:hover { background: #0f4f8f; }",
    ".launcher:focus-visible { outline: 3px solid #f5a623; outline-offset: 3px; }",
    ".badge { position: absolute; top: 0; right: 0; min-width: 28px; height: 28px; border-radius: 14px;",
    "  background: #b3261e; color: #fff; font-size: 18px; line-height: 28px; padding: 0 6px; display: none; }",
    ".badge.on { display: block; }",
    ".panel { position: fixed; right: 20px; bottom: 112px; z-index: 2147483001; width: 400px;",
    "  height: min(680px, calc(100vh - 132px)); min-height: 320px; display: none; flex-direction: column;",
    "  background: #fff; border-radius: 14px; overflow: hidden; box-shadow: 0 10px 36px rgba(0,0,0,.3); }",
    ".panel.open { display: flex; }",
    ".panel.large { font-size: 22px; }",
    ".head { display: flex; align-items: center; gap: 8px; padding: 6px 8px 6px 14px; background: #1661ab; color: #fff; flex: none; }",
    ".title { flex: 1; font-weight: 600; font-size: 1.05em; min-width: 0; }",
    ".head button { background: #0f4f8f; border: 1px solid rgba(255,255,255,.6); color: #fff;",
    "  border-radius: 8px; padding: 0 10px; cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".head button[aria-pressed=true] { background: #fff; color: #0f4f8f; }",
    ".head button:focus-visible { outline: 3px solid #f5a623; }",
    ".status { flex: none; padding: 4px 12px; background: #fff8e1; color: #6b4e00; border-bottom: 1px solid #f0e2b6; }",
    ".status:empty { display: none; }",
    ".status.ok { background: #e8f5e9; color: #1a5e25; border-color: #c6e6c9; }",
    ".status.bad { background: #fdecea; color: #9b2419; border-color: #f4c7c3; }",
    ".messages { flex: 1; overflow-y: auto; padding: 12px; background: #f4f6f8; overscroll-behavior: contain; }",
    ".msg { display: flex; flex-direction: column; margin: 0 0 12px; max-width: 90%; }",
    ".msg .bubble { padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; word-break: break-word; overflow-wrap: anywhere; }",
    ".msg.resident { margin-left: auto; align-items: flex-end; }",
    ".msg.resident .bubble { background: #1661ab; color: #fff; border-bottom-right-radius: 4px; }",
    ".msg.bot .bubble, .msg.operator .bubble { background: #fff; border: 1px solid #dde3e9; border-bottom-left-radius: 4px; }",
    ".msg.operator .bubble { border-color: #9cc3e6; border-left: 3px solid #1e8e3e; }",
    ".msg .who { color: #1a5e25; margin: 0 0 2px 4px; font-weight: 600; }",
    ".msg .meta { color: #4a5560; margin: 2px 4px 0; white-space: nowrap; }",
    ".msg .meta:empty::before { content: attr(data-time); }",
    ".msg.resident.sent .meta::after { content: ' · 已发送'; }",
    ".msg.resident.sent .meta:not([data-time])::after, .msg.resident.sent .meta[data-time='']::after { content: '已发送'; }",
    ".feedback { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; margin: 6px 0 0 2px; color: #4a5560; }",
    ".feedback button { border: 1px solid #8d99a6; background: #fff; color: #1f2933; border-radius: 22px; padding: 0 14px;",
    "  cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".feedback button:hover { border-color: #1661ab; }",
    ".feedback button[aria-pressed=true] { background: #1661ab; border-color: #1661ab; color: #fff; }",
    ".feedback button:focus-visible, .survey button:focus-visible, .tools button:focus-visible, .call:focus-visible { outline: 3px solid #f5a623; outline-offset: 1px; }",
    ".feedback .fb-note { color: #4a5560; }",
    ".msg.survey-msg { max-width: 100%; align-items: stretch; }",
    ".survey { background: #fff; border: 1px solid #9cc3e6; border-left: 3px solid #1661ab; border-radius: 10px; padding: 10px 12px; }",
    ".survey .s-text { margin: 0 0 6px; white-space: pre-wrap; word-break: break-word; overflow-wrap: anywhere; }",
    ".survey .s-q { color: #4a5560; margin: 8px 0 3px; }",
    ".survey .s-choices { display: flex; flex-wrap: wrap; gap: 8px; }",
    ".survey .s-choices button { border: 1px solid #1661ab; background: #fff; color: #1661ab; border-radius: 22px;",
    "  padding: 0 14px; cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".survey .s-choices button[aria-pressed=true] { background: #1661ab; color: #fff; }",
    ".survey .s-choices button:disabled { cursor: default; border-color: #b8c2cc; background: #eef1f4; color: #4a5560; }",
    ".survey .s-choices button[aria-pressed=true]:disabled { background: #4a5560; border-color: #4a5560; color: #fff; }",
    ".survey textarea { width: 100%; resize: vertical; border: 1px solid #8d99a6; border-radius: 8px; padding: 6px 8px;",
    "  min-height: 3em; max-height: 10em; display: block; margin-top: 8px; background: #fff; }",
    ".survey textarea:focus { outline: 2px solid #1661ab; border-color: #1661ab; }",
    ".survey textarea:disabled { background: #f4f6f8; color: #4a5560; }",
    ".survey .s-bar { display: flex; align-items: center; gap: 8px; margin-top: 6px; }",
    ".survey .s-count { color: #4a5560; margin-right: auto; }",
    ".survey .s-count.over { color: #b3261e; font-weight: 600; }",
    ".survey .s-submit { border: none; background: #1661ab; color: #fff; border-radius: 8px; padding: 0 20px; cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".survey .s-submit:disabled { background: #e4e9ee; color: #4a5560; cursor: default; }",
    ".survey .s-result { margin-top: 6px; white-space: pre-wrap; }",
    ".survey .s-result:empty { display: none; }",
    ".survey .s-result.ok { color: #1a5e25; font-weight: 600; }",
    ".survey .s-result.bad { color: #9b2419; }",
    ".survey .s-link { display: inline-flex; align-items: center; min-height: 44px; margin-top: 4px; color: #0b57a4; text-decoration: underline; }",
    ".agent-bar { flex: none; padding: 4px 12px; background: #e8f5e9; color: #1a5e25; border-bottom: 1px solid #c6e6c9; }",
    ".agent-bar:empty { display: none; }",
    ".agent-bar.waiting { background: #fff8e1; color: #6b4e00; border-color: #f0e2b6; }",
    ".agent-bar.nobody { background: #fdecea; color: #9b2419; border-color: #f4c7c3; }",
    ".msg.system { max-width: 100%; align-items: center; margin-left: auto; margin-right: auto; }",
    ".msg.system .bubble { background: transparent; color: #4a5560; text-align: center; padding: 2px 8px; }",
    // A notice (news of the resident's ticket) is a message to read, not a line of the log: this
    // rule must beat .msg.system .bubble, so it is the more specific.
    ".msg.system.notice { align-items: stretch; }",
    ".msg.system.notice .bubble { background: #fffbea; border: 1px solid #e0c97a; color: #1f2933; text-align: left; padding: 8px 12px; }",
    ".msg.pending .bubble { opacity: .7; }",
    ".msg.emergency .bubble { border: 3px solid #b3261e; background: #fff5f4; }",
    ".msg.emergency::before { content: '紧急'; align-self: flex-start; background: #b3261e; color: #fff;",
    "  border-radius: 4px; padding: 0 8px; margin: 0 0 3px; font-weight: 600; }",
    ".bubble a { color: #0b57a4; text-decoration: underline; }",
    ".msg.resident .bubble a { color: #fff; }",
    ".calls { display: flex; flex-direction: column; gap: 8px; margin-top: 10px; white-space: normal; }",
    ".calls.first { margin: 0 0 10px; }",
    ".calls.inline { flex-direction: row; flex-wrap: wrap; justify-content: center; }",
    ".bubble a.call { display: flex; align-items: center; justify-content: center; gap: 8px; min-height: 48px; min-width: 44px; width: 100%;",
    "  padding: 4px 14px; border-radius: 10px; background: #b3261e; color: #fff; font-weight: 700; text-decoration: none; font-size: 1.05em; }",
    ".calls.inline a.call { width: auto; flex: 1 1 30%; font-size: 1em; }",
    ".bubble a.call:hover { background: #8f1d17; }",
    ".card { margin-top: 8px; padding: 8px 10px; border-radius: 8px; background: #f0f6fc; border: 1px solid #c9dcef; white-space: normal; }",
    ".card.ticket { background: #f3faf3; border-color: #c6e6c9; }",
    ".card .card-title { font-weight: 600; margin-bottom: 2px; }",
    ".card .row { display: block; }",
    ".card .label { color: #4a5560; }",
    ".card ul { margin: 4px 0 0; padding-left: 1.1em; }",
    ".card .num { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600; letter-spacing: .02em; }",
    ".more-toggle { display: inline-block; margin-top: 6px; border: 1px solid #1661ab; background: #fff; color: #1661ab;",
    "  border-radius: 22px; padding: 0 16px; cursor: pointer; min-height: 44px; min-width: 72px; }",
    ".more-toggle:hover { background: #e8f1fa; }",
    ".more-toggle:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }",
    ".more-toggle::after { content: ' ▾'; }",
    ".more-toggle[aria-expanded=true]::after { content: ' ▴'; }",
    ".more-body { margin-top: 6px; padding-top: 6px; border-top: 1px solid #dde3e9; }",
    ".more-body[hidden] { display: none; }",
    ".more-sec + .more-sec { margin-top: 8px; }",
    ".more-title { font-weight: 600; }",
    ".options { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 6px; }",
    ".options button { border: 1px solid #1661ab; background: #fff; color: #1661ab; border-radius: 22px;",
    "  padding: 0 16px; cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".options button:hover:not(:disabled) { background: #e8f1fa; }",
    ".options button:disabled { border-color: #b8c2cc; background: #eef1f4; color: #4a5560; cursor: default; }",
    ".options.grouped { display: block; }",
    ".options .group { margin-top: 8px; }",
    ".options .group[hidden], .options button[hidden], .group-none[hidden] { display: none; }",
    ".options .group-head { font-weight: 600; color: #33404d; margin-bottom: 4px; }",
    ".options .group-row { display: flex; flex-wrap: wrap; gap: 8px; }",
    ".options .option-find { box-sizing: border-box; width: 100%; min-height: 44px; padding: 0 12px; font: inherit;",
    "  border: 1px solid #6b7885; border-radius: 10px; color: #1f2933; background: #fff; }",
    ".options .option-find:focus-visible { outline: 3px solid #f5a623; outline-offset: 1px; }",
    ".options .group-none { margin-top: 6px; color: #4a5560; }",
    ".photo canvas { display: block; max-width: 200px; max-height: 200px; border-radius: 8px; background: #dde3e9; }",
    ".msg.photo-msg .bubble { padding: 4px; }",
    ".typing { flex: none; padding: 2px 14px; color: #4a5560; background: #f4f6f8; display: none; }",
    ".typing.on { display: block; }",
    ".composer { flex: none; border-top: 1px solid #dde3e9; padding: 8px 10px; background: #fff; }",
    ".tools { display: none; gap: 8px; margin-bottom: 8px; flex-wrap: wrap; }",
    ".tools.on { display: flex; }",
    ".tools button[hidden] { display: none; }",
    ".tools button { border: 1px solid #1661ab; background: #fff; color: #1661ab; border-radius: 22px; padding: 0 14px;",
    "  cursor: pointer; min-height: 44px; min-width: 44px; }",
    ".tools button:disabled { border-color: #b8c2cc; background: #eef1f4; color: #4a5560; cursor: default; }",
    ".tools input[type=file] { position: absolute; width: 1px; height: 1px; opacity: 0; pointer-events: none; }",
    ".composer textarea { width: 100%; resize: none; border: 1px solid #8d99a6; border-radius: 8px; padding: 8px 10px;",
    "  min-height: 2.8em; max-height: 8em; display: block; background: #fff; }",
    ".composer textarea::placeholder { color: #5b6670; opacity: 1; }",
    ".composer textarea:focus { outline: 2px solid #1661ab; border-color: #1661ab; }",
    ".bar { display: flex; align-items: center; gap: 8px; margin-top: 6px; }",
    ".hint { flex: 1; min-width: 0; color: #4a5560; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }",
    ".hint[hidden] { display: none; }",
    ".counter { color: #4a5560; margin-left: auto; }",
    ".counter.over { color: #b3261e; font-weight: 600; }",
    ".send { border: none; background: #1661ab; color: #fff; border-radius: 8px; padding: 0 22px; cursor: pointer; min-height: 48px; min-width: 64px; }",
    ".send:disabled { background: #e4e9ee; color: #4a5560; cursor: default; }",
    ".send:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }",
    // Touch screens have no Enter key to hint at.
    "@media (pointer: coarse) { .hint { display: none; } }",
    "@media (max-width: 480px) {",
    "  .panel { left: 0; right: 0; top: 0; bottom: 0; width: 100%; height: 100%; min-height: 0; border-radius: 0; }",
    "  .root.is-open .launcher { display: none; }",
    "  .msg { max-width: 94%; }",
    "  .hint { display: none; }",
    "}"
  ].join("\n");

  // ---- DOM helpers: text only ----

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  function str(v) {
    return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
  }

  // Phone numbers in bot text become tel: links (built from text nodes, never from HTML).
  var PHONE_RE = /(0\d{2,3}-\d{3}-\d{4}|0\d{2,3}-\d{7,8}|1[3-9]\d-?\d{4}-?\d{4}|(?:^|[^\d*-])(?:110|119|120|122|12345)(?![\d*-]))/g;

  function telHref(p) {
    return "tel:" + str(p).replace(/[^\d+]/g, "");
  }

  function appendLinkedText(parent, text) {
    var last = 0;
    var m;
    PHONE_RE.lastIndex = 0;
    while ((m = PHONE_RE.exec(text)) !== null) {
      var whole = m[0];
      var start = m.index;
      var num = whole.replace(/^[^\d]/, "");
      start += whole.length - num.length;
      if (start > last) {
        parent.appendChild(document.createTextNode(text.slice(last, start)));
      }
      var a = el("a", "", num);
      a.setAttribute("href", telHref(num));
      parent.appendChild(a);
      last = start + num.length;
    }
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  function telLink(phone) {
    var a = el("a", "", phone);
    a.setAttribute("href", telHref(phone));
    return a;
  }

  // Times are Beijing time (UTC+8, no summer time) in one format everywhere, the server's too:
  // "12月9日 14:30"; a message of today shows only "14:30".
  var BEIJING_MS = 8 * 3600 * 1000;
  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function beijing(d) {
    return new Date(d.getTime() + BEIJING_MS); // read with the getUTC… methods
  }
  function dayLabel(b) {
    return (b.getUTCMonth() + 1) + "月" + b.getUTCDate() + "日";
  }
  function clock(b) {
    return pad2(b.getUTCHours()) + ":" + pad2(b.getUTCMinutes());
  }
  function parseTime(v) {
    if (v instanceof Date) {
      return isNaN(v.getTime()) ? null : v;
    }
    if (!v) {
      return null;
    }
    var d = new Date(str(v));
    return isNaN(d.getTime()) ? null : d;
  }
  // formatTime: "12月9日 14:30" (with the year when it is not this year's).
  function formatTime(iso) {
    var d = parseTime(iso);
    if (!d) {
      return str(iso);
    }
    var b = beijing(d);
    var year = b.getUTCFullYear() !== beijing(new Date()).getUTCFullYear() ? b.getUTCFullYear() + "年" : "";
    return year + dayLabel(b) + " " + clock(b);
  }
  // messageTime: "14:30" today, else as formatTime.
  function messageTime(v) {
    var d = parseTime(v);
    if (!d) {
      return "";
    }
    var b = beijing(d);
    var now = beijing(new Date());
    if (b.getUTCFullYear() === now.getUTCFullYear() && b.getUTCMonth() === now.getUTCMonth() && b.getUTCDate() === now.getUTCDate()) {
      return clock(b);
    }
    return formatTime(d);
  }

  // The server's step lines ("12月9日 14:30 派单") and result line, which a ticket card shows.
  var STEP_LINE = /^(\d{4}年)?\d{1,2}月\d{1,2}日 \d{1,2}:\d{2} /;

  // withoutCardText drops from a reply's text what its ticket card shows: the steps and the
  // result (办理结果), so nothing is said twice.
  function withoutCardText(text, t) {
    var steps = Array.isArray(t.steps) ? t.steps : [];
    var reply = str(t.reply);
    var lines = text.split("\n");
    var out = [];
    for (var i = 0; i < lines.length; i++) {
      var l = lines[i];
      if (steps.length && STEP_LINE.test(l)) {
        continue;
      }
      if (reply && l.indexOf(reply) >= 0 && /^办理结果[:：]/.test(l.trim())) {
        continue;
      }
      out.push(l);
    }
    return out.join("\n").replace(/\n+$/, "");
  }

  // Emergency numbers in the first line of an emergency reply — "报警 110，火警 119" or "119（火警）、
  // 120（急救）" — become call buttons, each labelled by what it is for.
  var CALL_NUM_RE = /(110|119|120|122|12345|0\d{2,3}-\d{3}-\d{4}|0\d{2,3}-\d{7,8})(?![\d-])/g;
  var CALL_LABELS = { "110": "报警", "119": "火警", "120": "急救", "122": "交通事故", "12345": "政务热线" };

  function callButtons(pairs, inline) {
    var box = el("div", "calls" + (inline ? " inline" : ""));
    box.setAttribute("data-testid", "calls");
    for (var i = 0; i < pairs.length; i++) {
      var a = el("a", "call");
      a.setAttribute("href", telHref(pairs[i].number));
      a.setAttribute("data-testid", "call");
      a.setAttribute("data-number", pairs[i].number);
      a.textContent = "📞 " + (inline ? pairs[i].label + " " + pairs[i].number : "拨打 " + pairs[i].number + " " + pairs[i].label);
      box.appendChild(a);
    }
    return box;
  }

  function emergencyCalls(text) {
    var pairs = [];
    var seen = {};
    var first = text.split(/\n/)[0];
    var m;
    CALL_NUM_RE.lastIndex = 0;
    while ((m = CALL_NUM_RE.exec(first)) !== null) {
      var num = m[1];
      if (seen[num] || /\d$/.test(first.slice(0, m.index))) {
        continue;
      }
      seen[num] = true;
      var after = /^[（(]([\u4e00-\u9fa5]{2,6})[）)]/.exec(first.slice(m.index + num.length));
      var before = /([\u4e00-\u9fa5]{2,6})\s*$/.exec(first.slice(0, m.index));
      var label = after ? after[1] : CALL_LABELS[num] || (before ? before[1].replace(/^.*(拨打|打)/, "") : "");
      pairs.push({ label: label, number: num });
    }
    return pairs;
  }

  // ---- the widget ----

  var host = document.createElement("hotline-widget");
  host.id = HOST_ID;
  var shadow = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS;
  shadow.appendChild(style);

  var root = el("div", "root");
  shadow.appendChild(root);

  var launcher = el("button", "launcher", "在线咨询");
  launcher.type = "button";
  launcher.setAttribute("data-testid", "launcher");
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "hotline-panel");
  var badge = el("span", "badge");
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(badge);
  root.appendChild(launcher);

  var panel = el("div", "panel");
  panel.id = "hotline-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "在线咨询");
  panel.setAttribute("data-testid", "panel");
  root.appendChild(panel);

  var head = el("div", "head");
  var title = el("div", "title", "社区在线咨询");
  var largeBtn = el("button", "large-toggle", "大字");
  largeBtn.type = "button";
  largeBtn.setAttribute("data-testid", "large");
  largeBtn.setAttribute("title", "放大字体");
  var closeBtn = el("button", "close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "关闭");
  closeBtn.setAttribute("title", "关闭");
  closeBtn.setAttribute("data-testid", "close");
  head.appendChild(title);
  head.appendChild(largeBtn);
  head.appendChild(closeBtn);
  panel.appendChild(head);

  var status = el("div", "status");
  status.setAttribute("data-testid", "status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  panel.appendChild(status);

  var agentBar = el("div", "agent-bar");
  agentBar.setAttribute("data-testid", "agent-status");
  agentBar.setAttribute("aria-live", "polite");
  panel.appendChild(agentBar);

  var list = el("div", "messages");
  list.setAttribute("data-testid", "messages");
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");
  list.setAttribute("tabindex", "0");
  panel.appendChild(list);

  var typing = el("div", "typing", "正在回复…");
  typing.setAttribute("data-testid", "typing");
  panel.appendChild(typing);

  var composer = el("div", "composer");
  // In a report: a photo (shrunk here, sent over HTTP with the session) and the location.
  var tools = el("div", "tools");
  tools.setAttribute("data-testid", "report-tools");
  var photoBtn = el("button", "photo-btn", "📷 拍照/照片");
  photoBtn.type = "button";
  photoBtn.setAttribute("data-testid", "photo");
  var photoInput = el("input", "");
  photoInput.type = "file";
  photoInput.setAttribute("accept", "image/*");
  photoInput.setAttribute("data-testid", "photo-input");
  photoInput.setAttribute("tabindex", "-1");
  photoInput.setAttribute("aria-hidden", "true");
  var locBtn = el("button", "loc-btn", "📍 使用我的位置");
  locBtn.type = "button";
  locBtn.setAttribute("data-testid", "location");
  tools.appendChild(photoBtn);
  tools.appendChild(photoInput);
  tools.appendChild(locBtn);
  composer.appendChild(tools);
  var input = el("textarea", "");
  input.setAttribute("data-testid", "input");
  input.setAttribute("rows", "2");
  input.setAttribute("placeholder", "请输入您的问题，比如“低保怎么申请”“路灯坏了”");
  input.setAttribute("aria-label", "输入消息");
  var bar = el("div", "bar");
  var hint = el("span", "hint", "Enter 发送，Shift+Enter 换行");
  hint.setAttribute("data-testid", "hint");
  try {
    // A phone or tablet has no Enter key worth hinting at.
    if ((window.matchMedia && window.matchMedia("(pointer: coarse)").matches) || navigator.maxTouchPoints > 0) {
      hint.hidden = true;
    }
  } catch (e) {
    /* keep the hint */
  }
  var counter = el("span", "counter", "0/" + MAX_CHARS);
  counter.setAttribute("data-testid", "counter");
  counter.setAttribute("aria-live", "polite");
  var sendBtn = el("button", "send", "发送");
  sendBtn.type = "button";
  sendBtn.setAttribute("data-testid", "send");
  bar.appendChild(hint);
  bar.appendChild(counter);
  bar.appendChild(sendBtn);
  composer.appendChild(input);
  composer.appendChild(bar);
  panel.appendChild(composer);

  // ---- state ----

  var ws = null;
  var ready = false; // welcome received on ws
  var everWelcomed = false;
  var attempt = 0;
  var retryTimer = null;
  var pingTimer = null;
  var statusTimer = null;
  var isOpen = false;
  var started = false; // a connection has been asked for
  var pending = {}; // client message ids awaiting a reply
  var sentEls = {}; // client message id → its message, until the server has it
  var handoffState = ""; // "", waiting, live, offered (docs/operator.md)
  var agentTypingUntil = 0;
  var agentTypingTimer = null;
  var lastTypingSent = 0;
  var unacked = []; // ids of operator messages shown while the panel was closed
  var seq = 0;
  var unread = 0;
  var reportOpen = false; // the bot is collecting a report: photos and the location may go with it
  var myPlace = null; // {lat, lng} sent for the report, sent again after a reconnect
  var idPrefix = "m" + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36) + "-";

  function nextID() {
    seq += 1;
    return idPrefix + seq;
  }

  // ---- status line ----

  function setStatus(text, kind, fadeAfter) {
    clearTimeout(statusTimer);
    status.textContent = text || "";
    status.className = "status" + (kind ? " " + kind : "");
    if (fadeAfter) {
      statusTimer = setTimeout(function () {
        status.textContent = "";
        status.className = "status";
      }, fadeAfter);
    }
  }

  // ---- composer ----

  function charCount(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        i++; // a surrogate pair is one character
      }
      n++;
    }
    return n;
  }

  function updateComposer() {
    var n = charCount(input.value);
    counter.textContent = n + "/" + MAX_CHARS;
    var over = n > MAX_CHARS;
    counter.className = "counter" + (over ? " over" : "");
    if (over) {
      counter.setAttribute("title", "最多 " + MAX_CHARS + " 字");
    } else {
      counter.removeAttribute("title");
    }
    sendBtn.disabled = !ready || over || input.value.trim() === "";
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 400) + "px";
  }

  function setTyping() {
    var any = false;
    if (handoffState !== "live") { // a person answers a live chat, not the bot
      for (var k in pending) {
        if (Object.prototype.hasOwnProperty.call(pending, k)) {
          any = true;
          break;
        }
      }
    }
    var agentOn = agentTypingUntil > Date.now();
    typing.textContent = agentOn ? "工作人员正在输入…" : "正在回复…";
    typing.className = "typing" + (any || agentOn ? " on" : "");
  }

  // The resident is typing: the operator of a live chat sees it (at most one frame every 2 s).
  function typingNow() {
    var now = Date.now();
    if (ready && handoffState === "live" && input.value.trim() !== "" && now - lastTypingSent >= 2000) {
      if (sendFrame({ type: "typing" })) {
        lastTypingSent = now;
      }
    }
  }

  // setHandoff shows who answers: a person has joined, or one is being called.
  function setHandoff(state, agent) {
    handoffState = state === "ended" ? "" : state;
    agentBar.setAttribute("data-state", state);
    if (state === "live") {
      agentBar.textContent = agent ? "工作人员 " + agent + " 已接入" : "工作人员已接入";
      agentBar.className = "agent-bar";
    } else if (state === "waiting") {
      agentBar.textContent = "正在为您转接人工客服…";
      agentBar.className = "agent-bar waiting";
    } else {
      agentBar.textContent = "";
      agentBar.className = "agent-bar";
      agentTypingUntil = 0;
    }
    setTyping();
    updateTools();
  }

  // replyHandoff follows the handoff state through the bot's replies, for a server that says it
  // there rather than in a handoff frame: a handoff reply offering keep_bot means waiting, one
  // offering handoff_ticket a ticket instead; any other reply but an aside means the bot answers
  // again.
  function replyHandoff(r) {
    if (r.aside) {
      return; // the bot spoke while a person is involved (the numbers): the wait or the chat goes on
    }
    var ids = {};
    var opts = Array.isArray(r.options) ? r.options : [];
    for (var i = 0; i < opts.length; i++) {
      ids[str(opts[i] && opts[i].id)] = true;
    }
    if (r.decision === "handoff" && handoffState !== "live") {
      if (ids.handoff_ticket) {
        setHandoff("offered", "");
      } else if (ids.keep_bot) {
        setHandoff("waiting", "");
      }
    } else if (r.decision !== "handoff" && (handoffState === "waiting" || handoffState === "offered")) {
      setHandoff("", "");
    }
  }

  // ackShown tells the server which operator messages the resident has been shown.
  function ackShown() {
    if (!ready || !isOpen || document.visibilityState === "hidden") {
      return;
    }
    while (unacked.length) {
      if (!sendFrame({ type: "ack", id: unacked[0] })) {
        return;
      }
      unacked.shift();
    }
  }

  // ---- messages ----

  // The list follows new messages while the resident is at its end; one who scrolled up to read
  // stays where they are. A reply taller than the list is shown from its start.
  var atEnd = true;
  function scrollDown() {
    list.scrollTop = list.scrollHeight;
    atEnd = true;
  }
  function reveal(m, force) {
    if (!force && !atEnd) {
      return;
    }
    scrollDown();
    if (list.clientHeight === 0) {
      return; // closed: opening it shows the end
    }
    if (m && m.offsetHeight > list.clientHeight - 16) {
      list.scrollTop += m.getBoundingClientRect().top - list.getBoundingClientRect().top - 8;
      atEnd = false;
    }
  }
  // Only the resident's own scrolling leaves the end: a layout change (large text, a rotated
  // phone) also moves scrollTop, and must not.
  var lastTouch = 0;
  function touched() {
    lastTouch = Date.now();
  }
  var touchEvents = ["wheel", "touchstart", "touchmove", "pointerdown", "keydown"];
  for (var te = 0; te < touchEvents.length; te++) {
    list.addEventListener(touchEvents[te], touched, { passive: true });
  }
  list.addEventListener("scroll", function () {
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 24) {
      atEnd = true;
    } else if (Date.now() - lastTouch < 1500) {
      atEnd = false;
    }
  });
  if (typeof ResizeObserver === "function") {
    // Large text, a rotated phone, the keyboard: keep the end in view if it was.
    new ResizeObserver(function () {
      if (atEnd) {
        list.scrollTop = list.scrollHeight;
      }
    }).observe(list);
  }

  // optionsBox lays a reply's choices out: a row of buttons, or, for options with a group (the
  // towns of a community picker), each group under its heading, with a search box above when
  // there are many, matching a name or its town as the resident types.
  function optionsBox(opts, live) {
    var box = el("div", "options");
    var grouped = false;
    for (var i = 0; i < opts.length; i++) {
      if (opts[i] && opts[i].group) {
        grouped = true;
      }
    }
    if (!grouped) {
      for (var j = 0; j < opts.length; j++) {
        var b = optionButton(opts[j], live);
        if (b) {
          box.appendChild(b);
        }
      }
      return box;
    }
    box.className = "options grouped";
    var groups = [];
    var byName = {};
    for (var k = 0; k < opts.length; k++) {
      var o = opts[k] || {};
      var ob = optionButton(o, live);
      if (!ob) {
        continue;
      }
      var name = str(o.group);
      var g = byName[name];
      if (!g) {
        g = { el: el("div", "group"), row: el("div", "group-row"), buttons: [] };
        g.el.setAttribute("data-testid", "option-group");
        var head = el("div", "group-head", name || "其他");
        g.el.appendChild(head);
        g.el.appendChild(g.row);
        byName[name] = g;
        groups.push(g);
      }
      ob.setAttribute("data-search", (str(o.label) + " " + name).toLowerCase());
      g.row.appendChild(ob);
      g.buttons.push(ob);
    }
    if (opts.length > 6) {
      var find = el("input", "option-find");
      find.type = "search";
      find.setAttribute("data-testid", "option-find");
      find.setAttribute("placeholder", "输入社区或镇的名字查找");
      find.setAttribute("aria-label", "查找社区");
      find.setAttribute("enterkeyhint", "search");
      find.disabled = !live;
      var none = el("div", "group-none", "没有找到，可以直接输入小区或街道名称问我");
      none.hidden = true;
      find.addEventListener("input", function () {
        var q = find.value.trim().toLowerCase();
        var shown = 0;
        for (var gi = 0; gi < groups.length; gi++) {
          var any = false;
          for (var bi = 0; bi < groups[gi].buttons.length; bi++) {
            var btn = groups[gi].buttons[bi];
            var hit = !q || btn.getAttribute("data-search").indexOf(q) >= 0;
            btn.hidden = !hit;
            any = any || hit;
            shown += hit ? 1 : 0;
          }
          groups[gi].el.hidden = !any;
        }
        none.hidden = shown > 0;
      });
      box.appendChild(find);
      box.appendChild(none);
    }
    for (var gj = 0; gj < groups.length; gj++) {
      box.appendChild(groups[gj].el);
    }
    return box;
  }

  function optionButton(o, live) {
    o = o || {};
    if (!o.id) {
      return null;
    }
    var b = el("button", "", str(o.label) || str(o.id));
    b.type = "button";
    b.setAttribute("data-testid", "option");
    b.setAttribute("data-option-id", str(o.id));
    b.disabled = !live;
    b.addEventListener("click", onOption);
    return b;
  }

  function retireOptions() {
    var finds = list.querySelectorAll("[data-testid=option-find]");
    for (var f = 0; f < finds.length; f++) {
      finds[f].disabled = true;
    }
    var bs = list.querySelectorAll("[data-testid=option]");
    for (var i = 0; i < bs.length; i++) {
      bs[i].disabled = true;
    }
  }

  function contactCard(c) {
    var box = el("div", "card contact");
    box.setAttribute("data-testid", "contact");
    var name = str(c.community);
    if (c.town) {
      name = name ? name + "（" + str(c.town) + "）" : str(c.town);
    }
    if (name) {
      box.appendChild(el("div", "card-title", name));
    }
    function row(label, value, asTel) {
      if (!value) {
        return;
      }
      var r = el("span", "row");
      r.appendChild(el("span", "label", label + "："));
      r.appendChild(asTel ? telLink(str(value)) : document.createTextNode(str(value)));
      box.appendChild(r);
    }
    var grid = str(c.grid);
    if (c.tier && grid.indexOf(str(c.tier)) < 0) {
      grid += "（" + str(c.tier) + "）";
    }
    row("网格", grid);
    row("小区", c.compound);
    row("地址", c.address);
    row("电话", c.phone, true);
    row("办公时间", c.hours);
    var people = Array.isArray(c.people) ? c.people : [];
    if (people.length) {
      var ul = el("ul", "");
      for (var i = 0; i < people.length; i++) {
        var p = people[i] || {};
        var li = el("li", "");
        li.appendChild(document.createTextNode([str(p.role), str(p.name)].filter(Boolean).join(" ")));
        if (p.phone) {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(telLink(str(p.phone)));
        }
        if (p.hours) {
          li.appendChild(document.createTextNode("（" + str(p.hours) + "）"));
        }
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
    return box;
  }

  // isCardText: the reply's text is only the plain-text form of its contact card (its first line
  // is the card's "town community" heading).
  function isCardText(text, c) {
    var first = text.split("\n")[0].trim();
    var head = (str(c.town) + " " + str(c.community)).trim();
    return head !== "" && (first === head || first.indexOf(head + "（") === 0);
  }

  // ticketCard: the ticket's number, status, deadline, steps and result, less what the message's
  // own text (said) already tells.
  function ticketCard(t, said) {
    said = str(said);
    var box = el("div", "card ticket");
    box.setAttribute("data-testid", "ticket");
    var h = el("div", "card-title", "工单 ");
    h.appendChild(el("span", "num", str(t.number)));
    box.appendChild(h);
    var st = str(t.status_label) || str(t.status);
    if (st && said.indexOf("状态：" + st) < 0) {
      var r1 = el("span", "row");
      r1.appendChild(el("span", "label", "状态："));
      r1.appendChild(document.createTextNode(st));
      box.appendChild(r1);
    }
    if (t.due_by && said.indexOf(formatTime(t.due_by)) < 0) {
      var r2 = el("span", "row");
      r2.appendChild(el("span", "label", "办结期限："));
      r2.appendChild(document.createTextNode(formatTime(t.due_by)));
      box.appendChild(r2);
    }
    var steps = Array.isArray(t.steps) ? t.steps : [];
    if (steps.length) {
      var ul = el("ul", "");
      for (var i = 0; i < steps.length; i++) {
        var s = steps[i] || {};
        ul.appendChild(el("li", "", formatTime(s.at) + " " + (str(s.label) || str(s.status))));
      }
      box.appendChild(ul);
    }
    if (t.reply && said.indexOf(str(t.reply)) < 0) {
      var r3 = el("span", "row");
      r3.appendChild(el("span", "label", "办理结果："));
      r3.appendChild(document.createTextNode(str(t.reply)));
      box.appendChild(r3);
    }
    return box;
  }

  function entryCard(e) {
    var box = el("div", "card entry");
    box.setAttribute("data-testid", "entry");
    box.appendChild(el("div", "card-title", "办事指南：" + str(e.title || e.id)));
    return box;
  }

  // moreBox: the sections of a guide answer (reply.more, docs/protocol.md) folded under the short
  // text — a 更多 button that unfolds them in the same bubble, 收起 that folds them again. The
  // button is a real <button> with aria-expanded and aria-controls; the sections follow it, so
  // what unfolds starts where the resident tapped and nothing above it moves.
  var moreSeq = 0;
  function moreBox(sections) {
    var box = el("div", "more");
    var body = el("div", "more-body");
    body.id = "hotline-more-" + ++moreSeq;
    body.setAttribute("data-testid", "more-body");
    body.hidden = true;
    for (var i = 0; i < sections.length; i++) {
      var sec = sections[i] || {};
      var title = str(sec.title);
      var text = str(sec.text);
      if (!title && !text) {
        continue;
      }
      var part = el("div", "more-sec");
      part.setAttribute("data-testid", "more-section");
      part.setAttribute("data-title", title);
      if (title) {
        var h = el("div", "more-title", title);
        h.setAttribute("role", "heading");
        h.setAttribute("aria-level", "3");
        part.appendChild(h);
      }
      var t = el("div", "more-text");
      appendLinkedText(t, text);
      part.appendChild(t);
      body.appendChild(part);
    }
    if (!body.firstChild) {
      return null;
    }
    var btn = el("button", "more-toggle", "更多");
    btn.type = "button";
    btn.setAttribute("data-testid", "more");
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-controls", body.id);
    btn.addEventListener("click", function () {
      var open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      btn.textContent = open ? "收起" : "更多";
      body.hidden = !open;
      if (open) {
        // Near the bottom of the list, the unfolded sections would start out of sight: bring the
        // button up so they show.
        var lr = list.getBoundingClientRect();
        var br = btn.getBoundingClientRect();
        if (br.bottom > lr.bottom - 96) {
          list.scrollTop += br.top - lr.top - 48;
        }
      }
    });
    box.appendChild(btn);
    box.appendChild(body);
    return box;
  }

  // addMessage renders one turn. from: resident, bot, operator or system; reply: the bot's reply
  // object (options, contact, ticket, entry, decision) or null; live: whether its options can be
  // tapped; quiet: leave the scrolling to the caller; agent: the operator's number.
  function addMessage(from, text, reply, live, quiet, agent, at) {
    if (from !== "resident" && from !== "bot" && from !== "operator" && from !== "system") {
      from = "system";
    }
    if (from !== "system" && !(reply && reply.keepOptions)) {
      retireOptions(); // a new turn makes the earlier choices stale (a photo does not)
    }
    var m = el("div", "msg " + from);
    m.setAttribute("data-testid", "msg");
    m.setAttribute("data-from", from);
    if (from === "operator") {
      m.appendChild(el("span", "who", agent ? "工作人员 " + agent : "工作人员"));
    }
    var bubble = el("div", "bubble");
    var t = str(text);
    if (reply && reply.contact && typeof reply.contact === "object" && isCardText(t, reply.contact)) {
      t = "联系方式如下："; // the text is the card's plain-text form: show the card instead
    }
    if (reply && reply.ticket && typeof reply.ticket === "object") {
      t = withoutCardText(t, reply.ticket);
    }
    if (from !== "resident") {
      appendLinkedText(bubble, t);
    } else {
      bubble.appendChild(document.createTextNode(t));
    }
    m.appendChild(bubble);
    if (from !== "system" || at) {
      // The time, drawn from the attribute (CSS), so that the message's text is only what was said.
      var meta = el("span", "meta");
      meta.setAttribute("data-testid", "time");
      meta.setAttribute("data-time", messageTime(at || new Date()));
      m.appendChild(meta);
    }
    if (reply && typeof reply === "object") {
      if (reply.decision) {
        m.setAttribute("data-decision", str(reply.decision));
      }
      if (reply.decision === "emergency") {
        m.className += " emergency";
      }
      var calls = reply.decision === "emergency" || /请立即拨打/.test(t.split("\n")[0]) ? emergencyCalls(t) : [];
      if (calls.length) {
        // First in the bubble: whoever is in danger taps before reading on.
        var cb = callButtons(calls, false);
        cb.className += " first";
        bubble.insertBefore(cb, bubble.firstChild);
      }
      if (Array.isArray(reply.more) && reply.more.length) {
        var more = moreBox(reply.more);
        if (more) {
          bubble.appendChild(more);
        }
      }
      if (reply.contact && typeof reply.contact === "object") {
        bubble.appendChild(contactCard(reply.contact));
      }
      if (reply.ticket && typeof reply.ticket === "object") {
        bubble.appendChild(ticketCard(reply.ticket, t));
      }
      if (reply.entry && typeof reply.entry === "object" && (reply.entry.title || reply.entry.id)) {
        bubble.appendChild(entryCard(reply.entry));
      }
      var opts = Array.isArray(reply.options) ? reply.options : [];
      if (opts.length) {
        m.appendChild(optionsBox(opts, live));
      }
      var replyTo = str(reply.reply_to);
      if (from === "bot" && replyTo) {
        m.setAttribute("data-reply-to", replyTo);
        if (reply.decision === "answer") {
          m.appendChild(feedbackRow(replyTo));
        }
      }
    }
    if (meta) {
      m.appendChild(meta); // last, under the options
    }
    list.appendChild(m);
    if (!quiet) {
      reveal(m, from === "resident");
    }
    if (from !== "resident") {
      countUnread();
    }
    if (reply && typeof reply === "object" && from === "bot") {
      setReportOpen(reply);
    }
    return m;
  }

  function countUnread() {
    cueNew();
    if (!isOpen) {
      unread += 1;
      badge.textContent = unread > 9 ? "9+" : String(unread);
      badge.className = "badge on";
    }
  }

  // ---- 这个回答有帮助吗 (docs/rates.md): one vote per answer, a second tap on the other changes it ----

  var votes = {}; // an answer's reply_to → true (helpful) or false, as voted from this page
  var voteRows = {}; // an answer's reply_to → its row's controls, to show a refused vote

  function feedbackRow(replyTo) {
    var row = el("div", "feedback");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", "这个回答有帮助吗？");
    row.appendChild(el("span", "fb-q", "这个回答有帮助吗？"));
    var yes = el("button", "", "👍 有帮助");
    yes.type = "button";
    yes.setAttribute("data-testid", "feedback-yes");
    var no = el("button", "", "👎 没帮助");
    no.type = "button";
    no.setAttribute("data-testid", "feedback-no");
    var note = el("span", "fb-note");
    note.setAttribute("aria-live", "polite");
    row.appendChild(yes);
    row.appendChild(no);
    row.appendChild(note);
    var ctl = {
      show: function () {
        var v = votes[replyTo];
        yes.setAttribute("aria-pressed", v === true ? "true" : "false");
        no.setAttribute("aria-pressed", v === false ? "true" : "false");
        row.setAttribute("data-vote", v === true ? "yes" : v === false ? "no" : "");
      },
      note: note,
      row: row
    };
    function vote(helpful) {
      if (votes[replyTo] === helpful) {
        return; // the same vote again: nothing changes
      }
      if (!ready || !sendFrame({ type: "feedback", reply_to: replyTo, helpful: helpful })) {
        note.textContent = "未连接，请稍后再试";
        return;
      }
      votes[replyTo] = helpful;
      row.removeAttribute("data-error");
      note.textContent = helpful ? "谢谢！" : "谢谢，我们会改进这个回答。";
      ctl.show();
    }
    yes.addEventListener("click", function () {
      vote(true);
    });
    no.addEventListener("click", function () {
      vote(false);
    });
    ctl.show();
    voteRows[replyTo] = ctl; // a re-rendered history replaces the row
    return row;
  }

  // voteRefused shows, in the answer's own row, that the server could not take the vote.
  function voteRefused(replyTo, msg) {
    var ctl = voteRows[replyTo];
    delete votes[replyTo];
    ctl.show();
    ctl.row.setAttribute("data-error", str(msg.code));
    ctl.note.textContent = str(msg.message) || "这条回答不能评价了";
  }

  // ---- the survey (docs/rates.md): one card per ticket number for the page's life ----

  var surveys = {}; // ticket number → its card's state
  var rating = {}; // client id of a rate frame awaiting its answer → the card's state
  var MAX_COMMENT = 500;
  var DEFAULT_RATINGS = [
    { id: "satisfied", label: "满意" },
    { id: "basically_satisfied", label: "基本满意" },
    { id: "dissatisfied", label: "不满意" }
  ];
  // Refusals after which the card cannot be sent again (the others may be corrected or retried).
  var SURVEY_FINAL = { already_rated: true, too_late: true, not_resolved: true, not_found: true };

  // serverLink resolves the rating page's link against the widget's own server (never the page
  // that embeds it); only http(s) links are shown.
  function serverLink(link, number) {
    var path = str(link) || "/rate?n=" + encodeURIComponent(number);
    try {
      var u = new URL(path, origin.protocol + "//" + origin.host + "/");
      if (u.protocol === "http:" || u.protocol === "https:") {
        return u.href;
      }
    } catch (e) {
      /* no link */
    }
    return "";
  }

  function onSurvey(msg) {
    var number = str(msg.number);
    if (!number) {
      return;
    }
    var have = surveys[number];
    if (have && have.done) {
      // Rated, and asked again: the ticket was redone (重办) and resolved anew, and its new
      // resolution is rated afresh, in the same card.
      resetSurvey(have, msg);
      list.appendChild(have.m);
      reveal(have.m, false);
      countUnread();
      return;
    }
    if (have) {
      // Asked again (a reconnect's welcome redrew the conversation): the same card, as it was.
      if (!list.contains(have.m)) {
        list.appendChild(have.m);
        reveal(have.m, false);
      }
      return;
    }
    var s = { number: number, rating: "", solved: null, busy: false, done: false };
    surveys[number] = s;
    var m = el("div", "msg survey-msg");
    m.setAttribute("data-testid", "msg");
    m.setAttribute("data-from", "system");
    m.setAttribute("data-survey", number);
    s.m = m;
    var card = el("div", "survey");
    card.setAttribute("data-testid", "survey-card");
    card.setAttribute("data-number", number);
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", "工单 " + number + " 的评价");
    s.card = card;
    m.appendChild(card);
    s.text = el("p", "s-text", str(msg.text) || "工单 " + number + " 已办结，请您评价。");
    card.appendChild(s.text);

    var ratings = Array.isArray(msg.ratings) && msg.ratings.length ? msg.ratings : DEFAULT_RATINGS;
    var rbox = el("div", "s-choices");
    rbox.setAttribute("role", "group");
    rbox.setAttribute("aria-label", "对办理结果满意吗？");
    s.ratingButtons = [];
    for (var i = 0; i < ratings.length; i++) {
      var r = ratings[i] || {};
      var rid = str(r.id);
      if (!rid) {
        continue;
      }
      var b = el("button", "", str(r.label) || rid);
      b.type = "button";
      b.setAttribute("data-testid", "survey-rating-" + rid);
      b.setAttribute("data-rating", rid);
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", pickRating(s, rid));
      rbox.appendChild(b);
      s.ratingButtons.push(b);
    }
    card.appendChild(rbox);

    card.appendChild(el("div", "s-q", "问题解决了吗？"));
    var sbox = el("div", "s-choices");
    sbox.setAttribute("role", "group");
    sbox.setAttribute("aria-label", "问题解决了吗？");
    s.yes = el("button", "", "是");
    s.yes.type = "button";
    s.yes.setAttribute("data-testid", "survey-solved-yes");
    s.no = el("button", "", "否");
    s.no.type = "button";
    s.no.setAttribute("data-testid", "survey-solved-no");
    s.yes.addEventListener("click", function () {
      s.solved = true;
      surveyUpdate(s);
    });
    s.no.addEventListener("click", function () {
      s.solved = false;
      surveyUpdate(s);
    });
    sbox.appendChild(s.yes);
    sbox.appendChild(s.no);
    card.appendChild(sbox);

    s.comment = el("textarea", "");
    s.comment.setAttribute("data-testid", "survey-comment");
    s.comment.setAttribute("rows", "2");
    s.comment.setAttribute("placeholder", "还想说点什么？（选填，最多 " + MAX_COMMENT + " 字）");
    s.comment.setAttribute("aria-label", "评价意见（选填）");
    s.comment.addEventListener("input", function () {
      surveyUpdate(s);
    });
    s.comment.addEventListener("keydown", function (ev) {
      ev.stopPropagation(); // Escape and Enter here are the comment's, not the panel's
      if (ev.key === "Escape") {
        s.comment.blur();
      }
    });
    card.appendChild(s.comment);

    var bar = el("div", "s-bar");
    s.count = el("span", "s-count", "0/" + MAX_COMMENT);
    s.count.setAttribute("aria-live", "polite");
    s.submit = el("button", "s-submit", "提交");
    s.submit.type = "button";
    s.submit.setAttribute("data-testid", "survey-submit");
    s.submit.addEventListener("click", function () {
      submitSurvey(s);
    });
    bar.appendChild(s.count);
    bar.appendChild(s.submit);
    card.appendChild(bar);

    s.result = el("div", "s-result");
    s.result.setAttribute("data-testid", "survey-result");
    s.result.setAttribute("role", "status");
    s.result.setAttribute("aria-live", "polite");
    card.appendChild(s.result);

    var href = serverLink(msg.link, number);
    if (href) {
      s.link = el("a", "s-link", "也可以在评价页面评价");
      s.link.setAttribute("data-testid", "survey-link");
      s.link.setAttribute("href", href);
      s.link.setAttribute("target", "_blank");
      s.link.setAttribute("rel", "noopener");
      card.appendChild(s.link);
    }

    surveyUpdate(s);
    list.appendChild(m);
    reveal(m, false);
    countUnread();
  }

  function resetSurvey(s, msg) {
    s.rating = "";
    s.solved = null;
    s.done = false;
    s.busy = false;
    s.comment.value = "";
    s.text.textContent = str(msg.text) || "工单 " + s.number + " 已办结，请您评价。";
    s.card.removeAttribute("data-reopened");
    s.card.removeAttribute("data-state");
    surveyResult(s, "", "");
    surveyUpdate(s);
  }

  function pickRating(s, id) {
    return function () {
      s.rating = id;
      surveyUpdate(s);
    };
  }

  // surveyUpdate shows the card's choices and what may be pressed.
  function surveyUpdate(s) {
    var locked = s.busy || s.done;
    for (var i = 0; i < s.ratingButtons.length; i++) {
      var b = s.ratingButtons[i];
      b.setAttribute("aria-pressed", b.getAttribute("data-rating") === s.rating ? "true" : "false");
      b.disabled = locked;
    }
    s.yes.setAttribute("aria-pressed", s.solved === true ? "true" : "false");
    s.no.setAttribute("aria-pressed", s.solved === false ? "true" : "false");
    s.yes.disabled = locked;
    s.no.disabled = locked;
    s.comment.disabled = locked;
    var n = charCount(s.comment.value.trim());
    s.count.textContent = n + "/" + MAX_COMMENT;
    s.count.className = "s-count" + (n > MAX_COMMENT ? " over" : "");
    s.submit.disabled = locked || !ready || !s.rating || s.solved === null || n > MAX_COMMENT;
    if (!s.card.getAttribute("data-state") || !s.done) {
      s.card.setAttribute("data-state", s.busy ? "sending" : "open");
    }
  }

  function surveyResult(s, text, kind) {
    s.result.textContent = text;
    s.result.className = "s-result" + (kind ? " " + kind : "");
  }

  function submitSurvey(s) {
    surveyUpdate(s);
    if (s.submit.disabled) {
      return;
    }
    var id = nextID();
    var frame = { type: "rate", id: id, number: s.number, rating: s.rating, solved: s.solved, comment: s.comment.value.trim() };
    if (!sendFrame(frame)) {
      surveyResult(s, "连接中断，请稍后再提交", "bad");
      return;
    }
    s.busy = true;
    rating[id] = s;
    surveyResult(s, "正在提交…", "");
    surveyUpdate(s);
  }

  // onRated: the rating is taken (and the ticket reopened if it said so).
  function onRated(msg) {
    var id = str(msg.reply_to);
    var s = rating[id] || surveys[str(msg.number)];
    delete rating[id];
    if (!s) {
      return;
    }
    s.busy = false;
    s.done = true;
    surveyResult(s, str(msg.text) || "感谢您的评价！", "ok");
    surveyUpdate(s);
    s.card.setAttribute("data-state", "rated");
    if (msg.reopened) {
      s.card.setAttribute("data-reopened", "1");
    }
  }

  // surveyRefused shows why a rating was refused in its card.
  function surveyRefused(id, msg) {
    var s = rating[id];
    delete rating[id];
    var code = str(msg.code);
    s.busy = false;
    s.done = !!SURVEY_FINAL[code];
    surveyResult(s, str(msg.message) || errorText[code] || "评价没有提交成功，请稍后再试。", "bad");
    surveyUpdate(s);
    s.card.setAttribute("data-state", code || "error");
  }

  // surveysOffline: the connection dropped with ratings unanswered; they may be sent again.
  function surveysOffline() {
    for (var id in rating) {
      if (Object.prototype.hasOwnProperty.call(rating, id)) {
        var s = rating[id];
        s.busy = false;
        surveyResult(s, "连接中断，请重新提交", "bad");
        surveyUpdate(s);
      }
    }
    rating = {};
    for (var n in surveys) {
      if (Object.prototype.hasOwnProperty.call(surveys, n)) {
        surveyUpdate(surveys[n]);
      }
    }
  }

  function surveysOnline() {
    for (var n in surveys) {
      if (Object.prototype.hasOwnProperty.call(surveys, n)) {
        surveyUpdate(surveys[n]);
      }
    }
  }

  function greet() {
    var m = addMessage("system", "您好！这里是社区在线咨询。可以问办事手续、反映小区里的问题（比如路灯坏了、漏水）、查工单进度，或找网格员。\n遇到火情、煤气泄漏、有人受伤等紧急情况，请直接拨打：", null, false);
    m.setAttribute("data-greeting", "1");
    m.querySelector(".bubble").appendChild(callButtons([
      { label: "火警", number: "119" }, { label: "急救", number: "120" }, { label: "报警", number: "110" }
    ], true));
  }

  var rendering = false;
  function renderHistory(history) {
    rendering = true;
    try {
      renderTurns(history);
    } finally {
      rendering = false;
    }
  }
  function renderTurns(history) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    var items = Array.isArray(history) ? history : [];
    if (!items.length) {
      greet();
    }
    for (var i = 0; i < items.length; i++) {
      var h = items[i] || {};
      var text = str(h.text);
      if (!text && h.reply && typeof h.reply === "object") {
        text = str(h.reply.text);
      }
      addMessage(str(h.from), text, h.reply || null, i === items.length - 1, true, str(h.agent), h.at || null);
    }
    reveal(list.lastChild, true);
    unread = 0;
    badge.className = "badge";
  }

  // ---- a report's photo and location ----

  // setReportOpen follows the bot's replies: a report (or an emergency) being collected shows the
  // photo and location buttons; its ticket, or any other reply, hides them.
  function setReportOpen(r) {
    var d = str(r.decision);
    reportOpen = (d === "report" || d === "emergency") && !r.ticket;
    if (!reportOpen) {
      myPlace = null; // the ticket took it, or the report is over
    }
    updateTools();
  }

  // updateTools shows the photo and location buttons during a report, and the photo button alone
  // while a person holds the chat (the operator sees the photo at once).
  function updateTools() {
    var live = handoffState === "live";
    tools.className = "tools" + (reportOpen || live ? " on" : "");
    locBtn.hidden = !reportOpen;
  }

  // sayLocal shows a line of the widget's own (not stored).
  function sayLocal(text, kind) {
    var m = addMessage("system", text, null, false, false, "", new Date());
    if (kind) {
      m.setAttribute("data-local", kind);
    }
    return m;
  }

  var MAX_SIDE = 1600;
  var MAX_PHOTO = 2 * 1024 * 1024;

  // shrink draws the image on a canvas, its longest side at most MAX_SIDE, and calls done(canvas).
  function shrink(file, done, fail) {
    var reader = new FileReader();
    reader.onerror = function () {
      fail("照片读取失败，请换一张再试");
    };
    reader.onload = function () {
      var img = new Image();
      img.onerror = function () {
        fail("这不是能打开的照片，请选择 JPG、PNG 或 WebP 照片");
      };
      img.onload = function () {
        var w = img.naturalWidth || img.width;
        var h = img.naturalHeight || img.height;
        if (!w || !h) {
          fail("这不是能打开的照片");
          return;
        }
        var k = Math.min(1, MAX_SIDE / Math.max(w, h));
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(w * k));
        c.height = Math.max(1, Math.round(h * k));
        var g = c.getContext("2d");
        g.fillStyle = "#fff"; // a transparent PNG becomes a JPEG on white
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(img, 0, 0, c.width, c.height);
        done(c);
      };
      img.src = String(reader.result);
    };
    reader.readAsDataURL(file);
  }

  function toJPEG(canvas, quality, done) {
    if (canvas.toBlob) {
      canvas.toBlob(function (b) {
        done(b);
      }, "image/jpeg", quality);
      return;
    }
    done(null);
  }

  // serverMessage is the Chinese half of the server's "中文 (English)" error.
  function serverMessage(body, fallback) {
    var m = body && typeof body.error === "string" ? body.error : "";
    var i = m.lastIndexOf(" (");
    return (i > 0 ? m.slice(0, i) : m) || fallback;
  }

  function sendPhoto(file) {
    if (!file) {
      return;
    }
    var session = load(SESSION_KEY);
    if (!session) {
      sayLocal("还没有连接上，请稍后再发照片", "photo-error");
      return;
    }
    photoBtn.disabled = true;
    var m = addMessage("resident", "", { keepOptions: true }, false);
    m.className += " photo-msg";
    m.setAttribute("data-photo", "sending");
    var bubble = m.querySelector(".bubble");
    bubble.className += " photo";
    bubble.setAttribute("aria-label", "照片");
    function failed(text) {
      photoBtn.disabled = false;
      m.setAttribute("data-photo", "failed");
      sayLocal(text, "photo-error");
    }
    shrink(file, function (canvas) {
      // The picture in the chat: a small copy on a canvas (no image URL a page's policy could block).
      var k = Math.min(1, 200 / Math.max(canvas.width, canvas.height));
      var thumb = document.createElement("canvas");
      thumb.width = Math.max(1, Math.round(canvas.width * k));
      thumb.height = Math.max(1, Math.round(canvas.height * k));
      thumb.getContext("2d").drawImage(canvas, 0, 0, thumb.width, thumb.height);
      bubble.appendChild(thumb);
      reveal(m, true);
      var tries = [0.8, 0.65, 0.5];
      (function attempt(i) {
        toJPEG(canvas, tries[i], function (blob) {
          if (!blob) {
            failed("这个浏览器不能发送照片");
            return;
          }
          if (blob.size > MAX_PHOTO && i + 1 < tries.length) {
            attempt(i + 1);
            return;
          }
          upload(blob);
        });
      })(0);
    }, failed);
    function upload(blob) {
      var x = new XMLHttpRequest();
      x.open("POST", origin.protocol + "//" + origin.host + "/api/v1/chat/attachments");
      x.setRequestHeader("X-Hotline-Session", session);
      x.setRequestHeader("Content-Type", "image/jpeg");
      x.onload = function () {
        var body = null;
        try {
          body = JSON.parse(x.responseText);
        } catch (e) {
          body = null;
        }
        if (x.status === 201 && body && body.id) {
          photoBtn.disabled = false;
          m.setAttribute("data-photo", "sent");
          m.setAttribute("data-photo-id", str(body.id));
          m.className += " sent";
          m.setAttribute("data-sent", "1");
          sayLocal(handoffState === "live" && !reportOpen ? "照片已发给工作人员。" : "照片已收到，会和工单一起交给工作人员。", "photo-ok");
          return;
        }
        failed("照片没有发送成功：" + serverMessage(body, "请稍后再试"));
      };
      x.onerror = function () {
        failed("照片没有发送成功：网络中断，请稍后再试");
      };
      x.send(blob);
    }
  }

  photoBtn.addEventListener("click", function () {
    photoInput.value = "";
    photoInput.click();
  });
  photoInput.addEventListener("change", function () {
    var f = photoInput.files && photoInput.files[0];
    sendPhoto(f);
  });

  var locID = "";
  function sendPlace() {
    if (!myPlace || !ready) {
      return false;
    }
    locID = nextID();
    return sendFrame({ type: "location", id: locID, lat: myPlace.lat, lng: myPlace.lng });
  }

  locBtn.addEventListener("click", function () {
    if (!navigator.geolocation) {
      sayLocal("这个浏览器不能获取位置，请直接输入地址（小区、楼号、单元）。", "location-error");
      return;
    }
    locBtn.disabled = true;
    locBtn.textContent = "📍 正在获取位置…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      locBtn.disabled = false;
      locBtn.textContent = "📍 使用我的位置";
      var c = pos && pos.coords;
      if (!c || typeof c.latitude !== "number" || typeof c.longitude !== "number") {
        sayLocal("没有获取到位置，请直接输入地址。", "location-error");
        return;
      }
      myPlace = { lat: Math.round(c.latitude * 1e6) / 1e6, lng: Math.round(c.longitude * 1e6) / 1e6 };
      if (!sendPlace()) {
        sayLocal("连接中断，位置会在重新连接后发送。", "location-error");
      }
    }, function (err) {
      locBtn.disabled = false;
      locBtn.textContent = "📍 使用我的位置";
      var why = err && err.code === 1 ? "您没有允许使用位置" : err && err.code === 3 ? "获取位置超时" : "获取位置失败";
      sayLocal(why + "。请直接输入地址（小区、楼号、单元）。", "location-error");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // ---- new replies while the tab is hidden: "(1) 新消息" in the title, and a short beep ----

  var hiddenNew = 0;
  var pageTitle = null;
  var audio = null;
  var SOUND_KEY = "hotline.sound"; // "off" silences the beep

  function armSound() {
    // Browsers let a page make sound only after a tap; the first tap in the widget arms it.
    if (audio || load(SOUND_KEY) === "off") {
      return;
    }
    try {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (AC) {
        audio = new AC();
      }
    } catch (e) {
      audio = null;
    }
  }

  function beep() {
    if (!audio || load(SOUND_KEY) === "off") {
      return;
    }
    try {
      if (audio.state === "suspended" && audio.resume) {
        audio.resume();
      }
      var o = audio.createOscillator();
      var g = audio.createGain();
      o.type = "sine";
      o.frequency.value = 880;
      var t0 = audio.currentTime;
      g.gain.setValueAtTime(0.0001, t0);
      g.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.25);
      o.connect(g);
      g.connect(audio.destination);
      o.start(t0);
      o.stop(t0 + 0.3);
    } catch (e) {
      /* no sound */
    }
  }

  function pageHidden() {
    return document.visibilityState === "hidden" || document.hidden === true;
  }

  // cueNew marks a new reply while the page is hidden.
  function cueNew() {
    if (rendering || !pageHidden()) {
      return;
    }
    if (pageTitle === null) {
      pageTitle = document.title;
    }
    hiddenNew += 1;
    document.title = "(" + hiddenNew + ") 新消息 - " + pageTitle;
    host.setAttribute("data-unseen", String(hiddenNew));
    beep();
  }

  function clearCue() {
    if (pageTitle !== null) {
      document.title = pageTitle;
      pageTitle = null;
    }
    hiddenNew = 0;
    host.removeAttribute("data-unseen");
  }

  // ---- the queue for a person ----

  // onQueue shows where the resident is in the operators' queue, or that nobody is on duty. The
  // server may say it in a "queue" frame ({"position": N, "online": M, "text", "options"}) or in the
  // fields of a waiting "handoff" frame; without either the widget shows only that it is waiting.
  function onQueue(msg) {
    var pos = typeof msg.position === "number" ? msg.position : null;
    var online = typeof msg.online === "number" ? msg.online : null;
    if (online === 0) {
      agentBar.textContent = "现在没有工作人员在线";
      agentBar.className = "agent-bar nobody";
      agentBar.setAttribute("data-state", "nobody");
      var opts = Array.isArray(msg.options) ? msg.options : [];
      var text = str(msg.text) || (opts.length ? "现在没有工作人员在线。可以把问题登记成工单，工作人员上班后尽快联系您；也可以继续问我。" : "");
      if (text || opts.length) {
        retireOptions();
        var nm = addMessage("system", text, opts.length ? { options: opts } : null, true, false, "", new Date());
        nm.setAttribute("data-queue", "nobody");
      }
      return;
    }
    if (pos !== null && handoffState === "waiting") {
      agentBar.textContent = pos > 0 ? "正在为您转接人工客服，您前面还有 " + pos + " 位" : "正在为您转接人工客服，马上就到您了";
      agentBar.setAttribute("data-position", String(pos));
    }
  }

  // ---- the connection ----

  function sendFrame(obj) {
    if (!ws || ws.readyState !== 1) {
      return false;
    }
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) {
      return;
    }
    started = true;
    if (everWelcomed) {
      setStatus("连接中断，正在重新连接…", "bad");
    } else {
      setStatus("正在连接…", "");
    }
    var sock;
    try {
      sock = new WebSocket(wsURL);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.onopen = function () {
      if (ws !== sock) {
        return;
      }
      sendFrame({ type: "hello", session: load(SESSION_KEY), community: community });
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) {
        return;
      }
      var msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg && typeof msg === "object") {
        onFrame(msg);
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
      ready = false;
      pending = {};
      sentEls = {};
      agentTypingUntil = 0;
      setTyping();
      clearInterval(pingTimer);
      pingTimer = null;
      updateComposer();
      surveysOffline();
      if (isOpen) {
        scheduleReconnect();
      } else {
        // Closed panel: reconnect when the resident opens it again.
        setStatus("连接中断，正在重新连接…", "bad");
      }
    };
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    var base = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, attempt));
    attempt += 1;
    var delay = base / 2 + Math.random() * base / 2; // jitter: half to all of the step
    setStatus("连接中断，正在重新连接…", "bad");
    retryTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (started && isOpen && !ws) {
      connect();
    }
  }

  function onFrame(msg) {
    switch (msg.type) {
      case "welcome": {
        var had = load(SESSION_KEY);
        if (typeof msg.session === "string" && msg.session) {
          save(SESSION_KEY, msg.session);
        }
        var again = everWelcomed;
        ready = true;
        everWelcomed = true;
        attempt = 0;
        renderHistory(msg.history);
        var hs = msg.handoff;
        if (hs && typeof hs === "object") {
          setHandoff(str(hs.state), str(hs.agent));
        } else {
          setHandoff(str(hs), str(msg.agent));
        }
        if (had && !msg.resumed) {
          addMessage("system", "之前的对话已过期，已为您开始新的对话。", null, false);
        }
        if (again) {
          setStatus("已重新连接", "ok", 4000);
        } else {
          setStatus("", "");
        }
        clearInterval(pingTimer);
        pingTimer = setInterval(function () {
          sendFrame({ type: "ping" });
        }, PING_EVERY);
        updateComposer();
        surveysOnline();
        ackShown();
        if (reportOpen) {
          sendPlace(); // the connection forgot it
        }
        break;
      }
      case "reply": {
        delete pending[str(msg.reply_to)];
        delete sentEls[str(msg.reply_to)];
        replyHandoff(msg);
        setTyping();
        addMessage("bot", str(msg.text), msg, true);
        break;
      }
      case "error": {
        var eid = str(msg.reply_to);
        if (eid && rating[eid]) {
          surveyRefused(eid, msg); // shown in its card
          break;
        }
        if (eid && !pending[eid] && voteRows[eid] && votes[eid] !== undefined) {
          voteRefused(eid, msg); // quietly, under the answer
          break;
        }
        if (msg.reply_to) {
          delete pending[str(msg.reply_to)];
          delete sentEls[str(msg.reply_to)];
          setTyping();
        }
        var text = str(msg.message) || errorText[str(msg.code)] || "出错了，请稍后再试。";
        var m = addMessage("system", text, null, false);
        m.setAttribute("data-error", str(msg.code));
        break;
      }
      case "message": {
        // An operator or system turn pushed by the server.
        addMessage(str(msg.from) || "operator", str(msg.text), msg.reply || null, true, false, str(msg.agent));
        break;
      }
      case "handoff": {
        // Who answers changed: a person is being called, has joined, or is not coming.
        var state = str(msg.state);
        setHandoff(state, str(msg.agent));
        if (typeof msg.position === "number" || typeof msg.online === "number") {
          onQueue(msg);
        }
        var opts = Array.isArray(msg.options) ? msg.options : [];
        var htext = str(msg.text);
        if (!htext && state === "live") {
          htext = msg.agent ? "工作人员 " + str(msg.agent) + " 已接入，为您服务。" : "工作人员已接入，为您服务。";
        }
        if (htext || opts.length) {
          retireOptions();
          var hm = addMessage("system", htext, opts.length ? { options: opts } : null, true);
          hm.setAttribute("data-handoff", state);
        }
        break;
      }
      case "agent": {
        // A person's message.
        agentTypingUntil = 0;
        var extra = {};
        if (msg.contact && typeof msg.contact === "object") {
          extra.contact = msg.contact;
        }
        if (msg.entry && typeof msg.entry === "object") {
          extra.entry = msg.entry;
        }
        var am = addMessage("operator", str(msg.text), extra, false, false, str(msg.agent));
        setTyping();
        if (msg.id !== undefined && msg.id !== null && msg.id !== "") {
          am.setAttribute("data-id", str(msg.id));
          unacked.push(msg.id);
          ackShown();
        }
        break;
      }
      case "typing": {
        agentTypingUntil = Date.now() + 4000;
        setTyping();
        clearTimeout(agentTypingTimer);
        agentTypingTimer = setTimeout(setTyping, 4050);
        break;
      }
      case "received": {
        // Stored for the operator: no bot reply comes.
        var rid = str(msg.reply_to);
        delete pending[rid];
        var sm = sentEls[rid];
        delete sentEls[rid];
        if (sm) {
          sm.className += " sent";
          sm.setAttribute("data-sent", "1");
        }
        setTyping();
        break;
      }
      case "survey": {
        // A resolved ticket of this conversation, to rate.
        onSurvey(msg);
        break;
      }
      case "rated": {
        onRated(msg);
        break;
      }
      case "queue": {
        onQueue(msg);
        break;
      }
      case "location": {
        if (msg.ok && msg.answered && str(msg.reply_to) === locID && myPlace) {
          // It answered the question where: it shows as the resident's answer, the bot's next
          // question follows.
          pending[locID] = true;
          setTyping();
          var lm = addMessage("resident", "📍 我的位置（纬度 " + myPlace.lat.toFixed(4) + "，经度 " + myPlace.lng.toFixed(4) + "）", null, false);
          lm.setAttribute("data-id", locID);
          lm.setAttribute("data-location", "1");
          sentEls[locID] = lm;
        } else if (msg.ok && str(msg.reply_to) === locID && myPlace) {
          sayLocal("已附上您的位置（纬度 " + myPlace.lat.toFixed(4) + "，经度 " + myPlace.lng.toFixed(4) + "），会随工单一起提交。地址也请写清小区、楼号。", "location-ok");
        }
        break;
      }
      case "notice": {
        // News of the resident's ticket (resolved, with the reply).
        var nt = msg.ticket;
        if (typeof nt === "string" && nt) {
          nt = { number: nt };
        }
        var nm = addMessage("system", str(msg.text), nt && typeof nt === "object" ? { ticket: nt } : null, false, false, "", new Date());
        nm.className += " notice";
        nm.setAttribute("data-notice", "1");
        break;
      }
      default:
        // pong and anything newer: nothing to show
        break;
    }
  }

  var errorText = {
    rate_limited: "发送太快了，请稍后再试",
    bad_text: "消息不能为空，最多 2000 字",
    bad_option: "这个选项已经失效了，请直接输入您的问题",
    internal: "服务暂时出错，请稍后再试"
  };

  // ---- sending ----

  function sendText() {
    var text = input.value;
    if (!ready || text.trim() === "" || charCount(text) > MAX_CHARS) {
      updateComposer();
      return;
    }
    var id = nextID();
    if (!sendFrame({ type: "ask", id: id, text: text })) {
      updateComposer();
      return;
    }
    pending[id] = true;
    setTyping();
    var m = addMessage("resident", text, null, false);
    m.setAttribute("data-id", id);
    sentEls[id] = m;
    lastTypingSent = 0;
    input.value = "";
    autoGrow();
    updateComposer();
    input.focus();
  }

  function onOption(ev) {
    var b = ev.currentTarget;
    if (!ready || b.disabled) {
      return;
    }
    var id = nextID();
    if (!sendFrame({ type: "choose", id: id, option: b.getAttribute("data-option-id") })) {
      return;
    }
    pending[id] = true;
    setTyping();
    var m = addMessage("resident", b.textContent, null, false);
    m.setAttribute("data-id", id);
    sentEls[id] = m;
  }

  // ---- open, close, large text ----

  function setOpen(open) {
    isOpen = open;
    panel.className = "panel" + (open ? " open" : "") + (large ? " large" : "");
    root.className = "root" + (open ? " is-open" : "");
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      unread = 0;
      badge.className = "badge";
      if (!started || !ws) {
        connect();
      }
      if (atEnd) {
        scrollDown();
      }
      try {
        input.focus({ preventScroll: true });
      } catch (e) {
        input.focus();
      }
      ackShown();
    } else {
      launcher.focus();
    }
  }

  var large = load(LARGE_KEY) === "1";
  function applyLarge() {
    largeBtn.setAttribute("aria-pressed", large ? "true" : "false");
    panel.className = "panel" + (isOpen ? " open" : "") + (large ? " large" : "");
  }

  launcher.addEventListener("click", function () {
    setOpen(!isOpen);
  });
  closeBtn.addEventListener("click", function () {
    setOpen(false);
  });
  largeBtn.addEventListener("click", function () {
    large = !large;
    save(LARGE_KEY, large ? "1" : "");
    applyLarge();
    autoGrow();
    if (atEnd) {
      scrollDown();
    }
  });
  panel.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") {
      setOpen(false);
    }
  });
  input.addEventListener("keydown", function (ev) {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      sendText();
    }
  });
  input.addEventListener("input", function () {
    autoGrow();
    updateComposer();
    typingNow();
  });
  sendBtn.addEventListener("click", sendText);
  panel.addEventListener("pointerdown", armSound);
  panel.addEventListener("keydown", armSound);
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      clearCue();
      reconnectNow();
      ackShown();
    }
  });

  applyLarge();
  updateComposer();

  function mount() {
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
