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
  // The only strings that become links: the clinic's numbers and the content file's source URLs.
  const LINKS = __WIDGET_LINKS__;
  const script = document.currentScript;
  const assets = new URL(".", script.src).href; // the web app's /widget/ folder
  const appOrigin = new URL(script.src).origin;
  const data = script.dataset;
  const server = data.serverUrl || "http://127.0.0.1:5005";
  const MAX_CHARS = 1000;
  const COUNTER_FROM = 900; // the counter appears this close to the limit
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

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  // Clinic numbers, source URLs (exact strings from the server) and case references.
  const LINK_PATTERN = new RegExp([].concat(
    LINKS.phones.map(escapeRegExp), LINKS.urls.map(escapeRegExp), ["ESC-\\d{4}-\\d+"]
  ).join("|"), "g");

  // Fills `node` with `text`, the clinic's numbers as tap-to-call links, source URLs as links
  // and references unbroken. DOM APIs only: the text itself is never parsed as HTML.
  function linkify(node, text) {
    node.replaceChildren();
    let last = 0;
    for (const match of text.matchAll(LINK_PATTERN)) {
      node.append(text.slice(last, match.index));
      const found = match[0];
      let part;
      if (LINKS.phones.includes(found)) {
        part = el("a", "cw-tel", found);
        part.href = "tel:" + found.replace(/[^0-9+]/g, "");
      } else if (LINKS.urls.includes(found)) {
        part = el("a", "cw-link", found);
        part.href = found;
        part.target = "_blank";
        part.rel = "noopener noreferrer";
      } else {
        part = el("span", "cw-ref", found);
      }
      node.append(part);
      last = match.index + found.length;
    }
    node.append(text.slice(last));
  }

  const stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = assets + "widget.css";
  // Until the styles load the log does not scroll; then it opens at the newest message.
  stylesheet.addEventListener("load", function () { scrollToNewest(); });
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
  const restart = el("button", "cw-restart", TEXTS.widget_start_again);
  restart.type = "button";
  const notice = el("p", "cw-notice", TEXTS.widget_notice);
  linkify(notice, TEXTS.widget_notice);
  header.append(heading, restart, close, notice);

  // Connection state, above the log so it is never below the fold: "Reconnecting…" and, while
  // the server cannot be reached, the notice with the clinic's and the emergency number.
  const status = el("div", "cw-status");
  status.hidden = true;
  const statusText = el("p", "cw-status-text");
  statusText.setAttribute("role", "status");
  const offlineNote = el("p", "cw-offline");
  offlineNote.setAttribute("role", "alert");
  offlineNote.hidden = true;
  status.append(statusText, offlineNote);

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
  // No maxLength: a pasted long text would be cut silently; the counter says what is too much.
  input.autocomplete = "off";
  input.setAttribute("aria-describedby", "cw-counter");
  const send = el("button", "cw-send", TEXTS.widget_send);
  send.type = "submit";
  const counter = el("p", "cw-counter");
  counter.id = "cw-counter";
  counter.setAttribute("aria-live", "polite");
  counter.hidden = true;
  form.append(label, input, send, counter);

  panel.append(header, status, log, typing, form);
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
  const pending = []; // {text, entry} not sent yet
  const inFlight = []; // sent, no reply yet: sent again if the connection drops first

  function persist() {
    transcript = transcript.slice(-MAX_ENTRIES);
    save("transcript", transcript.map(function (entry) {
      const copy = Object.assign({}, entry);
      delete copy.node; // the rendered element is not stored
      return copy;
    }));
  }

  function scrollToNewest() {
    log.scrollTop = log.scrollHeight;
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
        if (helpful) {
          input.focus();
        } else {
          add(notHelpfulOffer(), true);
          log.querySelector(".cw-msg:last-child .cw-choice").focus();
        }
      });
      box.appendChild(button);
    }
    container.appendChild(box);
  }

  // After a "No" vote: ask again in other words, or ask for a clinician (the bot's own
  // "request a person" path, which offers the contact form).
  function notHelpfulOffer() {
    return { from: "bot", text: TEXTS.widget_not_helpful, buttons: [
      { title: TEXTS.widget_ask_again, payload: "" },
      { title: TEXTS.widget_ask_clinician, payload: "/request_human" },
    ] };
  }

  function markQueued(entry, item) {
    const old = item.querySelector(".cw-queued");
    if (old) old.remove();
    if (!entry.queued) return;
    const note = el("p", "cw-queued", TEXTS.widget_queued + " ");
    const retry = el("button", "cw-retry", TEXTS.widget_retry);
    retry.type = "button";
    retry.addEventListener("click", function () {
      if (socket && !socket.connected) socket.connect();
      input.focus();
    });
    note.appendChild(retry);
    item.appendChild(note);
  }

  function render(entry) {
    const item = el("div", "cw-msg cw-" + (entry.from === "user" ? "user" : "bot"));
    const paragraph = el("p", "cw-text");
    // Only the bot's texts carry links; what a parent typed stays plain text.
    if (entry.from === "user") paragraph.textContent = entry.text; else linkify(paragraph, entry.text);
    item.appendChild(paragraph);
    entry.node = item;
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
        // Used buttons are disabled (and so skipped by the keyboard), also after a reload.
        button.disabled = Boolean(entry.used);
        button.addEventListener("click", function () {
          entry.used = true;
          persist();
          for (const other of choices.querySelectorAll("button")) other.disabled = true;
          if (choice.payload) sendMessage(choice.payload, choice.title); else input.focus();
        });
        choices.appendChild(button);
      }
      item.appendChild(choices);
    }
    markQueued(entry, item);
    log.appendChild(item);
    if (entry.kind === "source" && entry.answer_id) renderFeedback(entry, log);
    log.scrollTop = log.scrollHeight;
  }

  function renderAll() {
    log.setAttribute("aria-busy", "true");
    log.replaceChildren();
    transcript.forEach(render);
    log.removeAttribute("aria-busy");
    scrollToNewest();
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

  // Messages wait in `pending` (marked "not sent yet") until the server has confirmed the
  // session: socket.io's own buffer would send them before session_request after a reconnect,
  // and the server ignores those.
  function flushPending() {
    while (pending.length && confirmed && socket && socket.connected) {
      const next = pending.shift();
      if (next.entry && next.entry.queued) {
        delete next.entry.queued;
        persist();
        if (next.entry.node) markQueued(next.entry, next.entry.node);
      }
      typing.hidden = false;
      inFlight.push(next);
      emitMessage(next.text);
    }
  }

  function sendMessage(text, shown) {
    text = String(text || "").trim();
    if (!text) return;
    let entry = null;
    if (shown !== null) {
      entry = { from: "user", text: shown === undefined ? text : shown };
      if (!confirmed) entry.queued = true;
      add(entry, true);
    }
    save("writer", TAB); // this tab keeps the replies in the transcript
    pending.push({ text: text, entry: entry });
    if (confirmed) typing.hidden = false;
    connect();
    flushPending();
    input.focus();
  }

  function showStatus(reconnecting, unreachable) {
    statusText.textContent = reconnecting ? TEXTS.widget_reconnecting : "";
    offlineNote.hidden = !unreachable;
    if (unreachable && !offlineNote.firstChild) linkify(offlineNote, TEXTS.widget_offline);
    status.hidden = !reconnecting && !unreachable;
  }

  function disconnected() {
    confirmed = false;
    typing.hidden = true;
    // A question sent but not answered when the connection dropped is marked and sent again.
    while (inFlight.length) {
      const item = inFlight.pop();
      if (item.entry) item.entry.queued = true;
      pending.unshift(item);
    }
    for (const item of pending) {
      if (item.entry && item.entry.node) markQueued(item.entry, item.entry.node);
    }
    persist();
    showStatus(true, false);
  }

  function offline() {
    confirmed = false;
    typing.hidden = true;
    for (const item of pending) {
      if (item.entry && !item.entry.queued) {
        item.entry.queued = true;
        if (item.entry.node) markQueued(item.entry, item.entry.node);
      }
    }
    persist();
    showStatus(true, true);
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
    // Reconnect for as long as the page is open (a restart of the services takes a minute or
    // more), at most 5 s apart.
    socket = window.io(server, { transports: ["websocket"], reconnectionAttempts: Infinity,
                                 reconnectionDelayMax: 5000 });
    socket.on("disconnect", disconnected);
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
      showStatus(false, false);
      if (!transcript.length && !pending.length) {
        typing.hidden = false;
        save("writer", TAB);
        emitMessage("/greet");
      }
      flushPending();
    });
    socket.on("bot_uttered", function (message) {
      if (!message || typeof message !== "object") return;
      typing.hidden = true;
      const buttons = (message.quick_replies || message.buttons || []).map(function (b) {
        return { title: String(b.title || ""), payload: String(b.payload || "") };
      });
      const writer = load("writer", TAB);
      inFlight.length = 0; // the server is answering: nothing to send again
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
    scrollToNewest(); // the log was hidden when it was filled: open at the newest message
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
  // "Start again" (shared family devices): the transcript, session id and vote key leave this
  // browser, and the server ends the old session id so it cannot be restored.
  restart.addEventListener("click", function () {
    const old = sessionId;
    transcript = [];
    pending.length = 0;
    inFlight.length = 0;
    sessionId = null;
    save("session", null);
    persist();
    renderAll();
    if (socket && socket.connected && old) {
      confirmed = false;
      socket.emit("session_end", { session_id: old });
    } else if (socket) {
      socket.disconnect().connect(); // a new session_request, without an id
    } else {
      connect();
    }
    input.focus();
  });

  function updateCounter() {
    const length = input.value.length;
    const over = length > MAX_CHARS;
    counter.hidden = length < COUNTER_FROM;
    counter.classList.toggle("cw-counter-over", over);
    counter.textContent = over ? TEXTS.widget_too_long + " " + (length - MAX_CHARS)
                               : TEXTS.widget_chars_left + " " + (MAX_CHARS - length);
    input.setAttribute("aria-invalid", over ? "true" : "false");
    return !over;
  }
  input.addEventListener("input", updateCounter);

  launcher.addEventListener("click", open);
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hide();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!updateCounter()) {
      input.focus();
      return; // too long: the counter says by how much
    }
    const text = input.value;
    input.value = "";
    updateCounter();
    sendMessage(text);
  });

  renderAll();
  if (load("open", false)) {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    scrollToNewest();
    connect();
  }
})();
