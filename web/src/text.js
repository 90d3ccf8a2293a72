// A text widget: Quill bound to the widget's `body`, a rich-text subtype field. Quill's own
// changes are submitted as rich-text ops at ["widgets", id, "body"]; everyone else's ops are
// applied to Quill silently, so two people typing merge by character.
//
// Quill starts only when someone is about to use the widget (the pointer enters it, it gets
// focus, or another person's selection must be drawn in it); until then the text is drawn as
// plain DOM, so a dashboard with many text widgets opens fast.
import Quill from "quill";
import { Delta } from "./live.js";
import { fill, h } from "./ui.js";

function safeHref(url) {
  try {
    const parsed = new URL(String(url));
    return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// A Delta drawn the way Quill draws it: a <p> per line (or <ol><li data-list> for lists), with
// bold, italic, underline and links inside.
export function drawDelta(el, ops) {
  const blocks = [];
  let line = [];
  let list = null;
  const inline = (text, a = {}) => {
    let node = document.createTextNode(text);
    if (a.bold) node = h("strong", {}, node);
    if (a.italic) node = h("em", {}, node);
    if (a.underline) node = h("u", {}, node);
    if (a.link && safeHref(a.link)) node = h("a", { href: safeHref(a.link), rel: "noopener noreferrer", target: "_blank" }, node);
    return node;
  };
  const endLine = (attrs = {}) => {
    const content = line.length ? line : [h("br")];
    if (attrs.list === "bullet" || attrs.list === "ordered") {
      if (!list) {
        list = h("ol");
        blocks.push(list);
      }
      list.append(h("li", { "data-list": attrs.list }, h("span", { class: "ql-ui", contenteditable: "false" }), content));
    } else {
      list = null;
      blocks.push(h("p", {}, content));
    }
    line = [];
  };
  for (const op of ops || []) {
    if (typeof op.insert !== "string") continue;
    const parts = op.insert.split("\n");
    parts.forEach((part, i) => {
      if (part) line.push(inline(part, op.attributes));
      if (i < parts.length - 1) endLine(op.attributes);
    });
  }
  if (line.length) endLine();
  fill(el, blocks);
  const empty = !(ops || []).some((op) => typeof op.insert === "string" && op.insert.trim());
  el.classList.toggle("ql-blank", empty);
}

function opsOf(body) {
  if (typeof body === "string") return [{ insert: body.endsWith("\n") ? body : body + "\n" }];
  return (body && body.ops) || [];
}

const TOOLBAR = [["bold", "italic", "underline"], [{ list: "ordered" }, { list: "bullet" }], ["link"], ["clean"]];

export class TextBinding {
  constructor(host, id, { readOnly, bodyOf, onDelta, onSelection }) {
    this.id = id;
    this.host = host;
    this.readOnly = readOnly;
    this.bodyOf = bodyOf;
    this.onDelta = onDelta;
    this.onSelection = onSelection;
    this.quill = null;
    this.page = h("div", { class: "ql-editor", "data-placeholder": readOnly ? "" : "Write something…", tabindex: 0, role: "textbox", "aria-label": "Text", "aria-multiline": "true", "aria-readonly": "true" });
    this.still = h("div", { class: "ql-container ql-snow still" }, this.page);
    host.append(this.still);
    drawDelta(this.page, opsOf(bodyOf()));
    this._wake = () => this.activate();
    host.addEventListener("pointerenter", this._wake);
    this.page.addEventListener("focus", () => {
      this.activate();
      this.quill.focus();
    });
  }

  activate() {
    if (this.quill) return this.quill;
    this.host.removeEventListener("pointerenter", this._wake);
    this.still.remove();
    const readOnly = this.readOnly;
    this.quill = new Quill(this.host, {
      theme: "snow",
      readOnly,
      placeholder: readOnly ? "" : "Write something…",
      modules: { toolbar: readOnly ? false : TOOLBAR, history: { maxStack: 0, userOnly: true } },
    });
    this.quill.root.setAttribute("aria-label", "Text");
    this.quill.root.setAttribute("role", "textbox");
    this.quill.root.setAttribute("aria-multiline", "true");
    this.set(this.bodyOf());
    this.quill.on("text-change", (delta, _old, source) => {
      if (source === "user") this.onDelta(delta.ops);
    });
    this.quill.on("selection-change", (range, _old, source) => {
      if (source !== "silent") this.onSelection(range);
    });
    return this.quill;
  }

  set(body) {
    const ops = opsOf(body);
    if (!this.quill) {
      drawDelta(this.page, ops);
      return;
    }
    const current = this.quill.getContents();
    const next = new Delta(ops);
    const diff = current.diff(next);
    if (diff.ops.length) this.quill.updateContents(diff, "silent");
  }

  apply(ops) {
    if (this.quill) this.quill.updateContents(new Delta(ops), "silent");
    else drawDelta(this.page, opsOf(this.bodyOf()));
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    if (this.quill) this.quill.enable(!readOnly);
  }

  // Pixel boxes (relative to the editor) of a range, for drawing someone else's selection.
  boxes(index, length) {
    this.activate();
    const total = this.quill.getLength();
    const start = Math.min(index, total - 1);
    const end = Math.min(index + length, total - 1);
    const boxes = [];
    if (end <= start) {
      const b = this.quill.getBounds(start, 0);
      if (b) boxes.push({ left: b.left, top: b.top, width: 2, height: b.height, caret: true });
      return boxes;
    }
    // One box per line the range spans.
    let i = start;
    while (i < end) {
      const [line, offset] = this.quill.getLine(i);
      const lineLength = line ? line.length() - offset : end - i;
      const n = Math.max(1, Math.min(end - i, lineLength));
      const b = this.quill.getBounds(i, n);
      if (b) boxes.push({ left: b.left, top: b.top, width: Math.max(b.width, 2), height: b.height });
      i += n;
    }
    return boxes;
  }
}
