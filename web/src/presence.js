// Who else is here: the stock client's doc presence on the dashboard (json0's transformPresence
// is selection.js). Each value: {user, name, color, src, pointer, selection}; `selection` is a
// range inside a text widget ({p: ["widgets", id, "body"], index, length}). As in ShareDB, a
// value is sent only when this page has no op waiting for the server, stamped with the version
// it refers to; a value received for a version this page has not reached waits for it, one for
// an older version is carried through the ops since (the server does that too), and a shown
// selection is moved through every op applied to its text, its author's own included, so it
// stays on the same characters while anyone types.
import { COLLECTION } from "./live.js";
import { avatar, h, fill } from "./ui.js";

const POINTER_MS = 40;

export class Presence {
  constructor(doc, me, { avatars, canvas, textBinding }) {
    this.doc = doc;
    this.me = me;
    this.remote = new Map(); // presence id -> value
    this.avatars = avatars;
    this.canvas = canvas;
    this.textBinding = textBinding; // widget id -> TextBinding | undefined
    this.connection = doc.connection;
    this.channel = null;
    this.local = null;
    this.value = { user: me.id, name: me.name, color: me.color, src: null, pointer: null, selection: null };
    this.pointers = new Map();
    this.lastPointerAt = 0;
    this.pointerTimer = null;
    this.drawQueued = false;
    this.connection.on("state", (state) => {
      // The server forgets a connection's presence when it closes: tell the new one again.
      if (state === "connected") this.send();
      else {
        this.remote.clear();
        this.render();
      }
    });
  }

  // Once the dashboard is loaded: a doc presence subscribed before would lose what it hears
  // to the document's first load.
  start() {
    if (this.channel) return;
    const connection = this.connection;
    this.channel = connection.getDocPresence(COLLECTION, this.doc.id);
    this.channel.subscribe();
    this.local = this.channel.create();
    this.channel.on("receive", (id, value) => {
      if (value && value.user === this.me.id && value.src === connection.id) return;
      if (value) this.remote.set(id, value);
      else this.remote.delete(id);
      this.queueRender();
    });
    // A value that no longer fits is dropped by the client; the author's next one replaces it.
    this.channel.on("error", (err) => console.warn("presence:", err.message));
    this.local.on("error", (err) => console.warn("presence:", err.message));
    this.send();
  }

  // Sends this page's value; the selection is the last one set, carried through every op since
  // (the local presence transforms it), unless a fresh one was just set.
  send({ fresh = false } = {}) {
    if (!this.local || this.connection.state !== "connected" || !this.doc.type) return;
    if (!fresh && this.local.value) this.value.selection = this.local.value.selection;
    this.value.src = this.connection.id;
    this.local.submit({ ...this.value }, () => {});
  }

  pointer(point) {
    this.value.pointer = point;
    const now = Date.now();
    clearTimeout(this.pointerTimer);
    if (now - this.lastPointerAt >= POINTER_MS) {
      this.lastPointerAt = now;
      this.send();
    } else {
      this.pointerTimer = setTimeout(() => this.pointer(this.value.pointer), POINTER_MS);
    }
  }

  selection(widgetId, range) {
    this.value.selection = range ? { p: ["widgets", widgetId, "body"], index: range.index, length: range.length } : null;
    this.send({ fresh: true });
  }

  // Remote values change on every op; draw once after the op has reached the page (Quill too).
  queueRender() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    queueMicrotask(() => {
      this.drawQueued = false;
      this.render();
    });
  }

  // Everyone else here, once each (this person's other tabs are "you" already).
  people() {
    const byUser = new Map();
    for (const value of this.remote.values()) if (value && value.user && value.user !== this.me.id) byUser.set(value.user, value);
    return [...byUser.values()];
  }

  render() {
    fill(this.avatars, 
      avatar(`${this.me.name} (you)`, this.me.color, { size: "me" }),
      ...this.people().map((p) => avatar(p.name, p.color)),
    );
    this.avatars.setAttribute("aria-label", `${this.people().length + 1} people here`);
    this.renderPointers();
    this.renderSelections();
  }

  renderPointers() {
    const seen = new Set();
    for (const [id, value] of this.remote) {
      if (!value.pointer) continue;
      seen.add(id);
      let el = this.pointers.get(id);
      if (!el) {
        el = h("div", { class: "pointer", "aria-hidden": "true" }, h("span", { class: "pointer-name" }, value.name));
        this.pointers.set(id, el);
        this.canvas.append(el);
      }
      el.style.setProperty("--who", value.color);
      el.firstChild.textContent = value.name;
      el.style.transform = `translate(${value.pointer.x}px, ${value.pointer.y}px)`;
    }
    for (const [id, el] of this.pointers) {
      if (!seen.has(id)) {
        el.remove();
        this.pointers.delete(id);
      }
    }
  }

  renderSelections() {
    for (const el of this.canvas.querySelectorAll(".remote-sel")) el.remove();
    for (const value of this.remote.values()) {
      const sel = value.selection;
      const binding = sel && Array.isArray(sel.p) && this.textBinding(sel.p[1]);
      if (!binding) continue;
      const boxes = binding.boxes(sel.index, sel.length);
      const host = binding.quill.container;
      for (const box of boxes) {
        const el = h("div", { class: `remote-sel ${box.caret ? "caret" : ""}`, "aria-hidden": "true", title: value.name });
        el.style.setProperty("--who", value.color);
        el.style.left = `${box.left}px`;
        el.style.top = `${box.top}px`;
        el.style.width = `${box.width}px`;
        el.style.height = `${box.height}px`;
        host.append(el);
      }
    }
  }

  close() {
    clearTimeout(this.pointerTimer);
    if (!this.channel) return;
    try {
      this.local.destroy();
      this.channel.destroy();
    } catch {
      /* the connection is closing anyway */
    }
  }
}
