'use strict';
// The stock ShareDB client (sharedb/lib/client) talking to a Tandem gateway.
//
// Tandem wants {a:'auth', token} as the first frame on the socket, before ShareDB's own
// handshake. The stock Connection cannot send it, so TandemSocket wraps a `ws` WebSocket: it
// sends the auth frame the moment the socket opens and only then reports the socket open to the
// Connection. Frames that arrive before a Connection is attached are buffered, never dropped.
//
// TandemClient adds what the end-to-end scenarios need around one Connection: reconnecting to
// the same or another gateway (Connection.bindToSocket on a fresh socket, so in-flight ops are
// resubmitted with their original src/seq) and simulating a connection lost right after an op
// was sent.

const {EventEmitter} = require('events');
const WebSocket = require('ws');
const sharedb = require('sharedb/lib/client');
const textUnicode = require('ot-text-unicode').type;
const richText = require('rich-text').type;

// Register the subtypes on the json0 instance the client actually uses (it checks the server's
// `init` type against this very object).
const json0 = sharedb.types.defaultType;
json0.registerSubtype(textUnicode);
json0.registerSubtype(richText);

const COLLECTION = 'dashboards';
const OPEN = 1;
const CLOSED = 3;

class TandemSocket extends EventEmitter {
  constructor(url, token, options = {}) {
    super();
    this.url = url;
    this.readyState = 0;
    this.onopen = null;
    this.onclose = null;
    this.onerror = null;
    this._onmessage = null;
    this._buffer = [];
    this._flushScheduled = false;
    this._discarding = false;
    this._afterOp = null;
    this._closedByUs = false;
    this.authReply = null;
    const headers = {};
    if (options.origin) headers.Origin = options.origin;
    if (options.cookie) headers.Cookie = options.cookie;
    this._ws = new WebSocket(url, {headers, handshakeTimeout: 5000});
    this._ws.on('open', () => {
      if (token != null) this._ws.send(JSON.stringify({a: 'auth', token}));
      this.readyState = OPEN;
      this.emit('open');
      if (this.onopen) this.onopen();
    });
    this._ws.on('message', (data, isBinary) => {
      if (this._discarding) return;
      const text = isBinary ? data : data.toString('utf8');
      if (this._interceptAuth(text)) return;
      if (this._onmessage && this._buffer.length === 0) {
        this._onmessage({data: text});
      } else {
        this._buffer.push(text);
        this._scheduleFlush();
      }
    });
    this._ws.on('error', (err) => {
      this.emit('socket error', err);
      if (this.onerror) this.onerror(err);
    });
    this._ws.on('close', (code, reason) => {
      this.readyState = CLOSED;
      this._deliverBuffered();
      const event = {code, reason: reason.toString('utf8')};
      this.emit('close', event, this._closedByUs);
      // ShareDB treats the string 'closed' as "closed by the client, do not reconnect"; any
      // other value leaves its docs waiting to be resubmitted on the next socket.
      if (this.onclose) this.onclose(this._closedByUs ? 'closed' : event);
    });
  }

  // The Connection assigns onmessage while binding; anything buffered goes out on the next
  // tick, after the binding (and its handshake) has finished.
  get onmessage() {
    return this._onmessage;
  }

  set onmessage(handler) {
    this._onmessage = handler;
    if (handler && this._buffer.length) this._scheduleFlush();
  }

  _scheduleFlush() {
    if (this._flushScheduled || !this._onmessage) return;
    this._flushScheduled = true;
    setImmediate(() => {
      this._flushScheduled = false;
      this._deliverBuffered();
    });
  }

  _deliverBuffered() {
    while (this._onmessage && this._buffer.length) {
      this._onmessage({data: this._buffer.shift()});
    }
  }

  // Replies to the auth extension are Tandem's, not ShareDB's: keep them away from the
  // Connection (which would warn about an unknown action).
  _interceptAuth(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (err) {
      return false;
    }
    if (!message || message.a !== 'auth') return false;
    this.authReply = message;
    this.emit('auth', message);
    return true;
  }

  send(text) {
    if (this.readyState !== OPEN) return;
    if (this._afterOp && JSON.parse(text).a === 'op') {
      const terminate = this._afterOp === 'drop';
      this._afterOp = null;
      // From here on nothing reaches the client, so the ack is lost even if the server is fast.
      this._discarding = true;
      this._ws.send(text, terminate ? () => this._ws.terminate() : undefined);
      return;
    }
    this._ws.send(text);
  }

  // Lose the connection (no close handshake) as soon as the next op frame is written. The
  // server may or may not have read the frame by then.
  dropAfterNextOp() {
    this._afterOp = 'drop';
  }

  // Send the next op frame, then hear nothing more on this socket (the connection stays up
  // until terminate()): the server surely got the op, the client never sees its ack.
  deafAfterNextOp() {
    this._afterOp = 'deaf';
  }

  close() {
    if (this.readyState === CLOSED) return;
    this._closedByUs = true;
    this._ws.close();
  }

  terminate() {
    this._ws.terminate();
  }
}

class TandemClient extends EventEmitter {
  // urls: gateway WebSocket URLs; the client starts on urls[0] and, when its socket is lost,
  // reconnects to the next one in turn (unless `reconnect` is false).
  constructor({urls, token, name = 'client', reconnect = true, reconnectDelay = 100, origin}) {
    super();
    this.urls = urls;
    this.token = token;
    this.name = name;
    this.reconnect = reconnect;
    this.reconnectDelay = reconnectDelay;
    this.origin = origin;
    this.urlIndex = 0;
    this.errors = [];
    this.connects = 0;
    this.closed = false;
    this.socket = this._newSocket();
    this.connection = new sharedb.Connection(this.socket);
    this.connection.on('error', (err) => this._recordError('connection', err));
    // (src, seq) -> times sent: an op sent again after a reconnect keeps its src and seq (the
    // first send leaves src out, meaning "this connection").
    this.sentOps = new Map();
    this.connection.on('send', (message) => {
      if (message.a !== 'op') return;
      const key = `${message.src || this.connection.id}:${message.seq}`;
      this.sentOps.set(key, (this.sentOps.get(key) || 0) + 1);
    });
    this.connection.on('connected', () => {
      this.connects += 1;
      this.emit('connected', this.url);
    });
  }

