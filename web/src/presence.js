// Who else is here: channel presence on 'dashboards.<id>' (ShareDB's doc presence needs a json0
// transformPresence the stock type lacks). Each value: {user, name, color, src, pointer, sel};
// `sel` is a range inside a text widget, moved here through every op by someone else, so it
// stays on the same characters while people type.
import { Delta } from "./live.js";
import { avatar, h, fill } from "./ui.js";

const POINTER_MS = 40;

export class Presence {
  constructor(doc, dashboardId, me, { avatars, canvas, textBinding }) {
    const connection = doc.connection;
    this.doc = doc;
    this.me = me;
    this.remote = new Map(); // presence id -> value
    this.avatars = avatars;
    this.canvas = canvas;
    this.textBinding = textBinding; // widget id -> TextBinding | undefined
    this.channel = connection.getPresence(`${"dashboards"}.${dashboardId}`);
    this.channel.subscribe();
    this.local = this.channel.create();
    this.value = { user: me.id, name: me.name, color: me.color, src: null, pointer: null, sel: null };
    this.pointers = new Map();
    this.lastPointerAt = 0;
    this.pointerTimer = null;
    this.channel.on("receive", (id, value) => {
      if (value && value.user === me.id && value.src === connection.id) return;
      if (value) this.remote.set(id, value);
      else this.remote.delete(id);
      this.render();
    });
    this.connection = connection;
    connection.on("state", (state) => {
      // Tandem takes a presence once the dashboard is subscribed (it knows the version then).
      if (state === "connected") doc.whenNothingPending(() => this.send());
      else {
        this.remote.clear();
        this.render();
      }
    });
  }

  send() {
    if (this.connection.state !== "connected" || !this.doc.subscribed) return;
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
    this.value.sel = range ? { w: widgetId, index: range.index, length: range.length } : null;
    this.send();
  }

  // An op component was applied locally: move remote selections in that text (not the author's).
  transform(component, src) {
    if (component.t !== "rich-text" || component.p[0] !== "widgets" || component.p[2] !== "body") return;
    const widgetId = component.p[1];
    const delta = new Delta(component.o);
    let moved = false;
    for (const value of this.remote.values()) {
      const sel = value.sel;
      if (!sel || sel.w !== widgetId || (src && value.src === src)) continue;
      const start = delta.transformPosition(sel.index);
      const end = delta.transformPosition(sel.index + sel.length);
      value.sel = { ...sel, index: start, length: Math.max(0, end - start) };
      moved = true;
    }
    if (moved) this.renderSelections();
  }

  people() {
    const byUser = new Map();
    for (const value of this.remote.values()) if (value && value.user) byUser.set(value.user, value);
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
      const sel = value.sel;
      const binding = sel && this.textBinding(sel.w);
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
    try {
      this.local.destroy();
      this.channel.destroy();
    } catch {
      /* the connection is closing anyway */
    }
  }
}
