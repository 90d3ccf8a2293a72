'use strict';
// Protocol-level load generator: stock ShareDB clients (through tandem_client.js, so the only
// difference between Tandem and a plain ShareDB server is the auth frame) editing dashboards.
//
// stdin, line 1 (JSON): {
//   clients: [{index, dashboard, token, url}], token null: no auth frame (the reference server)
//   client: "wire" | "sharedb",  the protocol by hand (default) or the stock ShareDB client
//   deflate,                  offer permessage-deflate (default false)
//   mode: "closed" | "paced", closed: submit, wait for the ack, submit again;
//                               paced: each client submits once every 1000/rate ms
//   rate,                     paced mode: ops per second per client (default 1)
//   warmupMs, measureMs, drainMs,
//   connectBatch              clients connecting at once (default 20)
// }
// stdout: {"event": "ready"} once every client is connected and subscribed; then stdin line 2,
// {"go": T} (T in epoch ms), starts the clock: warm-up until T + warmupMs, measuring until
// T + warmupMs + measureMs, then up to drainMs for outstanding acks. Last stdout line: the result
// (see `result()` below); {"error": ...} on failure.
//
// Each op sets settings["c<index>"] = {t, n}: t is the sender's clock (epoch ms, sub-ms
// precision, comparable across processes on one machine), n its counter. Receivers in this
// process measure broadcast latency as their receipt time minus t, for ops sent in the window.
// Latencies go into a log-bucketed histogram (1% wide buckets) so several processes can be merged.

const {monitorEventLoopDelay, performance} = require('perf_hooks');
const readline = require('readline');
const WebSocket = require('ws');

// tandem_client.js opens its sockets with ws's defaults, which offer permessage-deflate. Whether
// the load offers it must be a choice (the reference server accepts it only when asked to, and
// inflating every frame is most of a receiver's cost), so the `ws` it loads is this subclass.
let offerDeflate = false;
class ConfiguredWebSocket extends WebSocket {
  constructor(address, protocols, options) {
    if (protocols && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    super(address, protocols, Object.assign({}, options, {perMessageDeflate: offerDeflate}));
  }
}
require.cache[require.resolve('ws')].exports = ConfiguredWebSocket;

const {COLLECTION, TandemClient, TandemSocket, output, subscribe, withTimeout} = require('./tandem_client');

const BUCKET_BASE = Math.log(1.01);
const CONNECT_TIMEOUT_MS = 15000;
const LOOP_SAMPLE_MS = 10;

function now() {
  return performance.timeOrigin + performance.now();
}

class Histogram {
  constructor() {
    this.buckets = new Map();
    this.count = 0;
    this.max = 0;
  }

  // Values in ms; the bucket of x covers [1.01^k, 1.01^(k+1)) microseconds.
  add(ms) {
    const us = Math.max(ms * 1000, 1);
    const key = Math.floor(Math.log(us) / BUCKET_BASE);
    this.buckets.set(key, (this.buckets.get(key) || 0) + 1);
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  percentile(p) {
    if (this.count === 0) return null;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (const key of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(key);
      if (seen >= rank) return Math.exp((key + 0.5) * BUCKET_BASE) / 1000;
    }
    return this.max;
  }

  toJSON() {
    return {
      count: this.count,
      p50: this.percentile(50),
      p99: this.percentile(99),
      max: this.max,
      buckets: Object.fromEntries(this.buckets),
    };
  }
}

// The stock ShareDB client: a Connection over TandemClient's socket, one subscribed Doc.
class StockWorker {
  constructor(spec, onRemote) {
    this.spec = spec;
    this.onRemote = onRemote;
    this.key = `c${spec.index}`;
    this.n = 0;
    this.last = undefined;
    this.busy = false;
  }

