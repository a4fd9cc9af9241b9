/* The botfakes dashboard: the journal live as swimlanes, the simulated world, gates, faults.
 * Talks only to the /_control/ routes of the page's own origin (relative URLs). */
(function () {
  "use strict";

  const $ = (sel) => document.querySelector(sel);
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const state = { hello: null, clock: 0, loadingOlder: false, firstSeq: 1, fakes: new Set(), conns: new Set(), methods: new Set(), worldTimer: 0, worldBusy: false, worldAgain: false, source: null };

  function showError(text) {
    const el = $("#error");
    el.hidden = !text;
    el.textContent = text || "";
  }

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => ({ ok: false, description: "HTTP " + resp.status }));
    if (!data.ok) { const err = new Error(data.description || ("HTTP " + resp.status)); showError(method + " " + path + ": " + err.message); throw err; }
    showError("");
    return data.result;
  }

  function wallClock(e) {
    if (!state.hello) return e.time.toFixed(3);
    const d = new Date((e.time + state.clock) * 1000);
    const p = (n, w) => String(n).padStart(w || 2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
  }

  // -- the timeline ------------------------------------------------------------------------------

  // window.botfakesLanes: the renderer, for the browser console and the browser tests
  const lanes = window.botfakesLanes = new Swimlanes($("#lanes"), {
    maxEvents: 5000,
    timeLabel: wallClock,
    onSelect: (e) => { $("#detail").textContent = JSON.stringify(e, null, 2); },
    onGap: loadGap,
    onTop: () => { if (!lanes.paused) loadOlder(); },
    onFollow: () => updateWindow(),
    onChange: () => updateWindow(),
  });

  function updateWindow() {
    const pending = lanes.pending.length;
    $("#window").textContent = lanes.size + " events in view (bound " + lanes.maxEvents + ")" + (pending ? ", " + pending + " new waiting" : "") + (lanes.follow ? "" : " · scrolled back");
    $("#live").classList.toggle("on", !lanes.follow || pending > 0);
    const status = $("#status");
    if (state.source && state.source.readyState === 1 && state.hello) {
      status.className = "status " + (lanes.paused ? "status-paused" : "status-live");
      status.textContent = lanes.paused ? "paused" : "live";
    }
  }

  function noteSeen(events) {
    let changed = false;
    for (const e of events) {
      if (e.gap) continue;
      if (!state.fakes.has(e.fake)) { state.fakes.add(e.fake); changed = true; }
      if (e.conn && e.fake !== "harness" && !state.conns.has(e.conn)) { state.conns.add(e.conn); changed = true; }
      if (e.method && e.fake !== "harness" && !state.methods.has(e.method) && state.methods.size < 300) { state.methods.add(e.method); changed = true; }
    }
    if (changed) fillFilters();
  }

  function fillOptions(select, values) {
    const current = select.value;
    select.innerHTML = '<option value="">all</option>' + [...values].map((v) => '<option>' + esc(v) + "</option>").join("");
    select.value = current;
  }

  function fillFilters() {
    fillOptions($("#f-fake"), state.fakes);
    const conns = [...state.conns];
    fillOptions($("#f-conn"), conns.slice(-300));
    $("#methods").innerHTML = [...state.methods].sort().map((m) => '<option value="' + esc(m) + '">').join("");
  }

  function applyFilter() {
    lanes.setFilter({ fake: $("#f-fake").value, conn: $("#f-conn").value, method: $("#f-method").value.trim(), outcome: $("#f-outcome").value });
  }
  for (const id of ["#f-fake", "#f-conn", "#f-outcome"]) $(id).addEventListener("change", applyFilter);
  $("#f-method").addEventListener("input", applyFilter);

  $("#pause").addEventListener("click", () => {
    lanes.setPaused(!lanes.paused);
    $("#pause").textContent = lanes.paused ? "Resume" : "Pause";
    $("#pause").classList.toggle("on", lanes.paused);
    updateWindow();
  });
  $("#live").addEventListener("click", () => {
    $("#pause").textContent = "Pause"; $("#pause").classList.remove("on");
    lanes.goLive();
  });
  $("#older").addEventListener("click", loadOlder);

  async function loadOlder() {
    const first = lanes.firstSeq;
    if (state.loadingOlder || first === null || first <= state.firstSeq) return;
    state.loadingOlder = true;
    try {
      const page = await api("GET", "journal/page?before=" + first + "&limit=500");
      state.firstSeq = page.first_seq;
      noteSeen(page.events);
      lanes.prepend(page.events);
    } finally { state.loadingOlder = false; }
  }

  async function loadGap(gap) {
    const page = await api("GET", "journal/page?after=" + (gap.from - 1) + "&before=" + (gap.to + 1) + "&limit=2000");
    noteSeen(page.events);
    lanes.fillGap(gap, page.events);
  }

  // -- the stream --------------------------------------------------------------------------------

  function connect() {
    const source = new EventSource("journal/stream");
    state.source = source;
    source.addEventListener("open", () => { state.hello = null; });  // "live" once hello has come
    source.addEventListener("error", () => {
      const status = $("#status");
      status.className = "status " + (source.readyState === 2 ? "status-down" : "status-connecting");
      status.textContent = source.readyState === 2 ? "disconnected" : "reconnecting…";
    });
    source.addEventListener("hello", (m) => {
      const hello = JSON.parse(m.data);
      const fresh = !state.everConnected;
      state.everConnected = true;
      if (state.epoch !== undefined && hello.epoch !== state.epoch) clearView();  // reset while away
      state.epoch = hello.epoch;
      state.hello = hello;
      state.clock = hello.wall - hello.monotonic;
      state.firstSeq = hello.first_seq;
      $("#fakes").textContent = Object.entries(hello.fakes).map(([n, f]) => n + " " + (f.url || "")).join("  ·  ");
      for (const name of Object.keys(hello.fakes)) state.fakes.add(name);
      fillFilters();
      if (fresh) refreshWorld();
      updateWindow();
    });
    source.addEventListener("events", (m) => {
      const events = JSON.parse(m.data).events;
      noteSeen(events);
      lanes.append(events);
      if (events.some((e) => e.fake === "botapi" && e.kind !== "connect" && e.kind !== "disconnect")) scheduleWorld();
    });
    source.addEventListener("gap", (m) => { const g = JSON.parse(m.data); lanes.addGap(g.from, g.to); });
    source.addEventListener("reset", () => { clearView(); scheduleWorld(); });
    source.addEventListener("owners", (m) => lanes.setOwners(JSON.parse(m.data)));
    source.addEventListener("stats", (m) => showStats(JSON.parse(m.data)));
  }

  function clearView() {
    lanes.clear();
    state.conns.clear();
    state.methods.clear();
    fillFilters();
    $("#detail").textContent = "The journal was reset.";
  }

  $("#reset").addEventListener("click", async () => {
    await api("POST", "reset");
    clearView();
    refreshStats();
    refreshWorld();
  });

  // -- counters, gates, fault rules --------------------------------------------------------------

  const BAD_COUNTER = /409|406|locked|concurren|fault|fail|429/i;

  async function refreshStats() { showStats(await api("GET", "stats")); }

  function showStats(stats) {
    const counters = stats.counters || {};
    const rows = Object.entries(counters);
    rows.push(["journal.events", stats.journal.events], ["journal.last_seq", stats.journal.last_seq]);
    if (stats.journal.dropped) rows.push(["journal.dropped", stats.journal.dropped]);
    $("#counters").innerHTML = rows.map(([k, v]) => '<tr class="' + (BAD_COUNTER.test(k) && v ? "bad" : "") + '"><td>' + esc(k) + "</td><td>" + esc(v) + "</td></tr>").join("") || '<tr><td class="muted">no counts yet</td></tr>';
    const conflicts = Object.entries(counters).filter(([k]) => /409|406/.test(k)).reduce((a, [, v]) => a + v, 0);
    $("#summary").innerHTML = stats.journal.events + " events" + (conflicts ? ' · <span class="bad">' + conflicts + " conflict(s) 409/406</span>" : "");
    showGates(stats.gates || []);
    showFaults(stats.faults || []);
  }

  function matchText(m) {
    return ["fake", "method", "conn", "stage"].filter((k) => m[k]).map((k) => k + "=" + m[k]).join(" ") + (m.params && Object.keys(m.params).length ? " params=" + JSON.stringify(m.params) : "");
  }

  function showGates(gates) {
    $("#gates").innerHTML = gates.length ? gates.map((g) => {
      const held = (g.held_requests || []).map((h) => h.method + " on " + h.conn + " (#" + h.request + ")").join(", ");
      return '<div class="gate' + (g.held ? " gate-held" : "") + '" data-gate="' + esc(g.id) + '"><span class="actions">'
        + '<button class="release" data-gate="' + esc(g.id) + '"' + (g.held ? "" : " disabled") + ">Release</button>"
        + '<button class="remove" data-gate="' + esc(g.id) + '" title="remove the gate (lets go what it holds)">✕</button></span>'
        + "<b>" + esc(g.id) + "</b> <code>" + esc(matchText(g)) + "</code><br>"
        + "holds <b class=\"held-count\">" + g.held + "</b>" + (g.count ? " of " + g.count : " until released") + ", order " + esc(JSON.stringify(g.order))
        + (g.armed ? "" : " · disarmed") + " · " + g.total_held + " held so far"
        + (held ? '<br><span class="muted">' + esc(held) + "</span>" : "") + "</div>";
    }).join("") : '<p class="muted">No gates.</p>';
  }

  function showFaults(rules) {
    $("#faults").innerHTML = rules.length ? rules.map((r) => '<div class="rule"><span class="actions"><button class="remove-rule" data-rule="' + esc(r.id) + '">✕</button></span><b>' + esc(r.id) + "</b> " + esc(r.action) + " <code>" + esc(matchText(r)) + "</code><br><code>" + esc(JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !["id", "action", "fake", "method", "conn", "params", "stage"].includes(k))))) + "</code></div>").join("") : '<p class="muted">No fault rules.</p>';
  }

  document.addEventListener("click", async (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.matches(".gate button.release")) { await api("POST", "gates/" + encodeURIComponent(t.dataset.gate) + "/release", {}); refreshStats(); }
    else if (t.matches(".gate button.remove")) { await api("DELETE", "gates/" + encodeURIComponent(t.dataset.gate)); refreshStats(); }
    else if (t.matches("button.remove-rule")) { await api("DELETE", "faults/" + encodeURIComponent(t.dataset.rule)); refreshStats(); }
  });

  function jsonFrom(id) {
    try { return JSON.parse($(id).value); } catch (err) { showError("not JSON: " + err.message); throw err; }
  }
  $("#gate-add").addEventListener("click", async () => { await api("POST", "gates", jsonFrom("#gate-json")); refreshStats(); });
  $("#fault-add").addEventListener("click", async () => { await api("POST", "faults", jsonFrom("#fault-json")); refreshStats(); });

  // -- the world ---------------------------------------------------------------------------------

  // The world is fetched after what may change it, at most once a second under load (each fetch
  // is work on the fakes' loop).
  function scheduleWorld() {
    if (state.worldTimer) return;
    const wait = Math.max(250, 1000 - (Date.now() - (state.worldAt || 0)));
    state.worldTimer = setTimeout(() => { state.worldTimer = 0; state.worldAt = Date.now(); refreshWorld(); }, wait);
  }

  async function refreshWorld() {
    if (state.worldBusy) { state.worldAgain = true; return; }
    state.worldBusy = true;
    try {
      renderWorld(await api("GET", "dashboard/world"));
    } catch (err) { /* shown by api() */ } finally {
      state.worldBusy = false;
      if (state.worldAgain) { state.worldAgain = false; scheduleWorld(); }
    }
  }

  function keyboardOf(message) {
    const rows = message.reply_markup && message.reply_markup.inline_keyboard;
    if (!Array.isArray(rows)) return "";
    const buttons = rows.flat().filter((b) => b && b.callback_data !== undefined);
    return buttons.length ? '<div class="keyboard">' + buttons.map((b) => '<button class="press" data-data="' + esc(b.callback_data) + '" data-message="' + message.message_id + '">' + esc(b.text) + "</button>").join("") + "</div>" : "";
  }

  function messagesHtml(bot, chat) {
    const parts = chat.messages.map((m) => {
      const mine = m.from && m.from.id === bot.id;
      const who = mine ? "@" + bot.username : (m.from ? m.from.first_name : "?");
      return '<div class="msg ' + (mine ? "msg-bot" : "msg-user") + '"><span class="who">' + esc(who) + " · #" + m.message_id + (m.edit_date ? " · edited" : "") + "</span>" + esc(m.text || m.caption || "[" + Object.keys(m).filter((k) => !["message_id", "from", "chat", "date"].includes(k)).join(", ") + "]") + (mine ? keyboardOf(m) : "") + "</div>";
    });
    for (const a of chat.actions) parts.push('<div class="msg-action">' + esc(a.method + (a.text ? ": " + a.text : a.action ? ": " + a.action : "")) + "</div>");
    return parts.join("") || '<p class="muted">No messages yet.</p>';
  }

  function renderWorld(world) {
    const root = $("#world");
    if (!world.bots.length) { root.innerHTML = '<p class="muted">No Bot API fake.</p>'; return; }
    const seen = new Set();
    for (const bot of world.bots) {
      seen.add(bot.token);
      let el = root.querySelector('.bot[data-token="' + CSS.escape(bot.token) + '"]');
      if (!el) {
        el = document.createElement("div");
        el.className = "bot";
        el.dataset.token = bot.token;
        el.innerHTML = '<div class="bot-head"><b></b><span class="bot-mode"></span></div><div class="chats"></div>'
          + '<div class="compose new-chat"><input class="first-name" placeholder="new user (name)" size="10"><input class="text" placeholder="a new user writes… e.g. /start"><button class="send">Send</button></div>';
        root.querySelector(".muted") && root.querySelector(".muted").remove();
        root.appendChild(el);
      }
      el.querySelector(".bot-head b").textContent = "@" + bot.username + " (" + bot.first_name + ")";
      el.querySelector(".bot-mode").textContent = (bot.webhook ? "webhook " + bot.webhook : bot.polling ? "polling now" : "not polling") + " · " + bot.pending_update_count + " pending · id " + bot.id;
      const chatsEl = el.querySelector(".chats");
      const chatSeen = new Set();
      for (const chat of bot.chats) {
        chatSeen.add(String(chat.id));
        let c = chatsEl.querySelector('.chat[data-chat="' + chat.id + '"]');
        if (!c) {
          c = document.createElement("div");
          c.className = "chat";
          c.dataset.chat = chat.id;
          c.innerHTML = '<div class="chat-title"><span></span><small></small></div><div class="messages"></div><div class="compose"><input class="text" placeholder="write as this user… e.g. /start"><button class="send">Send</button></div>';
          chatsEl.appendChild(c);
        }
        c.dataset.user = chat.user ? chat.user.id : "";
        c.dataset.type = chat.type;
        c.querySelector(".chat-title span").textContent = chat.title + (chat.type === "private" ? "" : " (" + chat.type + ")");
        c.querySelector(".chat-title small").textContent = "chat " + chat.id + " · " + chat.message_count + " messages";
        const html = messagesHtml(bot, chat);
        const box = c.querySelector(".messages");
        if (box.dataset.sig !== html) {
          const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
          box.innerHTML = html;
          box.dataset.sig = html;
          if (atEnd || !box.dataset.seen) box.scrollTop = box.scrollHeight;
          box.dataset.seen = "1";
        }
      }
      for (const c of [...chatsEl.children]) if (!chatSeen.has(c.dataset.chat)) c.remove();
    }
    for (const el of [...root.querySelectorAll(".bot")]) if (!seen.has(el.dataset.token)) el.remove();
  }

  async function sendFrom(compose) {
    const botEl = compose.closest(".bot");
    const chatEl = compose.closest(".chat");
    const input = compose.querySelector("input.text");
    const text = input.value;
    if (!text) return;
    const body = { text };
    if (chatEl) {
      if (chatEl.dataset.type === "private") body.user = { id: Number(chatEl.dataset.user) };
      else body.chat = { type: chatEl.dataset.type, id: Number(chatEl.dataset.chat) };
    } else {
      const name = compose.querySelector("input.first-name").value.trim();
      if (name) body.user = { first_name: name };
    }
    await api("POST", "botapi/bots/" + encodeURIComponent(botEl.dataset.token) + "/messages", body);
    input.value = "";
    const name = compose.querySelector("input.first-name");
    if (name) name.value = "";
    refreshWorld();
  }

  $("#world").addEventListener("click", async (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.matches(".compose button.send")) await sendFrom(t.closest(".compose"));
    else if (t.matches(".keyboard button.press")) {
      const chatEl = t.closest(".chat");
      const body = { data: t.dataset.data, message_id: Number(t.dataset.message) };
      if (chatEl.dataset.type === "private") body.user = { id: Number(chatEl.dataset.user) };
      else body.chat = { type: chatEl.dataset.type, id: Number(chatEl.dataset.chat) };
      await api("POST", "botapi/bots/" + encodeURIComponent(t.closest(".bot").dataset.token) + "/callback_queries", body);
      refreshWorld();
    }
  });
  $("#world").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.matches && ev.target.matches(".compose input")) sendFrom(ev.target.closest(".compose"));
  });

  connect();
  refreshStats().catch(() => {});
})();
