/*
 * The residents' rating page, GET /rate?n=<ticket number> (docs/rates.md, "The survey").
 *
 * The resident types the ticket's access code (6 digits, told when the ticket was opened), answers 满意 / 基本满意 / 不满意 and 问题解决了吗,
 * may add a comment (≤ 500 characters), and the page sends
 * POST /api/v1/tickets/{number}/rating {code, rating, solved, comment}. A second rating is
 * refused (409 already_rated): the page then offers to change it with PUT (same body), which the
 * server allows within 24 hours of the first rating (then 409 too_late).
 *
 * Its words are the message catalogue's rate.* (and the shared rating.*), in Chinese, from
 * GET /messages.js, loaded first (the page itself comes with them, rendered at start-up).
 *
 * Plain script, no markup from anywhere but this page: every text goes in with textContent.
 */
(function () {
  "use strict";

  const MAX_COMMENT = 500;

  // The page's words: the catalogue's Chinese, the page's own under "rate." (t("err.number") is
  // "rate.err.number"), else a shared one; {name} replaced by vars.name.
  const WORDS = (window.HotlineMessages && window.HotlineMessages.zh) || {};
  function t(key, vars) {
    let s = WORDS["rate." + key];
    if (s === undefined) {
      s = WORDS[key];
    }
    if (s === undefined) {
      return key;
    }
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
    });
  }

  function $(id) {
    return document.getElementById(id);
  }

  const numberEl = $("number");
  const numberLine = $("number-line");
  const numberMissing = $("number-missing");
  const numberInput = $("number-input");
  const form = $("form");
  const tailInput = $("tail");
  const ratingGroup = $("ratings");
  const solvedGroup = $("solved");
  const comment = $("comment");
  const counter = $("counter");
  const submitBtn = $("submit");
  const resultEl = $("result");
  const changeBtn = $("change");

  // What the resident chose; mode is how the form's next submission is sent.
  const state = { rating: "", solved: null, mode: "POST", lastBody: null, busy: false };

  // The ticket number from the link (or typed, when the link has none).
  const fromLink = (new URLSearchParams(location.search).get("n") || "").trim();
  if (fromLink) {
    numberEl.textContent = fromLink;
  } else {
    numberLine.hidden = true;
    numberMissing.hidden = false;
  }
  function ticketNumber() {
    return fromLink || toAsciiDigits(numberInput.value).trim();
  }

  // Full-width digits (０-９) as a Chinese keyboard may type them.
  function toAsciiDigits(s) {
    return String(s).replace(/[\uff10-\uff19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48);
    });
  }

  function chars(s) {
    return Array.from(s).length;
  }

  // ---- the choices: buttons that behave as radio buttons ----

  function setupGroup(group, onPick) {
    const buttons = Array.from(group.querySelectorAll("button[role=radio]"));
    function pick(btn, focus) {
      buttons.forEach(function (b) {
        const on = b === btn;
        b.setAttribute("aria-checked", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
      });
      if (focus) {
        btn.focus();
      }
      onPick(btn.dataset.value);
    }
    buttons.forEach(function (b, i) {
      b.tabIndex = i === 0 ? 0 : -1;
      b.addEventListener("click", function () {
        if (!b.disabled) {
          pick(b, false);
        }
      });
      b.addEventListener("keydown", function (ev) {
        let step = 0;
        if (ev.key === "ArrowRight" || ev.key === "ArrowDown") {
          step = 1;
        } else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") {
          step = -1;
        }
        if (step !== 0) {
          ev.preventDefault();
          pick(buttons[(i + step + buttons.length) % buttons.length], true);
        }
      });
    });
  }
  setupGroup(ratingGroup, function (v) {
    state.rating = v;
  });
  setupGroup(solvedGroup, function (v) {
    state.solved = v === "yes";
  });

  // ---- the access code (the input kept its old id, "tail") and the comment ----

  // The chat's survey links here with the code in the fragment (#c=123456): filled in, never
  // sent to the server in the URL.
  const codeFromLink = /^#c=(\d{6})$/.exec(location.hash);
  if (codeFromLink) {
    tailInput.value = codeFromLink[1];
  }
  tailInput.addEventListener("input", function () {
    const clean = toAsciiDigits(tailInput.value).replace(/[^0-9]/g, "").slice(0, 6);
    if (clean !== tailInput.value) {
      tailInput.value = clean;
    }
  });

  function updateCounter() {
    const n = chars(comment.value);
    counter.textContent = n + "/" + MAX_COMMENT;
    counter.classList.toggle("over", n > MAX_COMMENT);
  }
  comment.addEventListener("input", updateCounter);
  updateCounter();

  // ---- showing what happened ----

  function show(kind, text, code) {
    resultEl.dataset.state = kind;
    resultEl.dataset.code = code || "";
    resultEl.textContent = text;
    if (text && resultEl.scrollIntoView) {
      resultEl.scrollIntoView({ block: "nearest" });
    }
  }

  function setEnabled(on) {
    Array.from(form.querySelectorAll("input, textarea, button")).forEach(function (el) {
      el.disabled = !on;
    });
    numberInput.disabled = !on;
  }

  // Server answers in Chinese words a resident knows.
  function errorText(status, data) {
    const code = (data && typeof data.code === "string" && data.code) || "";
    const field = (data && typeof data.field === "string" && data.field) || "";
    if (status === 404) {
      return t("err.not_found");
    }
    if (status === 409) {
      switch (code) {
        case "not_resolved":
        case "already_rated":
        case "too_late":
          return t("err." + code);
      }
      return t("err.conflict");
    }
    if (status === 400) {
      switch (field) {
        case "rating":
        case "solved":
        case "comment":
          return t("err." + field);
        case "code":
          return t("err.phone_tail");
      }
      return t("err.invalid");
    }
    if (status === 429) {
      return t("err.rate_limited");
    }
    if (status === 0) {
      return t("err.network");
    }
    return t("err.failed");
  }

  // ---- sending ----

  function collect() {
    const number = ticketNumber();
    const tail = toAsciiDigits(tailInput.value).trim();
    if (!number) {
      return { error: t("err.number"), focus: numberInput };
    }
    if (!/^[0-9]{6}$/.test(tail)) {
      return { error: t("err.phone_tail"), focus: tailInput };
    }
    if (!state.rating) {
      return { error: t("err.rating"), focus: ratingGroup.querySelector("button") };
    }
    if (state.solved === null) {
      return { error: t("err.solved"), focus: solvedGroup.querySelector("button") };
    }
    const text = comment.value.trim();
    if (chars(text) > MAX_COMMENT) {
      return { error: t("err.comment"), focus: comment };
    }
    return { number: number, body: { code: tail, rating: state.rating, solved: state.solved, comment: text } };
  }

  async function send(method, number, body) {
    if (state.busy) {
      return;
    }
    state.busy = true;
    setEnabled(false);
    changeBtn.hidden = true;
    show("busy", method === "PUT" ? t("sending.change") : t("sending"));
    let status = 0;
    let data = null;
    try {
      const resp = await fetch("/api/v1/tickets/" + encodeURIComponent(number) + "/rating", {
        method: method,
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
      status = resp.status;
      const text = await resp.text();
      try {
        data = text ? JSON.parse(text) : null;
      } catch (e) {
        data = null;
      }
    } catch (e) {
      status = 0;
    }
    state.busy = false;
    if (status === 200) {
      done(method, body);
      return;
    }
    setEnabled(true);
    show("error", errorText(status, data), (data && typeof data.code === "string" && data.code) || "http_" + status);
    if (status === 409 && data && data.code === "already_rated") {
      // Offer to change the rating to what the resident chose now.
      state.lastBody = body;
      changeBtn.dataset.mode = "put";
      changeBtn.textContent = t("change.to", { rating: t("rating." + body.rating), solved: body.solved ? t("solved") : t("unsolved") });
      changeBtn.hidden = false;
    }
  }

  function done(method, body) {
    const reopened = body.rating === "dissatisfied" || !body.solved;
    const said = { rating: t("rating." + body.rating), solved: body.solved ? t("solved") : t("unsolved") };
    let text = method === "PUT" ? t("done.changed", said) : t("done", said);
    if (reopened) {
      text += t("done.reopened");
    }
    show("ok", text, "ok");
    state.mode = "POST";
    state.lastBody = null;
    // Within 24 hours the rating may be changed (a reopened ticket is rated afresh once resolved).
    if (!reopened) {
      changeBtn.dataset.mode = "edit";
      changeBtn.textContent = t("change");
      changeBtn.hidden = false;
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const c = collect();
    if (c.error) {
      show("error", c.error, "invalid");
      if (c.focus) {
        c.focus.focus();
      }
      return;
    }
    send(state.mode, c.number, c.body);
  });

  changeBtn.addEventListener("click", function () {
    if (changeBtn.dataset.mode === "put" && state.lastBody) {
      send("PUT", ticketNumber(), state.lastBody);
      return;
    }
    // Change after a successful rating: the form again, sent with PUT.
    state.mode = "PUT";
    setEnabled(true);
    changeBtn.hidden = true;
    submitBtn.textContent = t("submit.change");
    show("busy", t("again"), "edit");
    tailInput.focus();
  });

  if (fromLink) {
    tailInput.focus();
  } else {
    numberInput.focus();
  }
})();
