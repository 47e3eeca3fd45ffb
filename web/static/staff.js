/*
 * What the staff pages share, GET /staff.js: the operator console (console.js) and the managers'
 * dashboard (dashboard.js) load it before their own script.
 *
 * - The words, from the message catalogue (GET /messages.js, loaded first), and the zh/en switch:
 *   Chinese first, English on a click, the choice kept in localStorage under a key of the page's.
 *   A page's own words are the catalogue's under its prefix (HotlineStaff.page({page})).
 * - The fetch wrapper of the staff API: JSON both ways, the session's CSRF token on writes, a
 *   failed request thrown as an ApiError {status, code, message, field}, a 401 handed to the page.
 * - The login form (POST /api/v1/login; the server sets the session cookie and answers the CSRF
 *   token) and the logout.
 *
 * Plain JavaScript, no build step; it defines one global, HotlineStaff, and touches the page only
 * when a page asks. Text goes into the page with textContent or attributes, never as markup.
 */
(function () {
  "use strict";

  // The words: the message catalogue (internal/i18n), which GET /messages.js, loaded before this
  // script, puts in window.HotlineMessages as {zh: {key: text}, en: {…}}. A page's words are
  // under its prefix ("console.", "dashboard."); the words the pages and the server share have none.
  const MESSAGES = window.HotlineMessages || { zh: {}, en: {} };

  const LOGIN_PATH = "/api/v1/login";

  function str(v) {
    return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
  }

  function $(id) {
    return document.getElementById(id);
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  // load and save keep a string in localStorage; without storage load gives "" and save forgets.
  function load(key) {
    try {
      return window.localStorage.getItem(key) || "";
    } catch (e) {
      return "";
    }
  }
  function save(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* not kept */
    }
  }

  // ApiError is what api throws: the HTTP status (0: no answer), the API's error code (else
  // "network" or "http_<status>"), a message to show and the field the API blamed, if any.
  function ApiError(status, code, message, field) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.field = field;
  }

  // page sets up a staff page. opts:
  //   page             the page's prefix in the catalogue ("console", "dashboard"): t("chat.send")
  //                    is the catalogue's "console.chat.send", else its "chat.send";
  //   langKey          the localStorage key of the page's language choice;
  //   csrf()           the session's CSRF token, sent on every request but GET and HEAD;
  //   onUnauthorized() optional: called when a request other than the login is answered 401;
  //   statusInMessage  an error the server gave no message for reads "502 Bad Gateway", not "Bad Gateway".
  function page(opts) {
    const prefix = opts.page + ".";
    let lang = load(opts.langKey) === "en" ? "en" : "zh";

    // word is the page's word for key in language l (its own, else a shared one), or undefined.
    function word(l, key) {
      const words = MESSAGES[l] || {};
      const own = words[prefix + key];
      return own !== undefined ? own : words[key];
    }

    // t gives the word for key in the language (Chinese when English lacks it, the key when both
    // do), {name} replaced by vars.name.
    function t(key, vars) {
      let s = word(lang, key);
      if (s === undefined) {
        s = word("zh", key);
      }
      if (s === undefined) {
        return key;
      }
      if (vars) {
        s = s.replace(/\{(\w+)\}/g, function (m, k) {
          return vars[k] === undefined || vars[k] === null ? m : String(vars[k]);
        });
      }
      return s;
    }
    // tk translates key if the dictionary has it, else returns fallback (the server's own label).
    function tk(key, fallback) {
      return word(lang, key) !== undefined || word("zh", key) !== undefined ? t(key) : fallback;
    }

    // applyTexts puts the language's words in the page: <html lang>, the text of the elements
    // marked data-i18n, the placeholders of data-i18n-placeholder and the titles of
    // data-i18n-title, and langBtn, which names the other language (in that language).
    function applyTexts(langBtn) {
      document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
      for (const e of Array.from(document.querySelectorAll("[data-i18n]"))) {
        e.textContent = t(e.getAttribute("data-i18n"));
      }
      for (const e of Array.from(document.querySelectorAll("[data-i18n-placeholder]"))) {
        e.setAttribute("placeholder", t(e.getAttribute("data-i18n-placeholder")));
      }
      for (const e of Array.from(document.querySelectorAll("[data-i18n-title]"))) {
        e.setAttribute("title", t(e.getAttribute("data-i18n-title")));
      }
      langBtn.textContent = lang === "zh" ? "English" : "中文";
      langBtn.setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
    }

    // langButton makes a click on button switch the language, keep the choice and call changed
    // (which redraws the page in it).
    function langButton(button, changed) {
      button.addEventListener("click", function () {
        lang = lang === "zh" ? "en" : "zh";
        save(opts.langKey, lang);
        changed();
      });
    }

    // api calls the staff API: the answer's JSON (null without a body), or an ApiError thrown.
    async function api(method, path, body) {
      const headers = { Accept: "application/json" };
      const init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const csrf = opts.csrf ? opts.csrf() : "";
      if (method !== "GET" && method !== "HEAD" && csrf) {
        headers["X-CSRF-Token"] = csrf;
      }
      let resp;
      try {
        resp = await fetch(path, init);
      } catch (e) {
        throw new ApiError(0, "network", t("err.network"), "");
      }
      let data = null;
      const text = await resp.text().catch(function () {
        return "";
      });
      if (text) {
        try {
          data = JSON.parse(text);
        } catch (e) {
          data = null;
        }
      }
      if (!resp.ok) {
        const code = str(data && data.code) || "http_" + resp.status;
        const message = str(data && data.error) || (opts.statusInMessage ? resp.status + " " + resp.statusText : resp.statusText);
        if (resp.status === 401 && opts.onUnauthorized && path !== LOGIN_PATH) {
          opts.onUnauthorized();
        }
        throw new ApiError(resp.status, code, message, str(data && data.field));
      }
      return data;
    }

    // loginForm runs the login form of the page (#login-view, #login-form with #login-name,
    // #login-password, #login-submit and #login-error): on a good login it empties the password
    // and calls signedIn with the API's answer ({name, role, csrf, …}); a refusal shows the
    // server's message, its code in #login-error's data-code. It returns show(message), which
    // opens the form with message as its error, and hide().
    function loginForm(signedIn) {
      const view = $("login-view");
      const form = $("login-form");
      const name = $("login-name");
      const password = $("login-password");
      const submit = $("login-submit");
      const error = $("login-error");

      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        error.textContent = "";
        const n = name.value.trim();
        const p = password.value;
        if (!n || !p) {
          error.textContent = t("login.missing");
          return;
        }
        submit.disabled = true;
        try {
          const u = await api("POST", LOGIN_PATH, { name: n, password: p });
          password.value = "";
          signedIn(u);
        } catch (e) {
          error.textContent = e.message || t("login.failed");
          error.dataset.code = str(e.code);
        } finally {
          submit.disabled = false;
        }
      });

      return {
        show: function (message) {
          view.hidden = false;
          error.textContent = message || "";
          try {
            name.focus();
          } catch (e) {
            /* fine */
          }
        },
        hide: function () {
          view.hidden = true;
        },
      };
    }

    // logout ends the session (POST /api/v1/logout); it resolves whatever the answer: the page
    // shows the login form either way.
    async function logout() {
      try {
        await api("POST", "/api/v1/logout");
      } catch (e) {
        /* logged out anyway */
      }
    }

    return {
      t: t,
      tk: tk,
      lang: function () {
        return lang;
      },
      applyTexts: applyTexts,
      langButton: langButton,
      api: api,
      loginForm: loginForm,
      logout: logout,
    };
  }

  window.HotlineStaff = { str: str, $: $, clear: clear, load: load, save: save, ApiError: ApiError, page: page };
})();
