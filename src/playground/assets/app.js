// The playground page: a small Slack client for the simulator. Plain
// JavaScript, no dependencies. Everything people or the bot wrote is
// escaped before it reaches the DOM (esc, or textContent).
"use strict";

// Slack's emoji shortcodes, from the playground's data set (/emoji.json).
let EMOJI = {};

let state = null;
let me = localStorage.getItem("person") || "UALEX";
let current = localStorage.getItem("channel") || "CGENERAL";
let threadTs = null;
let shownView = null;
const seen = {};

const $ = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Builds an element: attributes (on… as listeners), then children (strings
// become text nodes).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function html(markup) {
  const span = document.createElement("span");
  span.innerHTML = markup; // markup is built from escaped text only
  return span;
}

function personName(id) {
  if (state && id === state.bot) return "warroom";
  const p = state && state.people.find((p) => p.id === id);
  return p ? p.name : id;
}

function channelName(id) {
  const c = state && state.channels.find((c) => c.id === id);
  return c ? c.name : id;
}

function emoji(name) {
  return Object.hasOwn(EMOJI, name) ? EMOJI[name] : ":" + name + ":";
}

function shortcodes(escaped) {
  return escaped.replace(/:([a-z0-9_+-]+):/g, (m, name) => (Object.hasOwn(EMOJI, name) ? EMOJI[name] : m));
}

const pad = (n) => String(n).padStart(2, "0");

