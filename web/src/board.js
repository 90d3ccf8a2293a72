// The canvas: one card per widget, positioned on the grid, dragged by its header, resized by
// its corner handle, moved and resized with the arrow keys (Shift: resize) when focused.
import { drawChart } from "./chart.js";
import { CELL, plainText } from "./model.js";
import { TextBinding } from "./text.js";
import { h, icon, iconButton, fill } from "./ui.js";

const TYPE_ICON = { text: "T", chart: "▮", table: "▦", image: "▣", video: "▶", embed: "⧉", custom: "{}" };

function safeUrl(url) {
  try {
    const parsed = new URL(String(url || ""));
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function content(widget) {
  switch (widget.type) {
    case "chart":
      return drawChart(widget);
    case "table": {
      const columns = Array.isArray(widget.data.columns) ? widget.data.columns : [];
      const rows = Array.isArray(widget.data.rows) ? widget.data.rows : [];
      return h(
        "table",
        { class: "data-table" },
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, String(c))))),
        h("tbody", {}, rows.map((r) => h("tr", {}, (Array.isArray(r) ? r : []).map((c) => h("td", {}, String(c)))))),
      );
    }
    case "image": {
      const url = safeUrl(widget.config.url);
      return url ? h("img", { src: url, alt: widget.config.alt || widget.title, class: "media" }) : h("p", { class: "empty" }, "No image yet. Set its URL in the widget's settings.");
    }
    case "video": {
      const url = safeUrl(widget.config.url);
      return url ? h("video", { src: url, controls: true, class: "media" }) : h("p", { class: "empty" }, "No video yet. Set its URL in the widget's settings.");
    }
    case "embed": {
      const url = safeUrl(widget.config.url);
      return url
        ? h("iframe", { src: url, title: widget.title || "Embedded page", sandbox: "allow-scripts allow-same-origin", class: "media", referrerpolicy: "no-referrer" })
        : h("p", { class: "empty" }, "Nothing embedded yet. Set a URL in the widget's settings.");
    }
    default:
      return h("pre", { class: "json" }, JSON.stringify(widget.data, null, 2));
  }
}

