'use strict';
// Clients spread over several gateways keep submitting uniquely marked ops (each inserts one
// marker string into a list) while the test kills a gateway with SIGKILL. Clients whose socket
// dies reconnect to the next gateway and the stock client resubmits what was in flight. The
// result lists every marker whose op the server acknowledged, so the test can check that each
// is in the document and the log exactly once.
//
// stdin: {urls, tokens, dashboard, clients, ops, interval_ms, seed}; client i starts on
// urls[i % urls.length] and moves on to the next URL whenever its socket is lost.
// stdout: a line {event: 'ready', url_of_setup} once the clients are subscribed and the set-up
// op is committed (the test kills a gateway some time after that line), then the result:
// {fresh, clients: [{name, url, v, data, connects, resent, errors}], acked, rejected, unacked}

const {
  TandemClient,
  errorInfo,
  fetchFresh,
  output,
  plain,
  random,
  runScenario,
  sleep,
  submit,
  subscribe,
  waitFor,
  widget,
  withTimeout,
} = require('./tandem_client');

const LOG = 'log';

function marks(doc) {
  return doc.data.widgets[LOG].data.marks;
}

async function freshFromAny(urls, token, dashboard) {
  let last = null;
  for (const url of urls) {
    try {
      return await fetchFresh(url, token, dashboard);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function main({urls, tokens, dashboard, clients: count, ops, interval_ms: interval, seed}) {
  const clients = [];
  for (let i = 0; i < count; i++) {
    const start = i % urls.length;
    clients.push(
      new TandemClient({
        urls: [...urls.slice(start), ...urls.slice(0, start)],
        token: tokens[i % tokens.length],
        name: `c${i}`,
        reconnectDelay: 150,
      }),
    );
  }
  const docs = await Promise.all(clients.map((c) => subscribe(c.doc(dashboard))));
  const setup = [];
  if (!docs[0].data.widgets) setup.push({p: ['widgets'], oi: {}});
  if (!Array.isArray(docs[0].data.layout)) setup.push({p: ['layout'], oi: []});
  setup.push({p: ['widgets', LOG], oi: widget({title: 'log', data: {marks: []}})});
  setup.push({p: ['layout', 0], li: LOG});
  await withTimeout(submit(docs[0], setup), 10000, 'set-up op');
  await waitFor(() => docs.every((d) => d.data.widgets && d.data.widgets[LOG]), 10000, 'set-up seen');
  output({event: 'ready', url_of_setup: clients[0].url});

  const acked = [];
  const rejected = [];
  const pending = [];
  await Promise.all(
    docs.map(async (doc, i) => {
      const rnd = random(seed * 1000 + i);
      await sleep(rnd.int(interval));
      for (let n = 0; n < ops; n++) {
        const marker = `c${i}-${n}`;
        const at = rnd.int(marks(doc).length + 1);
        pending.push(
          submit(doc, [{p: ['widgets', LOG, 'data', 'marks', at], li: marker}]).then(
            () => acked.push(marker),
            (err) => rejected.push({marker, ...errorInfo(err)}),
          ),
        );
        await sleep(interval);
      }
    }),
  );
  let unackedError = null;
  try {
    await withTimeout(Promise.all(pending), 45000, 'every op acknowledged or rejected');
  } catch (err) {
    unackedError = String(err.message);
  }
  const settled = new Set([...acked, ...rejected.map((r) => r.marker)]);
  const unacked = [];
  docs.forEach((_, i) => {
    for (let n = 0; n < ops; n++) if (!settled.has(`c${i}-${n}`)) unacked.push(`c${i}-${n}`);
  });

  const fresh = await freshFromAny(urls, tokens[0], dashboard);
  let convergeError = null;
  try {
    await waitFor(
      () => docs.every((d) => d.version >= fresh.v && !d.hasPending()),
      15000,
      `every client reaches version ${fresh.v}`,
    );
  } catch (err) {
    convergeError = String(err.message);
  }
  const report = clients.map((c, i) => ({
    name: c.name,
    url: c.url,
    v: docs[i].version,
    data: plain(docs[i].data),
    connects: c.connects,
    resent: c.resent(),
    errors: c.errors,
  }));
  clients.forEach((c) => c.close());
  return {
    fresh,
    clients: report,
    acked,
    rejected,
    unacked,
    unacked_error: unackedError,
    converge_error: convergeError,
  };
}

runScenario(main, 100000);
