/*
 * Clinic chat widget. A page includes it with one tag:
 *   <script src="https://<web app>/widget/widget.js" data-server-url="https://<rasa server>"
 *           data-clinic-name="..." data-primary-color="#0b5cad" data-primary-text-color="#fff"
 *           defer></script>
 * It talks to the Rasa server's socket.io channel (channels/socketio.py) and posts answer
 * feedback to the web app it was loaded from. Message text is only ever set with textContent.
 */
(function () {
  "use strict";

  const TEXTS = __WIDGET_TEXTS__;
  const script = document.currentScript;
  const assets = new URL(".", script.src).href; // the web app's /widget/ folder
  const appOrigin = new URL(script.src).origin;
  const data = script.dataset;
  const server = data.serverUrl || "http://127.0.0.1:5005";
  const MAX_CHARS = 1000;
  const MAX_ENTRIES = 200;
  const KEY = "clinicWidget:" + server + ":";
  const TAB = Math.random().toString(36).slice(2);

  // ---------------------------------------------------------------- storage (may be blocked)
  function load(name, fallback) {
    try {
      const raw = window.localStorage.getItem(KEY + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }
  function save(name, value) {
    try {
      window.localStorage.setItem(KEY + name, JSON.stringify(value));
    } catch (e) {
      /* private mode or full: the conversation still works, without history */
    }
  }

  // ---------------------------------------------------------------- DOM
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = assets + "widget.css";
  document.head.appendChild(stylesheet);

  const root = el("div", "cw-root");
  for (const [attribute, property] of [["primaryColor", "--cw-primary"],
                                       ["primaryTextColor", "--cw-on-primary"]]) {
    const value = data[attribute];
    if (value && window.CSS && CSS.supports("color", value)) {
      root.style.setProperty(property, value);
    }
  }
  const title = data.clinicName ? data.clinicName : TEXTS.widget_title;

  const launcher = el("button", "cw-launcher", TEXTS.widget_open);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "cw-panel");

  const panel = el("section", "cw-panel");
  panel.id = "cw-panel";
  panel.hidden = true;
  panel.setAttribute("aria-labelledby", "cw-title");

  const header = el("div", "cw-header");
  const heading = el("h2", "cw-title", title);
  heading.id = "cw-title";
  const close = el("button", "cw-close");
  close.type = "button";
  close.setAttribute("aria-label", TEXTS.widget_close);
  close.appendChild(el("span", null, "\u00d7")).setAttribute("aria-hidden", "true");
  header.append(heading, close);

  const log = el("div", "cw-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.setAttribute("aria-label", title);
  log.tabIndex = 0;

  const typing = el("div", "cw-typing", TEXTS.widget_typing);
  typing.setAttribute("role", "status");
  typing.hidden = true;

  const form = el("form", "cw-form");
  const label = el("label", "cw-label", TEXTS.widget_input_label);
  label.htmlFor = "cw-input";
  const input = el("input", "cw-input");
  input.id = "cw-input";
  input.type = "text";
  input.maxLength = MAX_CHARS;
  input.autocomplete = "off";
  const send = el("button", "cw-send", TEXTS.widget_send);
  send.type = "submit";
  form.append(label, input, send);

  panel.append(header, log, typing, form);
  root.append(panel, launcher);
  document.body.appendChild(root);

  // ---------------------------------------------------------------- conversation state
  let transcript = load("transcript", []);
  if (!Array.isArray(transcript)) transcript = [];
  let sessionId = load("session", null);
  // One vote per answer per conversation: a random key per conversation, sent with votes
  // instead of the session id (which is the conversation's credential).
  let voteKey = load("vote", null);
  let socket = null;
  let confirmed = false;
  const pending = [];

  function persist() {
    transcript = transcript.slice(-MAX_ENTRIES);
    save("transcript", transcript);
  }

  function newVoteKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    voteKey = Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    save("vote", voteKey);
    return voteKey;
  }

  function renderFeedback(entry, container) {
    const box = el("div", "cw-feedback");
    if (entry.feedback) {
      box.appendChild(el("p", "cw-feedback-thanks", TEXTS.widget_helpful_thanks));
      container.appendChild(box);
      return;
    }
    box.setAttribute("role", "group");
    const question = el("span", "cw-feedback-question", TEXTS.widget_helpful);
    question.id = "cw-fb-" + Math.random().toString(36).slice(2);
    box.setAttribute("aria-labelledby", question.id);
    box.appendChild(question);
    for (const [text, helpful] of [[TEXTS.widget_helpful_yes, true],
                                   [TEXTS.widget_helpful_no, false]]) {
      const button = el("button", "cw-feedback-button", text);
      button.type = "button";
      button.addEventListener("click", function () {
        entry.feedback = helpful ? "yes" : "no";
        persist();
        voteKey = load("vote", voteKey) || newVoteKey(); // another tab may have started anew
        fetch(appOrigin + "/api/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer_id: entry.answer_id, helpful: helpful, vote_key: voteKey }),
        }).catch(function () { /* feedback is optional */ });
        const thanks = el("p", "cw-feedback-thanks", TEXTS.widget_helpful_thanks);
        box.replaceWith(thanks);
        input.focus();
      });
      box.appendChild(button);
    }
    container.appendChild(box);
  }

  function render(entry) {
    const item = el("div", "cw-msg cw-" + (entry.from === "user" ? "user" : "bot"));
    item.appendChild(el("p", "cw-text", entry.text));
    if (entry.kind === "emergency") {
      item.classList.add("cw-emergency");
      item.setAttribute("role", "alert");
    } else if (entry.kind === "source") {
      item.classList.add("cw-source");
    }
    if (entry.buttons && entry.buttons.length) {
      const choices = el("div", "cw-buttons");
      for (const choice of entry.buttons) {
        const button = el("button", "cw-choice", choice.title);
        button.type = "button";
        button.addEventListener("click", function () {
          sendMessage(choice.payload, choice.title);
        });
        choices.appendChild(button);
      }
      item.appendChild(choices);
    }
    log.appendChild(item);
    if (entry.kind === "source" && entry.answer_id) renderFeedback(entry, log);
    log.scrollTop = log.scrollHeight;
  }

  function renderAll() {
    log.setAttribute("aria-busy", "true");
    log.replaceChildren();
    transcript.forEach(render);
    log.removeAttribute("aria-busy");
  }

  function add(entry, keep) {
    transcript.push(entry);
    if (keep) persist();
    render(entry);
  }

  // Another tab of the same conversation wrote the transcript: show what it holds.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY + "transcript") {
      transcript = load("transcript", []);
      renderAll();
    }
  });

  // ---------------------------------------------------------------- socket.io
  function emitMessage(text) {
    socket.emit("user_uttered", { message: text, session_id: sessionId });
  }

  function sendMessage(text, shown) {
    text = String(text || "").trim();
    if (!text) return;
    if (shown !== null) add({ from: "user", text: shown === undefined ? text : shown }, true);
    save("writer", TAB); // this tab keeps the replies in the transcript
    typing.hidden = false;
    if (confirmed) emitMessage(text); else pending.push(text);
    connect();
    input.focus();
  }

  function offline() {
    typing.hidden = true;
    if (!log.querySelector(".cw-offline")) {
      const note = el("div", "cw-msg cw-bot cw-offline");
      note.appendChild(el("p", "cw-text", TEXTS.widget_offline));
      log.appendChild(note);
    }
  }

  function connect() {
    if (socket) return;
    if (!window.io) {
      const loader = el("script");
      loader.src = assets + "vendor/socket.io.min.js";
      loader.onload = connect;
      loader.onerror = offline;
      document.head.appendChild(loader);
      return;
    }
    // WebSocket only: no cross-origin polling requests to the Rasa server.
    socket = window.io(server, { transports: ["websocket"], reconnectionAttempts: 10 });
    socket.on("connect", function () {
      confirmed = false;
      socket.emit("session_request", { session_id: sessionId });
    });
    socket.on("session_confirm", function (id) {
      const fresh = id !== sessionId;
      if (fresh && sessionId) {
        // The server did not accept the stored session (e.g. its secret changed).
        transcript = [];
        persist();
        renderAll();
      }
      sessionId = id;
      save("session", id);
      if (fresh || !voteKey) newVoteKey();
      confirmed = true;
      const old = log.querySelector(".cw-offline");
      if (old) old.remove();
      if (!transcript.length && !pending.length) {
        typing.hidden = false;
        save("writer", TAB);
        emitMessage("/greet");
      }
      while (pending.length) emitMessage(pending.shift());
    });
    socket.on("bot_uttered", function (message) {
      if (!message || typeof message !== "object") return;
      typing.hidden = true;
      const buttons = (message.quick_replies || message.buttons || []).map(function (b) {
        return { title: String(b.title || ""), payload: String(b.payload || "") };
      });
      const writer = load("writer", TAB);
      add({
        from: "bot",
        text: String(message.text || ""),
        kind: typeof message.kind === "string" ? message.kind : undefined,
        answer_id: typeof message.answer_id === "string" ? message.answer_id : undefined,
        buttons: buttons,
      }, writer === TAB);
    });
    socket.on("connect_error", offline);
  }

  // ---------------------------------------------------------------- open, close, keyboard
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.hidden = true;
    save("open", true);
    connect();
    input.focus();
  }
  function hide() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    save("open", false);
    launcher.focus();
  }
  launcher.addEventListener("click", open);
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hide();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    sendMessage(text);
  });

  renderAll();
  if (load("open", false)) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    connect();
  }
})();