  async open() {
    this.client = new TandemClient({
      urls: [this.spec.url],
      token: this.spec.token,
      name: this.key,
      reconnect: false,
    });
    await this.client.waitConnected(CONNECT_TIMEOUT_MS);
    this.doc = this.client.doc(this.spec.dashboard);
    await subscribe(this.doc, CONNECT_TIMEOUT_MS);
    this.doc.on('op batch', (op, source) => {
      if (!source) this.onRemote(op);
    });
    // Whatever the doc has under our key (a rerun on the same dashboard) is what `od` removes.
    const settings = this.doc.data && this.doc.data.settings;
    this.last = settings ? settings[this.key] : undefined;
  }

  submit(op, callback) {
    this.doc.submitOp(op, callback);
  }

  close() {
    this.client.close();
  }
}

// The wire protocol by hand over the same authenticating socket: handshake, subscribe, submit
// one op at a time, take broadcasts as they come. It keeps no document (each client writes only
// its own key, so its ops never need transforming here), which makes a received op cost a
// JSON.parse instead of the stock client's bookkeeping: with 200 clients on one dashboard the
// generator receives 200 times the server's op rate.
class WireWorker {
  constructor(spec, onRemote) {
    this.spec = spec;
    this.onRemote = onRemote;
    this.key = `c${spec.index}`;
    this.n = 0;
    this.last = undefined;
    this.busy = false;
    this.src = null;
    this.v = 0;
    this.seq = 0;
    this.inflight = null; // {seq, callback}
    // Versions already received: ShareDB sends a submitter the ops its op was transformed
    // against (before the ack) and the subscription delivers them too; count each once.
    this.seen = new Set();
    this.seenTop = 0;
    this.waiting = new Map(); // action -> resolve of open()'s steps
  }

  open() {
    const opened = new Promise((resolve, reject) => {
      this.socket = new TandemSocket(this.spec.url, this.spec.token);
      this.socket.on('socket error', reject);
      this.socket.on('auth', (reply) => {
        if (reply.error) reject(new Error(`auth refused: ${reply.error.message}`));
      });
      this.socket.on('close', (event) => this.closed(event));
      this.socket.onmessage = (event) => this.message(JSON.parse(event.data));
      this.waiting.set('hs', resolve);
      this.waiting.set('error', reject);
    }).then(
      () =>
        new Promise((resolve, reject) => {
          this.waiting.set('s', resolve);
          this.waiting.set('error', reject);
          this.send({a: 's', c: COLLECTION, d: this.spec.dashboard});
        }),
    );
    return withTimeout(opened, CONNECT_TIMEOUT_MS, `${this.key}: connect and subscribe`);
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  step(action, value) {
    const resolve = this.waiting.get(action);
    if (!resolve) return;
    this.waiting.clear();
    resolve(value);
  }

  message(msg) {
    switch (msg.a) {
      case 'init':
        this.send({a: 'hs', id: null, protocol: 1, protocolMinor: 2});
        return;
      case 'hs':
        if (msg.error) return this.step('error', new Error(msg.error.message));
        this.src = msg.id;
        return this.step('hs');
      case 's':
        if (msg.error) return this.step('error', new Error(msg.error.message));
        this.v = msg.data.v;
        this.last = msg.data.data && msg.data.data.settings ? msg.data.data.settings[this.key] : undefined;
        return this.step('s');
      case 'op':
        return this.op(msg);
      default:
        if (msg.error) this.step('error', new Error(msg.error.message));
    }
  }

  op(msg) {
    if (typeof msg.v === 'number' && msg.v + 1 > this.v) this.v = msg.v + 1;
    const inflight = this.inflight;
    // An error reply may not echo src/seq; one op is in flight at a time, so it is that one's.
    const mine = inflight && ((msg.src === this.src && msg.seq === inflight.seq) || msg.error);
    if (mine) {
      this.inflight = null;
      if (msg.error) {
        const err = new Error(msg.error.message);
        err.code = msg.error.code;
        inflight.callback(err);
      } else {
        inflight.callback(null);
      }
      return;
    }
    if (msg.op && msg.src !== this.src && this.firstSight(msg.v)) this.onRemote(msg.op);
  }

  firstSight(v) {
    if (this.seen.has(v)) return false;
    this.seen.add(v);
    if (v > this.seenTop) this.seenTop = v;
    if (this.seen.size > 8192) {
      for (const old of this.seen) if (old < this.seenTop - 4096) this.seen.delete(old);
    }
    return true;
  }

  submit(op, callback) {
    this.seq += 1;
    this.inflight = {seq: this.seq, callback};
    this.send({a: 'op', c: COLLECTION, d: this.spec.dashboard, v: this.v, src: this.src, seq: this.seq, op});
  }

  closed(event) {
    const inflight = this.inflight;
    this.inflight = null;
    if (inflight) inflight.callback(new Error(`connection closed (${event && event.code})`));
  }

  close() {
    this.socket.close();
  }
}

class Run {
  constructor(config) {
    this.config = config;
    this.mode = config.mode || 'closed';
    this.rate = config.rate || 1;
    this.windowStart = Infinity;
    this.windowEnd = Infinity;
    this.submitting = false;
    this.ack = new Histogram();
    this.broadcast = new Histogram();
    this.sentInWindow = 0;
    this.ackedInWindow = 0; // acks received inside the window (throughput)
    this.ackedOfWindow = 0; // acks of ops sent inside the window, whenever they came
    this.failedOfWindow = 0; // ops sent inside the window that the server rejected
    this.skipped = 0; // paced ticks that found the previous op still unacked
    this.errorCount = 0;
    this.errorSamples = [];
    this.workers = [];
    this.timers = [];
  }