export class Board {
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks; // {move, resize, remove, front, settings, history, textDelta, textSelection, focusWidget}
    this.cards = new Map(); // id -> {el, body, sig, binding}
    this.readOnly = false;
    this.doc = null;
  }

  binding(id) {
    const card = this.cards.get(id);
    return card && card.binding;
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.canvas.classList.toggle("read-only", readOnly);
    for (const card of this.cards.values()) if (card.binding) card.binding.setReadOnly(readOnly);
    if (this.doc) this.render(this.doc, { force: true });
  }

  render(doc, { force = false, bodies = null } = {}) {
    this.doc = doc;
    const ids = new Set(doc.layout);
    for (const [id, card] of this.cards) {
      if (!ids.has(id) || !doc.widgets[id]) {
        card.el.remove();
        this.cards.delete(id);
      }
    }
    let maxX = 0;
    let maxY = 0;
    for (const id of doc.layout) {
      const widget = doc.widgets[id];
      if (!widget) continue;
      const p = widget.position;
      maxX = Math.max(maxX, p.x + p.width);
      maxY = Math.max(maxY, p.y + p.height);
      const sig = JSON.stringify([widget.type, widget.title, widget.position, widget.config, widget.data, widget.isLocked, this.readOnly]);
      let card = this.cards.get(id);
      if (!card || force || card.type !== widget.type) {
        if (card) card.el.remove();
        card = this._card(id, widget);
        this.cards.set(id, card);
        this.canvas.append(card.el);
      } else if (card.sig !== sig) {
        this._update(card, id, widget);
      }
      if (card.binding && (bodies === null ? force : bodies.has(id))) card.binding.set(widget.body);
      card.sig = sig;
    }
    this.canvas.style.width = `${(maxX + 12) * CELL}px`;
    this.canvas.style.height = `${(maxY + 12) * CELL}px`;
  }

  _place(el, p) {
    el.style.left = `${p.x * CELL}px`;
    el.style.top = `${p.y * CELL}px`;
    el.style.width = `${p.width * CELL}px`;
    el.style.height = `${p.height * CELL}px`;
    el.style.zIndex = String(p.zIndex || 0);
  }

  _card(id, widget) {
    const title = h("h3", { class: "w-title" }, widget.title || "Untitled");
    const actions = this.readOnly
      ? h("div", { class: "w-actions" }, iconButton("clock", "Who changed this", () => this.hooks.history(id)))
      : h(
          "div",
          { class: "w-actions" },
          iconButton("front", "Bring to front", () => this.hooks.front(id)),
          iconButton("clock", "Who changed this", () => this.hooks.history(id)),
          iconButton("gear", "Widget settings", () => this.hooks.settings(id)),
          iconButton("x", "Remove widget", () => this.hooks.remove(id)),
        );
    const head = h("header", { class: "w-head" }, h("span", { class: "w-type", "aria-hidden": "true" }, TYPE_ICON[widget.type] || "?"), title, widget.isLocked ? icon("lock", "Locked") : null, actions);
    const body = h("div", { class: `w-body w-${widget.type}` });
    const el = h(
      "section",
      { class: "widget", tabindex: 0, "aria-label": `${widget.type} widget: ${widget.title || "Untitled"}`, dataset: { id, type: widget.type } },
      head,
      body,
    );
    const card = { el, body, title, head, type: widget.type, sig: null, binding: null };
    this._place(el, widget.position);
    if (widget.type === "text") {
      const host = h("div", { class: "text-host" });
      body.append(host);
      card.binding = new TextBinding(host, id, {
        readOnly: this.readOnly || widget.isLocked,
        bodyOf: () => (this.doc.widgets[id] || {}).body,
        onDelta: (ops) => this.hooks.textDelta(id, ops),
        onSelection: (range) => this.hooks.textSelection(id, range),
      });
    } else {
      body.append(content(widget));
    }
    if (!this.readOnly) {
      const handle = h("div", { class: "resize", "aria-hidden": "true", title: "Resize" });
      el.append(handle);
      this._drag(head, el, id, "move");
      this._drag(handle, el, id, "resize");
    }
    el.addEventListener("keydown", (event) => this._key(event, id));
    el.addEventListener("focusin", () => this.hooks.focusWidget(id));
    return card;
  }

  _update(card, id, widget) {
    this._place(card.el, widget.position);
    card.title.textContent = widget.title || "Untitled";
    card.el.setAttribute("aria-label", `${widget.type} widget: ${widget.title || "Untitled"}`);
    if (!card.binding) fill(card.body, content(widget));
    else card.binding.setReadOnly(this.readOnly || widget.isLocked);
  }

  _drag(grip, el, id, mode) {
    grip.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest("button")) return;
      const widget = this.doc.widgets[id];
      if (!widget || widget.isLocked) return;
      event.preventDefault();
      grip.setPointerCapture(event.pointerId);
      const start = { x: event.clientX, y: event.clientY, p: { ...widget.position } };
      el.classList.add("dragging");
      const cells = (e) => ({ dx: Math.round((e.clientX - start.x) / CELL), dy: Math.round((e.clientY - start.y) / CELL) });
      const target = (e) => {
        const { dx, dy } = cells(e);
        return mode === "move"
          ? { x: Math.max(0, start.p.x + dx), y: Math.max(0, start.p.y + dy) }
          : { width: Math.max(3, start.p.width + dx), height: Math.max(2, start.p.height + dy) };
      };
      const move = (e) => this._place(el, { ...start.p, ...target(e) });
      const up = (e) => {
        grip.removeEventListener("pointermove", move);
        grip.removeEventListener("pointerup", up);
        grip.removeEventListener("pointercancel", up);
        el.classList.remove("dragging");
        const changes = target(e);
        if (mode === "move") this.hooks.move(id, changes);
        else this.hooks.resize(id, changes);
        this._place(el, this.doc.widgets[id] ? this.doc.widgets[id].position : start.p);
      };
      grip.addEventListener("pointermove", move);
      grip.addEventListener("pointerup", up);
      grip.addEventListener("pointercancel", up);
    });
  }

  _key(event, id) {
    if (event.target !== event.currentTarget || this.readOnly) return;
    const widget = this.doc.widgets[id];
    if (!widget) return;
    const p = widget.position;
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (step) {
      event.preventDefault();
      if (event.shiftKey) this.hooks.resize(id, { width: Math.max(3, p.width + step[0]), height: Math.max(2, p.height + step[1]) });
      else this.hooks.move(id, { x: Math.max(0, p.x + step[0]), y: Math.max(0, p.y + step[1]) });
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.hooks.remove(id);
    } else if (event.key === "Enter") {
      event.preventDefault();
      this.hooks.settings(id);
    }
  }

  preview(doc) {
    // A read-only rendering of a past snapshot, in place of the live widgets.
    const layer = h("div", { class: "preview-layer" });
    for (const id of doc.layout || []) {
      const w = doc.widgets[id];
      if (!w) continue;
      const el = h(
        "section",
        { class: "widget preview", "aria-label": `${w.type} widget: ${w.title}` },
        h("header", { class: "w-head" }, h("span", { class: "w-type", "aria-hidden": "true" }, TYPE_ICON[w.type] || "?"), h("h3", { class: "w-title" }, w.title || "Untitled")),
        h("div", { class: `w-body w-${w.type}` }, w.type === "text" ? h("div", { class: "text-preview" }, plainText(w.body)) : content(w)),
      );
      this._place(el, w.position);
      layer.append(el);
    }
    return layer;
  }
}