  get url() {
    return this.urls[this.urlIndex];
  }

  _recordError(where, err) {
    this.errors.push({where, code: err && err.code, message: String(err && err.message)});
  }

  _newSocket() {
    const socket = new TandemSocket(this.url, this.token, {origin: this.origin});
    socket.on('close', (event, byUs) => {
      if (socket !== this.socket || byUs || this.closed || !this.reconnect) return;
      setTimeout(() => this._rebind((this.urlIndex + 1) % this.urls.length), this.reconnectDelay);
    });
    socket.on('socket error', () => {});
    return socket;
  }

  _rebind(index) {
    if (this.closed) return;
    this.urlIndex = index;
    this.socket = this._newSocket();
    this.connection.bindToSocket(this.socket);
  }

  // Move to another gateway (or reopen the same one) now.
  reconnectTo(url) {
    let index = this.urls.indexOf(url);
    if (index === -1) {
      this.urls.push(url);
      index = this.urls.length - 1;
    }
    const old = this.socket;
    this._rebind(index);
    old.terminate();
  }

  // The (src:seq) of every op this client sent more than once.
  resent() {
    return [...this.sentOps].filter(([, count]) => count > 1).map(([key]) => key);
  }

  doc(id) {
    const doc = this.connection.get(COLLECTION, id);
    if (!doc.__tandemErrors) {
      doc.__tandemErrors = true;
      doc.on('error', (err) => this._recordError('doc', err));
    }
    return doc;
  }

  waitConnected(timeoutMs = 5000) {
    if (this.connection.state === 'connected') return Promise.resolve();
    return withTimeout(
      new Promise((resolve) => this.connection.once('connected', resolve)),
      timeoutMs,
      `${this.name}: not connected to ${this.url}`,
    );
  }

  close() {
    this.closed = true;
    this.socket.close();
  }

  kill() {
    this.closed = true;
    this.socket.terminate();
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function subscribe(doc, timeoutMs = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => doc.subscribe((err) => (err ? reject(err) : resolve(doc)))),
    timeoutMs,
    `subscribe ${doc.id}`,
  );
}

function fetch(doc, timeoutMs = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => doc.fetch((err) => (err ? reject(err) : resolve(doc)))),
    timeoutMs,
    `fetch ${doc.id}`,
  );
}

// Resolves when the server acknowledged the op (rejects with the server's error).
function submit(doc, op) {
  return new Promise((resolve, reject) => {
    doc.submitOp(op, (err) => (err ? reject(err) : resolve()));
  });
}

function whenNothingPending(doc, timeoutMs = 10000) {
  return withTimeout(
    new Promise((resolve) => doc.whenNothingPending(resolve)),
    timeoutMs,
    `nothing pending on ${doc.id}`,
  );
}

async function waitFor(predicate, timeoutMs, what, intervalMs = 20) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timeout after ${timeoutMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A plain JSON value (rich-text bodies are Delta objects on the client).
function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function errorInfo(err) {
  return {code: err && err.code != null ? err.code : null, message: String(err && err.message)};
}

// null when the promise resolves, the error's code and message when it rejects.
async function attempt(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return errorInfo(err);
  }
}

// A widget as the data model describes it; `extra` overrides any field.
function widget(extra = {}) {
  return Object.assign(
    {
      type: 'text',
      title: '',
      position: {x: 0, y: 0, width: 4, height: 3, zIndex: 1},
      config: {},
      data: {},
      isLocked: false,
      body: {ops: [{insert: '\n'}]},
    },
    extra,
  );
}

// A small seeded generator (mulberry32), so a failing run can be repeated with its seed.
function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (items) => items[next.int(items.length)];
  return next;
}

// One fresh connection that fetches the dashboard once: what the server holds right now.
async function fetchFresh(url, token, id) {
  const client = new TandemClient({urls: [url], token, name: 'fresh', reconnect: false});
  try {
    const doc = client.doc(id);
    await fetch(doc);
    return {v: doc.version, data: plain(doc.data)};
  } finally {
    client.close();
  }
}

// Scenario input: a JSON object on stdin.
function readInput() {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
    });
    process.stdin.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function output(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

// Run a scenario: one JSON result line on stdout, exit 0; a failure or the deadline prints
// {error} and exits non-zero, so the calling test sees why.
function runScenario(main, deadlineMs = 60000) {
  const timer = setTimeout(() => {
    output({error: `scenario deadline of ${deadlineMs} ms passed`});
    process.exit(3);
  }, deadlineMs);
  readInput()
    .then(main)
    .then((result) => {
      clearTimeout(timer);
      // Exit once the line is written: a pipe takes a large result in several writes, and
      // process.exit would cut it off after the first.
      process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
    })
    .catch((err) => {
      clearTimeout(timer);
      output({error: String(err && err.stack ? err.stack : err)});
      process.exit(2);
    });
}

module.exports = {
  COLLECTION,
  TandemClient,
  TandemSocket,
  attempt,
  errorInfo,
  fetch,
  fetchFresh,
  json0,
  output,
  plain,
  random,
  readInput,
  runScenario,
  sleep,
  submit,
  subscribe,
  waitFor,
  whenNothingPending,
  widget,
  withTimeout,
};
