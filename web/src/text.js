// A text widget: Quill bound to the widget's `body`, a rich-text subtype field. Quill's own
// changes are submitted as rich-text ops at ["widgets", id, "body"]; everyone else's ops are
// applied to Quill silently, so two people typing merge by character.
import Quill from "quill";
import { Delta } from "./live.js";

const TOOLBAR = [["bold", "italic", "underline"], [{ list: "ordered" }, { list: "bullet" }], ["link"], ["clean"]];

export class TextBinding {
  constructor(host, id, body, { readOnly, onDelta, onSelection }) {
    this.id = id;
    this.quill = new Quill(host, {
      theme: "snow",
      readOnly,
      placeholder: readOnly ? "" : "Write something…",
      modules: { toolbar: readOnly ? false : TOOLBAR, history: { maxStack: 0, userOnly: true } },
    });
    this.quill.root.setAttribute("aria-label", "Text");
    this.quill.root.setAttribute("role", "textbox");
    this.quill.root.setAttribute("aria-multiline", "true");
    this.set(body);
    this.quill.on("text-change", (delta, _old, source) => {
      if (source === "user") onDelta(delta.ops);
    });
    this.quill.on("selection-change", (range, _old, source) => {
      if (source !== "silent") onSelection(range);
    });
  }

  set(body) {
    const ops = typeof body === "string" ? [{ insert: body.endsWith("\n") ? body : body + "\n" }] : (body && body.ops) || [];
    const current = this.quill.getContents();
    const next = new Delta(ops);
    const diff = current.diff(next);
    if (diff.ops.length) this.quill.updateContents(diff, "silent");
  }

  apply(ops) {
    this.quill.updateContents(new Delta(ops), "silent");
  }

  setReadOnly(readOnly) {
    this.quill.enable(!readOnly);
  }

  // Pixel boxes (relative to the editor) of a range, for drawing someone else's selection.
  boxes(index, length) {
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