  inWindow(t) {
    return t >= this.windowStart && t < this.windowEnd;
  }

  async connect() {
    const batch = this.config.connectBatch || 20;
    const specs = this.config.clients;
    for (let i = 0; i < specs.length; i += batch) {
      const slice = specs.slice(i, i + batch);
      const made = await Promise.all(slice.map((spec) => this.connectOne(spec)));
      this.workers.push(...made);
    }
  }

  async connectOne(spec) {
    const Worker = this.config.client === 'sharedb' ? StockWorker : WireWorker;
    const worker = new Worker(spec, (op) => this.received(op));
    await worker.open();
    return worker;
  }

  // A remote op reached a client of this process.
  received(op) {
    const at = now();
    for (const component of op) {
      const value = component.oi;
      if (value && typeof value.t === 'number' && this.inWindow(value.t)) {
        this.broadcast.add(at - value.t);
      }
    }
  }

  submit(worker) {
    const t = now();
    worker.n += 1;
    const value = {t, n: worker.n};
    const component = {p: ['settings', worker.key], oi: value};
    if (worker.last !== undefined) component.od = worker.last;
    worker.busy = true;
    const counted = this.inWindow(t);
    if (counted) this.sentInWindow += 1;
    return new Promise((resolve) => {
      worker.submit([component], (err) => {
        worker.busy = false;
        const at = now();
        if (err) {
          if (counted) this.failedOfWindow += 1;
          this.errorCount += 1;
          if (this.errorSamples.length < 5) {
            this.errorSamples.push({client: worker.key, code: err.code, message: String(err.message)});
          }
          resolve(false);
          return;
        }
        // Only a committed value is what the next op's `od` removes.
        worker.last = value;
        if (this.inWindow(at)) this.ackedInWindow += 1;
        if (counted) {
          this.ackedOfWindow += 1;
          this.ack.add(at - t);
        }
        resolve(true);
      });
    });
  }

