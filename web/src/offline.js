// Edits that outlive the page: a dashboard's pending ops are kept in IndexedDB together with the
// last snapshot the server confirmed (the version they apply to). After a reload, even offline,
// the document is rebuilt from them, and on reconnect the stock client resubmits the ops with
// their original src/seq, so the server applies each exactly once (it deduplicates by them).
//
// The confirmed snapshot is followed from the raw messages: a remote op at the confirmed version
// advances it, and so does the ack of our own in-flight op (applied as it stood when acked).
import { json0 } from "./live.js";

const DB = "tandem";
const STORE = "dashboards";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

let dbPromise = null;
function db() {
  dbPromise = dbPromise || open();
  return dbPromise;
}

async function tx(mode, work) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const t = conn.transaction(STORE, mode);
    const result = work(t.objectStore(STORE));
    t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    t.onerror = () => reject(t.error);
  });
}

export const load = (key) => tx("readonly", (s) => s.get(key)).catch(() => undefined);
const save = (record) => tx("readwrite", (s) => s.put(record)).catch(() => undefined);

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

export class OfflineStore extends EventTarget {
  constructor(doc, key, meta) {
    super();
    this.saved = 0; // pending ops in the last record written
    this.doc = doc;
    this.key = key;
    this.meta = meta;
    this.shadow = null; // {v, data}: what the server has confirmed
    this.saving = Promise.resolve();
    this.pendingCount = 0;
    doc.connection.on("receive", (request) => this._receive(request.data));
    doc.on("op batch", () => this.persist());
    doc.on("load", () => this.persist());
    doc.on("no write pending", () => this.persist());
  }

  _idle() {
    return !this.doc.inflightOp && this.doc.pendingOps.length === 0;
  }

  _receive(message) {
    const doc = this.doc;
    if (!message || message.a !== "op" || message.c !== doc.collection || message.d !== doc.id) return;
    const shadow = this.shadow;
    if (!shadow || message.error || message.v !== shadow.v) return;
    const own = doc.inflightOp && message.src === doc.inflightOp.src && message.seq === doc.inflightOp.seq;
    try {
      if (own) {
        if (doc.inflightOp.op) shadow.data = json0.apply(shadow.data, clone(doc.inflightOp.op));
      } else if (message.op) {
        shadow.data = json0.apply(shadow.data, clone(message.op));
      } else {
        return;
      }
      shadow.v += 1;
    } catch {
      this.shadow = null;
    }
    queueMicrotask(() => this.persist());
  }

  pending() {
    const doc = this.doc;
    return [doc.inflightOp, ...doc.pendingOps]
      .filter((op) => op && op.op)
      .map((op) => ({ op: clone(op.op), src: op.src ?? null, seq: op.seq ?? null }));
  }

  persist() {
    const doc = this.doc;
    if (doc.version == null || !doc.type) return;
    if (this._idle()) this.shadow = { v: doc.version, data: clone(doc.data) };
    const pending = this.pending();
    this.pendingCount = pending.length;
    if (!this.shadow || this.shadow.v !== doc.version) return;
    const record = { key: this.key, v: this.shadow.v, data: this.shadow.data, pending, meta: this.meta, savedAt: Date.now() };
    const copy = clone(record);
    this.saving = this.saving.then(() => save(copy)).then(() => {
      this.saved = pending.length;
      this.dispatchEvent(new Event("saved"));
    });
  }

  // Rebuild the document from a stored record before it subscribes. Returns how many ops were
  // restored (0: nothing was waiting).
  restore(record) {
    const doc = this.doc;
    if (!record || doc.type) return 0;
    doc.ingestSnapshot({ v: record.v, data: clone(record.data), type: json0.uri });
    this.shadow = { v: record.v, data: clone(record.data) };
    let restored = 0;
    for (const item of record.pending || []) {
      doc.submitOp(clone(item.op), { source: "offline" });
      const op = doc.pendingOps[doc.pendingOps.length - 1];
      if (item.src != null && op) {
        op.src = item.src;
        op.seq = item.seq;
        op.sentAt = Date.now(); // nothing may be composed into an op the server may have seen
      }
      restored += 1;
    }
    return restored;
  }
}
