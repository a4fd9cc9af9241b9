/* Swimlanes: the botfakes journal drawn as a sequence diagram.
 *
 * One lane per connection, grouped by fake and by instance (the bot process, where known), the
 * fake itself as the rightmost column of its group. Time runs down, one row per event in journal
 * order: requests are arrows from the lane to the fake, responses arrows back (red when the
 * outcome is an error; the races' tell-tale errors — 409, 406, "database is locked",
 * ConcurrencyError — on a red band), pushes arrows from the fake, a gate's hold a bar on the lane
 * from "held" to "released" with the release turn. Only the rows in view are drawn, so a window of
 * thousands of events scrolls freely.
 *
 * Shared by the live dashboard and report.html (which inlines this file); no dependencies.
 *   const lanes = new Swimlanes(element, {follow, maxEvents, highlight, onSelect, onGap, timeLabel});
 *   lanes.append(events); lanes.setOwners({conn: {pid, label}}); lanes.setFilter({fake, ...});
 */
(function (root) {
  "use strict";

  const ROW = 22, GUTTER = 118, LANE = 156, SERVER = 132, HEAD = 44, CHAR = 6.6, RIGHT = 200, LAYOUT_EVERY = 200;
  const CRITICAL = /\b409\b|\b406\b|Conflict|AUTH_KEY_DUPLICATED|database is locked|ConcurrencyError|another coroutine is already running recv/i;
  const SVGNS = "http://www.w3.org/2000/svg";

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function clip(text, width) {
    const n = Math.max(0, Math.floor(width / CHAR));
    text = String(text);
    return text.length <= n ? text : (n > 1 ? text.slice(0, n - 1) + "…" : "");
  }
  function ordinal(n) {
    const s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  /** "crit" | "err" | "ok" | "" : how an event's outcome is marked. */
  function classify(e) {
    const o = e.outcome;
    const text = o ? (o.code + " " + (o.text || "")) : "";
    if (e.kind === "note") {
      const words = e.method + " " + JSON.stringify(e.data || {});
      return CRITICAL.test(words) ? "crit" : "";
    }
    if (e.kind === "fault") return "err";
    if (!o) return "";
    if (o.ok) return "ok";
    return CRITICAL.test(text) ? "crit" : "err";
  }

  function outcomeText(o) {
    if (!o) return "";
    return o.ok ? "ok" : (o.code + " " + (o.text || "")).trim();
  }

  function brief(params) {
    if (!params || typeof params !== "object") return "";
    const parts = [];
    for (const k of Object.keys(params)) {
      if (k === "bot_id") continue;
      let v = params[k];
      v = typeof v === "string" ? v : JSON.stringify(v);
      parts.push(k + "=" + (v.length > 18 ? v.slice(0, 17) + "…" : v));
      if (parts.length >= 3) break;
    }
    return parts.join(", ");
  }

  /** One line saying what an event is, for labels and tooltips. */
  function describe(e) {
    const d = e.data || {};
    switch (e.kind) {
      case "request": { const b = brief(d.params); return e.method + (b ? "(" + b + ")" : ""); }
      case "response": return outcomeText(e.outcome) + (e.method ? "  ← " + e.method : "");
      case "push": return "push " + e.method + (e.outcome && !e.outcome.ok ? " → " + outcomeText(e.outcome) : "");
      case "connect": return "connect" + (d.peer ? " from " + d.peer : "");
      case "disconnect": return "disconnect" + (d.reason ? ": " + d.reason : "");
      case "fault": return "fault: " + (d.action || "") + " (rule " + (d.rule || "?") + ") on " + e.method;
      case "gate":
        if (d.action === "held") return "held at " + d.gate + " (" + (d.held_now || "?") + " held)";
        if (d.action === "released") return d.turn >= 0 ? "released " + ordinal(d.turn + 1) + " by " + d.gate + " (arrived " + ordinal(d.position + 1) + ")" : "let go by " + d.gate;
        return (d.action || "gate") + " " + (d.gate || "");
      case "note": {
        const rest = brief(d);
        return (e.fake === "harness" && e.conn ? e.conn + ": " : "") + e.method + (rest ? " · " + rest : "");
      }
      default: return e.kind + " " + e.method;
    }
  }

  class Swimlanes {
    constructor(element, options) {
      const opts = options || {};
      this.opts = opts;
      this.maxEvents = opts.maxEvents || 5000;
      this.items = [];        // events and gaps ({gap: {from, to}}) in journal order
      this.pending = [];      // events that arrived while paused or scrolled back over the bound
      this.owners = {};
      this.filter = {};
      this.highlight = new Set(opts.highlight || []);
      this.follow = opts.follow !== false;
      this.paused = false;
      this.selected = null;
      this.rows = [];
      this.columns = [];
      this._frame = 0;
      this._relayout = false;
      this.el = element;
      element.classList.add("sl");
      element.innerHTML = '<div class="sl-scroll"><div class="sl-head"></div><div class="sl-body"><svg class="sl-rows" xmlns="' + SVGNS + '"></svg></div><div class="sl-empty">No events yet.</div></div>';
      this.scroller = element.querySelector(".sl-scroll");
      this.head = element.querySelector(".sl-head");
      this.body = element.querySelector(".sl-body");
      this.svg = element.querySelector(".sl-rows");
      this.empty = element.querySelector(".sl-empty");
      this._programmaticScroll = false;
      this.scroller.addEventListener("scroll", () => this._onScroll());
      this.svg.addEventListener("click", (ev) => this._onClick(ev));
    }

    // -- data ------------------------------------------------------------------------------------

    /** New events at the end (live). Bounded: the oldest leave when following the live edge. */
    append(events) {
      if (!events.length) return;
      if (this.paused || (!this.follow && this.items.length + events.length > this.maxEvents)) {
        for (const e of events) this.pending.push(e);
        if (this.pending.length > this.maxEvents) {
          // Still bounded while paused: what overflows becomes a gap that can be loaded later.
          const cut = this.pending.splice(0, this.pending.length - this.maxEvents);
          const first = cut[0].gap ? cut[0].gap.from : cut[0].seq;
          const lastCut = cut[cut.length - 1];
          this.pending.unshift({ gap: { from: first, to: lastCut.gap ? lastCut.gap.to : lastCut.seq } });
        }
        this._changed();
        return;
      }
      for (const e of events) this.items.push(e);
      this._trim();
      this._schedule(true);
    }

    /** Older events at the start (scroll-back). Keeps the rows in view where they are. */
    prepend(events) {
      if (!events.length) return;
      const before = this.rows.length;
      this.items = events.concat(this.items);
      if (this.items.length > this.maxEvents) {
        this.items.length = this.maxEvents;   // drop the newest: the view has left the live edge
        this.pending = [];
        this.follow = false;
        this._followChanged();
      }
      this._layout();
      this.scroller.scrollTop += (this.rows.length - before) * ROW;
      this._render();
    }

    /** Replace a gap row with the events it stood for (as far as they were loaded). */
    fillGap(gap, events) {
      const i = this.items.findIndex((x) => x.gap && x.gap.from === gap.from && x.gap.to === gap.to);
      if (i < 0) return;
      const rest = [];
      if (events.length && events[events.length - 1].seq < gap.to) rest.push({ gap: { from: events[events.length - 1].seq + 1, to: gap.to } });
      this.items.splice(i, 1, ...events, ...rest);
      this._schedule(true);
    }

    addGap(from, to) { this.append([{ gap: { from, to } }]); }

    setEvents(events) { this.items = events.slice(); this.pending = []; this._trim(); this._schedule(true); }

    clear() { this.items = []; this.pending = []; this.selected = null; this._schedule(true); }

    setOwners(owners) { Object.assign(this.owners, owners); this._schedule(true); }

    setFilter(filter) { this.filter = Object.assign({}, filter); this._schedule(true); }

    setPaused(paused) {
      this.paused = paused;
      if (!paused && this.follow) this._flushPending();
      this._changed();
    }

    /** Back to the live edge: take what is pending and scroll to the newest event. */
    goLive() {
      this.follow = true;
      this.paused = false;
      this._flushPending();
      this._followChanged();
      this._schedule(true);
    }

    get firstSeq() { const e = this.items.find((x) => !x.gap); return e ? e.seq : null; }
    get lastSeq() {
      const all = this.pending.length ? this.pending : this.items;
      for (let i = all.length - 1; i >= 0; i--) if (!all[i].gap) return all[i].seq;
      return null;
    }
    get size() { return this.items.length; }

    _flushPending() {
      if (!this.pending.length) return;
      for (const e of this.pending) this.items.push(e);
      this.pending = [];
      this._trim();
    }

    _trim() {
      if (this.items.length > this.maxEvents) this.items.splice(0, this.items.length - this.maxEvents);
    }

    // -- layout ----------------------------------------------------------------------------------

    _matches(e) {
      if (e.gap) return true;
      const f = this.filter;
      if (f.fake && e.fake !== f.fake && e.fake !== "harness") return false;
      if (f.conn && e.conn !== f.conn && e.fake !== "harness") return false;
      if (f.method && e.method.toLowerCase().indexOf(f.method.toLowerCase()) < 0) return false;
      if (f.outcome) {
        const c = classify(e);
        if (f.outcome === "errors" && c !== "err" && c !== "crit") return false;
        if (f.outcome === "critical" && c !== "crit") return false;
        if (f.outcome === "ok" && c !== "ok") return false;
      }
      return true;
    }

    instanceOf(e) {
      const owner = this.owners[e.conn];
      if (owner) return { key: "pid " + owner.pid, label: owner.label };
      if (e.instance && e.instance !== "?") return { key: "i " + e.instance, label: "instance " + e.instance };
      return { key: "?", label: e.conn ? "process not known" : "" };
    }

    _layout() {
      const rows = this.items.filter((e) => this._matches(e));
      this.rows = rows;
      // columns: per fake (in order of appearance), its lanes grouped by instance, then the fake
      const fakes = new Map();
      for (const e of rows) {
        if (e.gap || e.fake === "harness") continue;
        let f = fakes.get(e.fake);
        if (!f) { f = { fake: e.fake, groups: new Map(), lanes: new Set() }; fakes.set(e.fake, f); }
        if (!e.conn || f.lanes.has(e.conn)) continue;
        f.lanes.add(e.conn);
        const inst = this.instanceOf(e);
        let g = f.groups.get(inst.key);
        if (!g) { g = { label: inst.label, conns: [] }; f.groups.set(inst.key, g); }
        g.conns.push(e.conn);
      }
      const columns = [], laneX = {}, serverX = {}, groups = [];
      let x = GUTTER;
      for (const f of fakes.values()) {
        const groupStart = x;
        for (const g of f.groups.values()) {
          const start = x;
          for (const conn of g.conns) {
            columns.push({ kind: "lane", fake: f.fake, conn, x: x + LANE / 2 });
            laneX[f.fake + "\u0000" + conn] = x + LANE / 2;
            x += LANE;
          }
          groups.push({ label: f.fake + (g.label ? " · " + g.label : ""), x0: start, x1: x });
        }
        columns.push({ kind: "server", fake: f.fake, x: x + SERVER / 2, x0: groupStart });
        serverX[f.fake] = x + SERVER / 2;
        if (!f.groups.size) groups.push({ label: f.fake, x0: x, x1: x + SERVER });
        x += SERVER;
      }
      this.columns = columns;
      this.laneX = laneX;
      this.serverX = serverX;
      this.groups = groups;
      this.width = Math.max(x + RIGHT, 480);  // labels may run past the last fake's column
      // spans: lane lifetimes, request→response activations, gate holds (row indices)
      const life = {}, requestRow = {}, activations = [], heldRow = {}, holds = [];
      rows.forEach((e, i) => {
        if (e.gap) return;
        const key = e.fake + "\u0000" + e.conn;
        if (e.conn && laneX[key] !== undefined) {
          const l = life[key] || (life[key] = { from: 0, to: rows.length });
          if (e.kind === "connect") l.from = i;
          if (e.kind === "disconnect") l.to = i;
        }
        if (e.kind === "request") requestRow[e.seq] = i;
        else if (e.kind === "response" && requestRow[e.request] !== undefined) {
          activations.push({ key, from: requestRow[e.request], to: i, cls: classify(e) });
          delete requestRow[e.request];
        } else if (e.kind === "gate" && e.data && e.data.action === "held") heldRow[e.request] = { i, key, gate: e.data.gate };
        else if (e.kind === "gate" && e.data && e.data.action === "released" && heldRow[e.request]) {
          const h = heldRow[e.request];
          holds.push({ key: h.key, from: h.i, to: i, turn: e.data.turn, gate: h.gate });
          delete heldRow[e.request];
        }
      });
      for (const seq in requestRow) {
        const e = rows[requestRow[seq]];
        activations.push({ key: e.fake + "\u0000" + e.conn, from: requestRow[seq], to: rows.length, cls: "open" });
      }
      for (const r in heldRow) holds.push({ key: heldRow[r].key, from: heldRow[r].i, to: rows.length, turn: -1, gate: heldRow[r].gate, open: true });
      this.life = life;
      this.activations = activations;
      this.holds = holds;
      this.body.style.height = rows.length * ROW + "px";
      this.body.style.width = this.width + "px";
      this.head.style.width = this.width + "px";
      this.empty.style.display = rows.length ? "none" : "block";
      this._renderHead();
    }

    _renderHead() {
      let s = '<svg xmlns="' + SVGNS + '" width="' + this.width + '" height="' + HEAD + '">';
      s += '<text class="sl-gh" x="6" y="16">time · seq</text>';
      for (const g of this.groups) {
        s += '<rect class="sl-group" x="' + (g.x0 + 2) + '" y="2" width="' + (g.x1 - g.x0 - 4) + '" height="18" rx="3"></rect>';
        s += '<text class="sl-gh" x="' + (g.x0 + 8) + '" y="15"><title>' + esc(g.label) + "</title>" + esc(clip(g.label, g.x1 - g.x0 - 16)) + "</text>";
      }
      for (const c of this.columns) {
        const label = c.kind === "lane" ? c.conn : c.fake + " (fake)";
        const w = c.kind === "lane" ? LANE : SERVER;
        s += '<text class="sl-lh ' + (c.kind === "server" ? "sl-server" : "") + '" x="' + c.x + '" y="36" text-anchor="middle">' + esc(clip(label, w - 8)) + "</text>";
      }
      this.head.innerHTML = s + "</svg>";
    }

    // -- drawing ---------------------------------------------------------------------------------

    _schedule(relayout) {
      this._relayout = this._relayout || relayout;
      if (this._frame) return;
      // Draw at once when idle (a live event must show without waiting for a frame); under a
      // burst, at most every LAYOUT_EVERY ms, since a layout walks the whole window.
      const since = Date.now() - (this._laidOutAt || 0);
      if (since >= LAYOUT_EVERY) { this._run(); return; }
      this._frame = setTimeout(() => { this._frame = 0; this._run(); }, LAYOUT_EVERY - since);
    }

    _run() {
      this._laidOutAt = Date.now();
      if (this._relayout) { this._relayout = false; this._layout(); }
      if (this.follow && !this.paused) this._scrollToEnd();
      this._render();
      this._changed();
    }

    /** Lay out and draw now (tests and the static report call this). */
    flush() { if (this._frame) { clearTimeout(this._frame); this._frame = 0; } this._relayout = true; this._run(); }

    _scrollToEnd() {
      const top = Math.max(0, this.scroller.scrollHeight - this.scroller.clientHeight);
      if (Math.abs(this.scroller.scrollTop - top) > 1) { this._programmaticScroll = true; this.scroller.scrollTop = top; }
    }

    _onScroll() {
      if (this._programmaticScroll) { this._programmaticScroll = false; this._render(); return; }
      const atEnd = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - ROW;
      if (atEnd !== this.follow) {
        this.follow = atEnd;
        if (atEnd && !this.paused) { this._flushPending(); this._schedule(true); }
        this._followChanged();
      }
      if (this.scroller.scrollTop <= 0 && this.opts.onTop) this.opts.onTop();
      this._render();
    }

    _followChanged() { if (this.opts.onFollow) this.opts.onFollow(this.follow); }
    _changed() { if (this.opts.onChange) this.opts.onChange(this); }

    _onClick(ev) {
      const target = ev.target.closest("[data-row]");
      if (!target) return;
      const item = this.rows[Number(target.getAttribute("data-row"))];
      if (!item) return;
      if (item.gap) { if (this.opts.onGap) this.opts.onGap(item.gap); return; }
      this.selected = item.seq;
      this._render();
      if (this.opts.onSelect) this.opts.onSelect(item);
    }

    timeLabel(e) {
      if (this.opts.timeLabel) return this.opts.timeLabel(e);
      const first = this.items.find((x) => !x.gap);
      return "+" + (e.time - (first ? first.time : e.time)).toFixed(3) + "s";
    }

    _render() {
      const view = this.scroller.clientHeight || 400;
      const top = Math.max(0, this.scroller.scrollTop - HEAD);
      const first = Math.max(0, Math.floor(top / ROW) - 5);
      const last = Math.min(this.rows.length, Math.ceil((top + view) / ROW) + 5);
      const y0 = first * ROW;
      this.svg.setAttribute("width", this.width);
      this.svg.setAttribute("height", Math.max(0, last - first) * ROW);
      this.svg.style.top = y0 + "px";
      const parts = [];
      const Y = (i) => (i - first) * ROW;
      // row bands: selection, forced race, critical errors
      for (let i = first; i < last; i++) {
        const e = this.rows[i];
        let cls = "";
        if (e.gap) cls = "sl-band-gap";
        else if (e.seq === this.selected) cls = "sl-band-sel";
        else if (classify(e) === "crit") cls = "sl-band-crit";
        else if (this.highlight.has(e.seq)) cls = "sl-band-race";
        parts.push('<rect data-row="' + i + '" class="sl-band ' + cls + '" x="0" y="' + Y(i) + '" width="' + this.width + '" height="' + ROW + '"></rect>');
      }
      // lane lines and server columns
      for (const c of this.columns) {
        if (c.kind === "server") {
          parts.push('<line class="sl-srvline" x1="' + c.x + '" x2="' + c.x + '" y1="0" y2="' + (last - first) * ROW + '"></line>');
          continue;
        }
        const l = this.life[c.fake + "\u0000" + c.conn] || { from: 0, to: this.rows.length };
        const a = Math.max(first, l.from), b = Math.min(last, l.to + 1);
        if (b > a) parts.push('<line class="sl-lane" x1="' + c.x + '" x2="' + c.x + '" y1="' + (Y(a) + (a === l.from ? ROW / 2 : 0)) + '" y2="' + (Y(b) - (b === l.to + 1 ? ROW / 2 : 0)) + '"></line>');
      }
      // request→response activations and gate holds
      for (const s of this.activations) {
        if (s.to < first || s.from >= last) continue;
        const x = this.laneX[s.key];
        if (x === undefined) continue;
        const a = Math.max(first, s.from), b = Math.min(last, s.to + 1);
        parts.push('<rect class="sl-act sl-act-' + s.cls + '" x="' + (x - 3) + '" y="' + (Y(a) + (a === s.from ? ROW / 2 : 0)) + '" width="6" height="' + Math.max(1, (b - a) * ROW - (a === s.from ? ROW / 2 : 0) - (b === s.to + 1 ? ROW / 2 : 0)) + '"></rect>');
      }
      for (const h of this.holds) {
        if (h.to < first || h.from >= last) continue;
        const x = this.laneX[h.key];
        if (x === undefined) continue;
        const a = Math.max(first, h.from), b = Math.min(last, h.to + 1);
        const title = "held at " + h.gate + (h.turn >= 0 ? ", released " + ordinal(h.turn + 1) : h.open ? ", still held" : "");
        parts.push('<rect class="sl-hold' + (h.open ? " sl-hold-open" : "") + '" x="' + (x - 9) + '" y="' + (Y(a) + (a === h.from ? ROW / 2 : 0)) + '" width="5" height="' + Math.max(2, (b - a) * ROW - (a === h.from ? ROW / 2 : 0) - (b === h.to + 1 ? ROW / 2 : 0)) + '"><title>' + esc(title) + "</title></rect>");
      }
      for (let i = first; i < last; i++) parts.push(this._row(this.rows[i], i, Y(i) + ROW / 2));
      this.svg.innerHTML = '<defs><marker id="sl-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="sl-head-fill"></path></marker>'
        + '<marker id="sl-arrow-err" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="sl-head-err"></path></marker></defs>' + parts.join("");
    }

    _row(e, i, y) {
      const W = this.width;
      if (e.gap) {
        const n = e.gap.to - e.gap.from + 1;
        return '<text data-row="' + i + '" class="sl-gap" x="' + GUTTER + '" y="' + (y + 4) + '">… ' + n + " event" + (n === 1 ? "" : "s") + " (seq " + e.gap.from + "–" + e.gap.to + ") not shown — click to load</text>";
      }
      const cls = classify(e);
      const text = describe(e);
      const title = "<title>" + esc("#" + e.seq + " " + e.fake + " " + e.conn + " " + e.kind + ": " + text) + "</title>";
      let s = '<g data-row="' + i + '" class="sl-ev sl-' + e.kind + (cls ? " sl-" + cls : "") + '">' + title;
      s += '<text class="sl-time" x="6" y="' + (y + 4) + '">' + esc(this.timeLabel(e)) + '</text><text class="sl-seq" x="' + (GUTTER - 8) + '" y="' + (y + 4) + '" text-anchor="end">' + e.seq + "</text>";
      const sx = this.serverX[e.fake];
      const lx = e.conn ? this.laneX[e.fake + "\u0000" + e.conn] : undefined;
      const marker = cls === "err" || cls === "crit" ? "url(#sl-arrow-err)" : "url(#sl-arrow)";
      if (e.fake === "harness" || sx === undefined) {
        s += '<text class="sl-note-wide" x="' + GUTTER + '" y="' + (y + 4) + '">▸ ' + esc(clip(text, W - GUTTER - 12)) + "</text>";
      } else if ((e.kind === "request" || e.kind === "response" || e.kind === "push") && lx !== undefined) {
        const toServer = e.kind === "request";
        const x1 = toServer ? lx + 4 : sx - 2, x2 = toServer ? sx - 2 : lx + 5;
        s += '<line class="sl-arrow" x1="' + x1 + '" x2="' + x2 + '" y1="' + (y + 3) + '" y2="' + (y + 3) + '" marker-end="' + marker + '"></line>';
        s += '<text class="sl-label" x="' + (lx + 10) + '" y="' + (y - 1) + '">' + esc(clip(text, Math.max(sx - lx - 16, LANE - 16) + SERVER - 12)) + "</text>";
      } else {
        const x = lx !== undefined ? lx : sx;
        const glyph = { connect: "○", disconnect: "✕", fault: "⚡", gate: "◆", note: "✎" }[e.kind] || "•";
        const room = lx !== undefined ? sx - lx - 14 + SERVER - 12 : SERVER / 2 + RIGHT - 16;
        s += '<text class="sl-glyph" x="' + x + '" y="' + (y + 4) + '" text-anchor="middle">' + glyph + "</text>";
        s += '<text class="sl-label" x="' + (x + 9) + '" y="' + (y + 4) + '">' + esc(clip(text, Math.max(room, LANE - 12))) + "</text>";
      }
      return s + "</g>";
    }
  }

  Swimlanes.classify = classify;
  Swimlanes.describe = describe;
  Swimlanes.CRITICAL = CRITICAL;
  root.Swimlanes = Swimlanes;
})(typeof window !== "undefined" ? window : this);