  async closedLoop(worker) {
    while (this.submitting) {
      const ok = await this.submit(worker);
      // A rejected op would be rejected again at once: back off instead of spinning.
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  paced(worker, index) {
    const period = 1000 / this.rate;
    // Spread the clients over the period so the server sees a steady stream, not bursts.
    const phase = (index / this.workers.length) * period;
    const tick = () => {
      if (!this.submitting) return;
      if (worker.busy) this.skipped += this.inWindow(now()) ? 1 : 0;
      else this.submit(worker);
    };
    const start = setTimeout(() => {
      tick();
      this.timers.push(setInterval(tick, period));
    }, phase);
    this.timers.push(start);
  }

  async run(go) {
    const warmup = this.config.warmupMs ?? 2000;
    const measure = this.config.measureMs ?? 10000;
    const drain = this.config.drainMs ?? 5000;
    const delay = Math.max(0, go - now());
    await new Promise((resolve) => setTimeout(resolve, delay));
    this.windowStart = go + warmup;
    this.windowEnd = this.windowStart + measure;
    this.submitting = true;
    const loops =
      this.mode === 'paced'
        ? (this.workers.forEach((w, i) => this.paced(w, i)), [])
        : this.workers.map((w) => this.closedLoop(w));

    // CPU and event-loop delay of this process over the window alone.
    await new Promise((resolve) => setTimeout(resolve, this.windowStart - now()));
    const cpuStart = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({resolution: LOOP_SAMPLE_MS});
    loopDelay.enable();
    await new Promise((resolve) => setTimeout(resolve, this.windowEnd - now()));
    const cpu = process.cpuUsage(cpuStart);
    loopDelay.disable();
    this.submitting = false;
    for (const timer of this.timers) clearTimeout(timer);

    const drainEnd = now() + drain;
    while (this.ackedOfWindow + this.failedOfWindow < this.sentInWindow && now() < drainEnd) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Closed loops end after their last ack; do not wait on one that never comes.
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 100))]);
    return this.result(measure, cpu, loopDelay);
  }

  result(measure, cpu, loopDelay) {
    const seconds = measure / 1000;
    const cpuFraction = (cpu.user + cpu.system) / 1e6 / seconds;
    // The histogram holds whole sampling intervals; the lag is what exceeds the interval.
    const loopP99 = Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_SAMPLE_MS);
    return {
      mode: this.mode,
      clients: this.workers.length,
      seconds,
      sent: this.sentInWindow,
      acked: this.ackedOfWindow,
      failed: this.failedOfWindow,
      unacked: this.sentInWindow - this.ackedOfWindow - this.failedOfWindow,
      opsPerSec: this.ackedInWindow / seconds,
      skipped: this.skipped,
      errors: this.errorCount,
      errorSamples: this.errorSamples,
      ack: this.ack.toJSON(),
      broadcast: this.broadcast.toJSON(),
      generator: {
        cpu: cpuFraction,
        loopDelayP99Ms: loopP99,
        // One Node thread: near a full core, or a lagging event loop, means the latencies
        // include time the op or its broadcast waited inside this process.
        saturated: cpuFraction > 0.85 || loopP99 > 20,
      },
    };
  }

  close() {
    for (const worker of this.workers) worker.close();
  }
}

async function main() {
  const lines = readline.createInterface({input: process.stdin});
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error('no configuration on stdin');
  const config = JSON.parse(first.value);
  offerDeflate = Boolean(config.deflate);
  const run = new Run(config);
  await run.connect();
  output({event: 'ready', clients: run.workers.length});
  const second = await iterator.next();
  if (second.done) throw new Error('stdin closed before the go line');
  const result = await run.run(JSON.parse(second.value).go);
  run.close();
  lines.close();
  return result;
}

// Bounded in time whatever the server does: the caller's deadline is the real one, this one
// only makes sure the process never lingers.
const deadline = setTimeout(() => {
  output({error: 'load generator deadline passed'});
  process.exit(3);
}, 600000);

main()
  .then((result) => {
    clearTimeout(deadline);
    output(result);
    process.exit(0);
  })
  .catch((err) => {
    clearTimeout(deadline);
    output({error: String(err && err.stack ? err.stack : err)});
    process.exit(2);
  });
