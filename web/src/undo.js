// Undo/redo of one's own edits. Each entry is the inverse of an edit (a json0 op; rich-text
// components are inverted against the text they changed). Remote ops transform the stacks, so
// an undo takes back exactly one's own change even after others edited around it.
import { Delta, json0 } from "./live.js";

const GROUP_MS = 700;
const LIMIT = 200;

function at(data, path) {
  let node = data;
  for (const key of path) {
    if (node == null) return undefined;
    node = node[key];
  }
  return node;
}

// The inverse of `op` applied to `data` (the document before it). Components are inverted in
// reverse order, each against the state it was applied to.
export function invert(data, op) {
  let state = JSON.parse(JSON.stringify(data));
  const inverses = [];
  for (const component of op) {
    if (component.t === "rich-text") {
      const base = new Delta(at(state, component.p) || []);
      inverses.push({ p: component.p, t: "rich-text", o: new Delta(component.o).invert(base).ops });
    } else {
      inverses.push(json0.invertComponent(component));
    }
    state = json0.apply(state, [JSON.parse(JSON.stringify(component))]);
  }
  return inverses.reverse();
}

// `op` with the values it removes (od, ld) read from `data` as they are now: an entry made
// before others edited inside what it removes takes back their edits too when it is redone.
function refreshed(data, op) {
  let state = JSON.parse(JSON.stringify(data));
  const out = [];
  for (const component of op) {
    const c = JSON.parse(JSON.stringify(component));
    if ("od" in c) c.od = JSON.parse(JSON.stringify(at(state, c.p) ?? null));
    if ("ld" in c) c.ld = JSON.parse(JSON.stringify(at(state, c.p) ?? null));
    out.push(c);
    state = json0.apply(state, [JSON.parse(JSON.stringify(c))]);
  }
  return out;
}

function transformStack(stack, remote) {
  let op = remote;
  for (let i = stack.length - 1; i >= 0; i -= 1) {
    const entry = stack[i];
    const mine = json0.transform(entry.op, op, "left");
    op = json0.transform(op, entry.op, "right");
    stack[i] = { ...entry, op: mine };
    if (mine.length === 0) stack.splice(i, 1);
  }
}

export class UndoManager extends EventTarget {
  constructor(doc) {
    super();
    this.doc = doc;
    this.undoStack = [];
    this.redoStack = [];
    this.lastAt = 0;
    this.lastKey = null;
    doc.on("op batch", (op, source) => {
      if (source) return; // our own ops are recorded where they are made
      try {
        transformStack(this.undoStack, op);
        transformStack(this.redoStack, op);
      } catch {
        this.clear();
      }
      this._changed();
    });
  }

  _changed() {
    this.dispatchEvent(new Event("change"));
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  clear() {
    this.undoStack = [];
    this.redoStack = [];
    this._changed();
  }

  // An edit of ours, about to be applied to `before` (the document as it is now). Edits with
  // the same key in quick succession (typing in one widget) are undone together.
  record(before, op, key) {
    const inverse = invert(before, op);
    const now = Date.now();
    const top = this.undoStack[this.undoStack.length - 1];
    if (top && key && key === this.lastKey && now - this.lastAt < GROUP_MS) {
      top.op = [...inverse, ...top.op];
    } else {
      this.undoStack.push({ op: inverse });
      if (this.undoStack.length > LIMIT) this.undoStack.shift();
    }
    this.lastAt = now;
    this.lastKey = key;
    this.redoStack = [];
    this._changed();
  }

  _step(from, to, submit) {
    const entry = from.pop();
    if (!entry) return false;
    let op;
    try {
      op = refreshed(this.doc.data, entry.op);
    } catch {
      this._changed();
      return false; // what it applied to is gone
    }
    to.push({ op: invert(this.doc.data, op) });
    this.lastKey = null;
    submit(op);
    this._changed();
    return true;
  }

  undo(submit) {
    return this._step(this.undoStack, this.redoStack, submit);
  }

  redo(submit) {
    return this._step(this.redoStack, this.undoStack, submit);
  }
}