// `<!date^secs^format|fallback>` in the reader's local time.
function slackDate(secs, format) {
  const d = new Date(Number(secs) * 1000);
  if (isNaN(d)) return null;
  const month = d.toLocaleString(undefined, { month: "long" });
  const tokens = {
    date_num: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    date_short: d.toLocaleDateString(undefined, { month: "short", day: "numeric" }),
    date: `${month} ${d.getDate()}, ${d.getFullYear()}`,
    date_long: d.toLocaleDateString(undefined, { weekday: "long", month: "long", day: "numeric", year: "numeric" }),
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}`,
    time_secs: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  };
  return format.replace(/\{(\w+)\}/g, (m, t) => tokens[t] ?? m);
}

// One `<…>` of Slack's markup, as HTML.
function special(inner) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) return `<span class="mention">@${esc(label || personName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) return `<span class="mention">#${esc(label || channelName(target.slice(1)))}</span>`;
  if (target.startsWith("!date^")) {
    const [, secs, format] = target.split("^");
    const shown = format && slackDate(secs, format);
    return esc(shown || unescapeSlack(label || ""));
  }
  if (target.startsWith("!subteam^")) return `<span class="mention">${esc(label || "@group")}</span>`;
  if (target.startsWith("!")) return `<span class="mention">@${esc(target.slice(1))}</span>`;
  if (/^(https?:|mailto:)/.test(target)) {
    return `<a href="${esc(unescapeSlack(target))}" target="_blank" rel="noopener noreferrer">${esc(unescapeSlack(label || target))}</a>`;
  }
  return esc(unescapeSlack(inner));
}

function splitOnce(s, sep) {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

function unescapeSlack(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// Slack's mrkdwn → HTML. Text is unescaped from Slack's &lt; &gt; &amp;,
// escaped for HTML, then formatted; markup and code are set aside first.
function mrkdwn(text) {
  const kept = [];
  const keep = (markup) => `\u0000${kept.push(markup) - 1}\u0000`;
  let s = String(text ?? "").replace(/<([^<>\n]+)>/g, (m, inner) => keep(special(inner)));
  s = esc(unescapeSlack(s));
  s = s.replace(/```([\s\S]*?)```/g, (m, code) => keep(`<pre>${code.replace(/^\n/, "")}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => keep(`<code>${code}</code>`));
  s = shortcodes(s);
  s = s.replace(/(^|[^\w*])\*([^*\n]+)\*(?![\w*])/g, "$1<b>$2</b>");
  s = s.replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<i>$2</i>");
  s = s.replace(/(^|[^\w~])~([^~\n]+)~(?![\w~])/g, "$1<s>$2</s>");
  s = s.replace(/^&gt; ?(.*)$/gm, '<span class="quote">$1</span>');
  s = s.replace(/\n/g, "<br>");
  return s.replace(/\u0000(\d+)\u0000/g, (m, i) => kept[Number(i)]);
}

function textObject(t) {
  if (!t) return "";
  return t.type === "mrkdwn" ? mrkdwn(t.text) : shortcodes(esc(t.text));
}

// ---- Block Kit ----

function renderBlocks(blocks, msg) {
  return blocks.map((b) => renderBlock(b, msg)).filter(Boolean);
}

function renderBlock(b, msg) {
  switch (b.type) {
    case "header":
      return h("div", { class: "block" }, h("h3", {}, html(textObject(b.text))));
    case "section": {
      const parts = [];
      if (b.text) parts.push(h("div", { class: "text" }, html(textObject(b.text))));
      const fields = (b.fields || []).map((f) => h("div", {}, html(textObject(f))));
      const body = h("div", { class: "text" }, parts, fields.length ? h("div", { class: "fields" }, fields) : null);
      return h("div", { class: "block section" }, body, b.accessory ? renderElement(b.accessory, b, msg) : null);
    }
    case "context":
      return h("div", { class: "block context" }, (b.elements || []).map((e) =>
        e.type === "image" ? h("span", {}, e.alt_text || "") : h("span", {}, html(textObject(e)), " ")));
    case "divider":
      return h("hr", { class: "divider" });
    case "actions":
      return h("div", { class: "block actions" }, (b.elements || []).map((e) => renderElement(e, b, msg)));
    case "image":
      return h("div", { class: "block context" }, b.alt_text || "");
    default:
      return b.text ? h("div", { class: "block" }, html(textObject(b.text))) : null;
  }
}

// What a click on an element sends: a message's block_actions, or, in a
// view (a Home tab or a modal: `msg.view_id`), one whose container is it.
function sendAction(msg, action) {
  if (msg.view_id) return act("/view-action", { view_id: msg.view_id, ...action });
  return act("/click", { channel: msg.channel, message_ts: msg.ts, ...action });
}

// An interactive element on a message or in a view; using it sends
// block_actions.
function renderElement(e, block, msg) {
  if (e.type === "button") {
    const cls = "block-button" + (e.style ? " " + e.style : "");
    const click = () => {
      if (e.url) window.open(e.url, "_blank", "noopener");
      sendAction(msg, { action_id: e.action_id, block_id: block.block_id || "", kind: "button", value: e.value ?? null });
    };
    return h("button", { class: cls, type: "button", "data-action": e.action_id, "data-value": e.value, onclick: click }, html(textObject(e.text)));
  }
  if (e.type === "checkboxes") {
    const ticked = new Set((e.initial_options || []).map((o) => o.value));
    return h("div", { class: "checks" }, (e.options || []).map((o) => {
      const box = h("input", { type: "checkbox", checked: ticked.has(o.value), "data-action": e.action_id });
      box.addEventListener("change", () => {
        const selected = e.options.filter((x) => (x.value === o.value ? box.checked : ticked.has(x.value)));
        sendAction(msg, { action_id: e.action_id, block_id: block.block_id || "", kind: "checkboxes", selected_options: selected });
      });
      return h("label", { class: "choice" }, box, " ", html(textObject(o.text)));
    }));
  }
  if (e.type === "static_select" || e.type === "overflow") {
    const first = e.type === "overflow" ? "⋯" : (e.placeholder ? e.placeholder.text : "Choose…");
    const options = optionsOf(e);
    const select = h("select", { "data-action": e.action_id, class: e.type === "overflow" ? "overflow" : null, "aria-label": first },
      h("option", { value: "" }, first), ...options.map((o) => h("option", { value: o.value }, o.text.text)));
    if (e.initial_option) select.value = e.initial_option.value;
    select.addEventListener("change", () => {
      const picked = options.find((o) => o.value === select.value);
      if (!picked) return;
      sendAction(msg, { action_id: e.action_id, block_id: block.block_id || "", kind: e.type, selected_option: picked });
      if (e.type === "overflow") select.value = "";
    });
    return select;
  }
  return null;
}

// ---- messages ----

function tsTime(ts) {
  const d = new Date(parseFloat(ts) * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function renderMessage(m, opts) {
  const isBot = m.user === state.bot;
  const name = personName(m.user);
  const avatar = h("div", { class: "avatar" + (isBot ? " bot" : "") }, isBot ? "W" : name.slice(0, 1).toUpperCase());
  const meta = h("div", { class: "meta" }, h("span", { class: "name" }, name), isBot ? h("span", { class: "app" }, "APP") : null,
    tsTime(m.ts), m.edited ? " (edited)" : "", opts.ephemeral ? h("span", { class: "only" }, " · Only visible to you") : null);
  const content = m.blocks && m.blocks.length ? renderBlocks(m.blocks, m) : [h("div", { class: "text" }, html(mrkdwn(m.text)))];
  const body = h("div", { class: "msg-body" }, meta, content);
  if (opts.file) body.append(opts.file);
  if (!opts.ephemeral && !opts.file) {
    body.append(renderReactions(m));
    if (opts.replies && opts.replies.length) body.append(h("div", { class: "replies" }, opts.replies.map((r) => renderMessage(r, {}))));
  }
  const tools = opts.ephemeral || opts.file ? null : h("div", { class: "msg-tools" },
    h("button", { type: "button", class: "react-add", title: "Add a reaction", onclick: (ev) => openPicker(ev, m) }, "☺+"),
    h("button", { type: "button", class: "more", title: "More actions", "aria-label": "More actions", onclick: (ev) => openMenu(ev, [
      ["Declare from message", () => act("/shortcut", { callback_id: "declare_from_message", channel: m.channel, message_ts: m.ts })],
      ["Add to incident timeline", () => act("/shortcut", { callback_id: "add_to_timeline", channel: m.channel, message_ts: m.ts })],
    ]) }, "⋯"),
    m.thread_ts ? null : h("button", { type: "button", class: "reply", onclick: () => replyTo(m.ts) }, "Reply"));
  return h("div", { class: "msg" + (opts.ephemeral ? " ephemeral" : ""), "data-ts": m.ts }, avatar, body, tools);
}

function renderReactions(m) {
  const mine = new Set();
  const counts = new Map();
  for (const r of state.reactions) {
    if (r.channel !== m.channel || r.ts !== m.ts) continue;
    counts.set(r.name, (counts.get(r.name) || 0) + 1);
    if (r.user === me) mine.add(r.name);
  }
  return h("div", { class: "reactions" }, [...counts].map(([name, n]) =>
    h("button", { type: "button", class: mine.has(name) ? "mine" : "", "data-emoji": name, title: ":" + name + ":",
      onclick: () => act("/react", { channel: m.channel, ts: m.ts, emoji: name, add: !mine.has(name) }) }, `${emoji(name)} ${n}`)));
}

function fileItem(f) {
  return h("div", { class: "file" }, "📄 ", h("a", { class: "file-link", href: "/files/" + encodeURIComponent(f.id), download: f.title }, f.title),
    h("span", { class: "context" }, ` · ${f.size} bytes`));
}

const HOME = "HOME";

// The bot's Home tab for the person chosen at the top, as last published.
function renderHome() {
  const box = $("messages");
  const home = state.homes && state.homes[me];
  box.replaceChildren(home ? h("div", { class: "home" }, renderBlocks(home.blocks || [], { view_id: home.id }))
    : h("p", { class: "hint" }, "Opening the Home tab…"));
  box.dataset.channel = HOME;
  $("channel-name").textContent = "warroom · Home";
  $("channel-topic").replaceChildren("");
  $("composer-form").hidden = true;
}

function renderChannel() {
  $("composer-form").hidden = current === HOME;
  if (current === HOME) return renderHome();
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const msgs = state.messages.filter((m) => m.channel === current);
  const top = msgs.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const replies = (ts) => msgs.filter((m) => m.thread_ts === ts && m.ts !== ts);
  const items = top.map((m) => ({ ts: m.ts, el: () => renderMessage(m, { replies: replies(m.ts) }) }));
  for (const e of state.ephemerals.filter((e) => e.channel === current && e.to === me)) {
    items.push({ ts: e.ts, el: () => renderMessage(e, { ephemeral: true }) });
  }
  for (const f of state.files.filter((f) => f.channel === current)) {
    items.push({ ts: f.ts || "0", el: () => renderMessage({ user: state.bot, ts: f.ts || "0", text: "shared a file", channel: current }, { file: fileItem(f) }) });
  }
  items.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  box.replaceChildren(...items.map((i) => i.el()));
  if (atBottom || box.dataset.channel !== current) box.scrollTop = box.scrollHeight;
  box.dataset.channel = current;
  const c = state.channels.find((c) => c.id === current);
  $("channel-name").textContent = c ? (c.dm_with ? "warroom (direct messages)" : (c.private ? "🔒 " : "#") + c.name) : current;
  $("channel-topic").replaceChildren(c && c.topic ? html(mrkdwn(c.topic)) : "");
}

function renderSidebar() {
  const latest = (id) => state.messages.filter((m) => m.channel === id).length + state.ephemerals.filter((e) => e.channel === id && e.to === me).length;
  const item = (c, label) => {
    const count = latest(c.id);
    const unread = c.id !== current && count > (seen[c.id] || 0);
    return h("li", { class: (c.id === current ? "active" : "") + (unread ? " unread" : ""), "data-id": c.id, "data-name": c.name,
      onclick: () => { current = c.id; localStorage.setItem("channel", current); render(); } }, label);
  };
  // As in Slack, a private channel shows only to its members.
  $("channels").replaceChildren(...state.channels.filter((c) => !c.dm_with && (!c.private || c.members.includes(me))).map((c) => item(c, (c.private ? "🔒 " : "# ") + c.name)));
  $("dms").replaceChildren(...state.channels.filter((c) => c.dm_with === me).map((c) => item(c, "warroom")));
  $("apps").replaceChildren(h("li", { class: current === HOME ? "active" : "", "data-id": HOME, id: "open-home",
    onclick: () => { current = HOME; localStorage.setItem("channel", current); act("/home", {}); render(); } }, "🏠 warroom Home"));
  seen[current] = latest(current);
}

function renderTop() {
  const sel = $("person");
  if (!sel.options.length) {
    for (const p of state.people) sel.append(h("option", { value: p.id }, `${p.name} (${p.plays})`));
  }
  sel.value = me;
  $("web-link").href = "/web/as?user=" + encodeURIComponent(me);
  const d = new Date(state.now + (Date.now() - fetchedAt));
  const off = state.offset_minutes ? ` (+${state.offset_minutes} min)` : "";
  $("clock").textContent = `${d.toLocaleDateString(undefined, { weekday: "short" })} ${pad(d.getHours())}:${pad(d.getMinutes())}${off}`;
}

// ---- modals ----

function renderModal() {
  const layer = $("modal-layer");
  const mine = state.views.filter((v) => v.user === me);
  const top = mine[mine.length - 1];
  if (!top) { layer.hidden = true; layer.replaceChildren(); shownView = null; return; }
  const key = top.id + "/" + top.view.hash;
  if (shownView === key) return; // keep what is being typed
  shownView = key;
  const v = top.view;
  const form = h("form", { id: "modal-form" }, (v.blocks || []).map((b) => b.type === "input" ? renderInput(b) : renderBlock(b, { view_id: top.id })));
  const submit = h("button", { type: "submit", class: "primary", id: "modal-submit", form: "modal-form" }, v.submit ? v.submit.text : "Submit");
  const cancel = h("button", { type: "button", id: "modal-cancel", onclick: () => act("/cancel", { view_id: top.id }) }, v.close ? v.close.text : "Cancel");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submitModal(top.id, v, form); });
  layer.replaceChildren(h("div", { class: "modal", role: "dialog", "aria-modal": "true" },
    h("h2", {}, v.title ? v.title.text : ""), form, h("footer", {}, cancel, v.submit ? submit : null)));
  layer.hidden = false;
}

function optionsOf(e) {
  if (e.option_groups) return e.option_groups.flatMap((g) => g.options);
  return e.options || [];
}

function renderInput(b) {
  const e = b.element || {};
  const id = `in-${b.block_id}`;
  let field;
  switch (e.type) {
    case "plain_text_input":
      field = e.multiline ? h("textarea", { id, rows: 4 }) : h("input", { id, type: "text" });
      field.value = e.initial_value || "";
      if (e.placeholder) field.placeholder = e.placeholder.text;
      if (e.max_length) field.maxLength = e.max_length;
      break;
    case "static_select": {
      field = h("select", { id }, h("option", { value: "" }, e.placeholder ? e.placeholder.text : "Choose…"),
        optionsOf(e).map((o) => h("option", { value: o.value }, o.text.text)));
      field.value = e.initial_option ? e.initial_option.value : "";
      break;
    }
    case "checkboxes":
    case "radio_buttons": {
      const initial = new Set((e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value));
      field = h("div", { id }, (e.options || []).map((o) => h("label", { class: "choice" },
        h("input", { type: e.type === "checkboxes" ? "checkbox" : "radio", name: id, value: o.value, checked: initial.has(o.value) }),
        " ", html(textObject(o.text)), o.description ? h("div", { class: "hint" }, html(textObject(o.description))) : null)));
      break;
    }
    case "datetimepicker": {
      field = h("input", { id, type: "datetime-local" });
      if (e.initial_date_time) {
        const d = new Date(e.initial_date_time * 1000);
        field.value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
      }
      break;
    }
    case "datepicker":
      field = h("input", { id, type: "date" });
      field.value = e.initial_date || "";
      break;
    case "timepicker":
      field = h("input", { id, type: "time" });
      field.value = e.initial_time || "";
      break;
    default:
      field = h("div", { class: "hint" }, `(${e.type} is not shown in the playground)`);
  }
  return h("div", { class: "input", "data-block": b.block_id },
    h("label", { class: "lbl", for: id }, b.label ? b.label.text : "", b.optional ? h("span", { class: "opt" }, " (optional)") : null),
    field, b.hint ? h("div", { class: "hint" }, b.hint.text) : null, h("div", { class: "field-error", hidden: true }));
}

// Slack's `view.state.values`: block id → action id → the element's value.
function modalValues(v, form) {
  const values = {};
  for (const b of v.blocks || []) {
    if (b.type !== "input") continue;
    const e = b.element || {};
    const el = form.querySelector(`#in-${CSS.escape(b.block_id)}`);
    if (!el) continue;
    let value = { type: e.type };
    switch (e.type) {
      case "plain_text_input": value.value = el.value === "" ? null : el.value; break;
      case "static_select": {
        const o = optionsOf(e).find((o) => o.value === el.value);
        value.selected_option = o || null;
        break;
      }
      case "checkboxes":
        value.selected_options = e.options.filter((o) => el.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
        break;
      case "radio_buttons":
        value.selected_option = e.options.find((o) => el.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked) || null;
        break;
      case "datetimepicker": value.selected_date_time = el.value ? Math.floor(new Date(el.value).getTime() / 1000) : null; break;
      case "datepicker": value.selected_date = el.value || null; break;
      case "timepicker": value.selected_time = el.value || null; break;
      default: continue;
    }
    values[b.block_id] = { [e.action_id || "value"]: value };
  }
  return values;
}

async function submitModal(id, v, form) {
  const answer = await act("/submit", { view_id: id, values: modalValues(v, form) });
  for (const err of form.querySelectorAll(".field-error")) { err.hidden = true; err.textContent = ""; }
  if (answer && answer.errors) {
    for (const [block, text] of Object.entries(answer.errors)) {
      const err = form.querySelector(`[data-block="${CSS.escape(block)}"] .field-error`);
      if (err) { err.textContent = text; err.hidden = false; }
    }
  }
}

// ---- reactions picker, threads ----

function openPicker(ev, m) {
  const picker = $("picker");
  const names = [...new Set(state.tags.map((t) => t.emoji).concat(["+1", "eyes"]))];
  picker.replaceChildren(...names.map((name) => h("button", { type: "button", "data-emoji": name, title: ":" + name + ":",
    onclick: () => { picker.hidden = true; act("/react", { channel: m.channel, ts: m.ts, emoji: name, add: true }); } }, emoji(name))));
  const r = ev.currentTarget.getBoundingClientRect();
  picker.style.top = `${Math.min(r.bottom + 4, innerHeight - 120)}px`;
  picker.style.left = `${Math.max(8, r.right - 180)}px`;
  picker.hidden = false;
  ev.stopPropagation();
}

// A small menu of [label, action] items under the clicked button.
function openMenu(ev, items) {
  const picker = $("picker");
  picker.replaceChildren(...items.map(([label, run]) => h("button", { type: "button", class: "menu-item",
    onclick: () => { picker.hidden = true; run(); } }, label)));
  const r = ev.currentTarget.getBoundingClientRect();
  picker.style.top = `${Math.min(r.bottom + 4, innerHeight - 120)}px`;
  picker.style.left = `${Math.max(8, r.right - 220)}px`;
  picker.hidden = false;
  ev.stopPropagation();
}

// "Run workflow": a workflow whose step is "Declare an incident", run by
// the person chosen at the top.
function openWorkflow() {
  const title = h("input", { id: "wf-title", type: "text", placeholder: "What is broken" });
  const severity = h("input", { id: "wf-severity", type: "text", placeholder: "SEV2 (empty: the least severe)" });
  const layer = $("modal-layer");
  const form = h("form", { id: "workflow-form" },
    h("p", { class: "hint" }, "A Workflow Builder workflow with warroom's step “Declare an incident”; the declarer is you."),
    h("div", { class: "input" }, h("label", { class: "lbl", for: "wf-title" }, "Title"), title),
    h("div", { class: "input" }, h("label", { class: "lbl", for: "wf-severity" }, "Severity"), severity));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    layer.hidden = true; shownView = null;
    await act("/workflow", { title: title.value, severity: severity.value });
  });
  layer.replaceChildren(h("div", { class: "modal", role: "dialog", "aria-modal": "true" }, h("h2", {}, "Run workflow"), form,
    h("footer", {}, h("button", { type: "button", onclick: () => { layer.hidden = true; shownView = null; render(); } }, "Cancel"),
      h("button", { type: "submit", class: "primary", id: "workflow-run", form: "workflow-form" }, "Run"))));
  layer.hidden = false;
  shownView = "workflow";
}

function replyTo(ts) {
  threadTs = ts;
  $("thread-target").hidden = false;
  $("composer").focus();
}

// ---- talking to the playground ----

async function act(path, body) {
  $("error").hidden = true;
  try {
    const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: me, ...body }) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) showError(answer.error || `HTTP ${res.status}`);
    return answer;
  } catch (e) {
    showError("The playground is not answering: " + e.message);
    return null;
  }
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function render() {
  if (!state) return;
  // A private channel the person switched to is not theirs to see.
  if (current !== HOME && !state.channels.some((c) => c.id === current && (!c.private || c.dm_with === me || c.members.includes(me)))) current = state.general;
  renderTop();
  renderChannel();
  renderSidebar();
  renderModal();
}

let fetchedAt = Date.now();
let fetching = false;
let again = false;
async function refresh() {
  if (fetching) { again = true; return; }
  fetching = true;
  try {
    const res = await fetch("/state");
    if (res.ok) { state = await res.json(); fetchedAt = Date.now(); render(); }
  } catch (e) {
    $("live").classList.add("down");
  } finally {
    fetching = false;
    if (again) { again = false; refresh(); }
  }
}

// Live updates; on a dropped stream, reconnect and fetch the state again.
function follow() {
  const events = new EventSource("/events");
  events.addEventListener("changed", refresh);
  events.onopen = () => { $("live").classList.remove("down"); refresh(); };
  events.onerror = () => {
    $("live").classList.add("down");
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 2000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("person").addEventListener("change", (ev) => {
    me = ev.target.value;
    localStorage.setItem("person", me);
    shownView = null;
    if (current === HOME) act("/home", {});
    render();
  });
  $("plus15").addEventListener("click", () => act("/clock", { minutes: 15 }));
  $("plus30").addEventListener("click", () => act("/clock", { minutes: 30 }));
  $("plus1d").addEventListener("click", () => act("/clock", { minutes: 24 * 60 }));
  $("shortcuts").addEventListener("click", (ev) => openMenu(ev, [
    ["Declare an incident", () => act("/shortcut", { callback_id: "declare" })],
    ["Run workflow…", openWorkflow],
  ]));
  $("fire-alert").addEventListener("click", () => act("/alert", { resolve: false }));
  $("resolve-alert").addEventListener("click", () => act("/alert", { resolve: true }));
  $("fire-warning").addEventListener("click", () => act("/alert", { kind: "warning" }));
  $("thread-cancel").addEventListener("click", () => { threadTs = null; $("thread-target").hidden = true; });
  $("composer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const box = $("composer");
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    await act("/send", { channel: current, text, thread_ts: threadTs });
  });
  $("composer").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("composer-form").requestSubmit(); }
  });
  document.addEventListener("click", (ev) => { if (!$("picker").contains(ev.target)) $("picker").hidden = true; });
  setInterval(() => state && renderTop(), 15000);
  fetch("/emoji.json").then((r) => r.json()).then((table) => { EMOJI = table; render(); }).catch(() => {});
  if (current === HOME) act("/home", {});
  follow();
});
