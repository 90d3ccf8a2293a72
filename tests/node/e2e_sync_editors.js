'use strict';
// Stock ShareDB clients keep editing one dashboard while offline clients sync into it over
// HTTP: nudges of a chart, typing into a text title (text-unicode), and settings, without
// waiting for each other, until the stop file appears (or maxMs passes). Then every client
// must hold the same document as a fresh fetch.
//
// The dashboard must hold widgets `chart` and `notes` (the caller sets them up).
// stdin: {urls, tokens, dashboard, clients, seed, stopFile, maxMs}
// stdout: {fresh: {v, data}, clients: [{name, v, data, errors}], submitted, acked, rejected}

const fs = require('fs');
const {
  TandemClient,
  fetchFresh,
  plain,
  random,
  runScenario,
  sleep,
  submit,
  subscribe,
  waitFor,
} = require('./tandem_client');

function nextOp(rnd, data) {
  const roll = rnd();
  if (roll < 0.4) {
    const title = data.widgets.notes.title;
    const length = Array.from(title).length;
    if (length > 100) {
      // Titles are capped (500): a long one loses a character instead.
      const at = rnd.int(length);
      return [{p: ['widgets', 'notes', 'title'], t: 'text-unicode', o: at ? [at, {d: 1}] : [{d: 1}]}];
    }
    const at = rnd.int(length + 1);
    const text = rnd.pick(['a', 'b', 'é', '😀', ' ']);
    return [{p: ['widgets', 'notes', 'title'], t: 'text-unicode', o: at ? [at, text] : [text]}];
  }
  if (roll < 0.8) {
    return [{p: ['widgets', 'chart', 'position', rnd.pick(['x', 'y'])], na: 1}];
  }
  const settings = data.settings || {};
  const theme = rnd.pick(['dark', 'light']);
  return [
    'theme' in settings
      ? {p: ['settings', 'theme'], od: settings.theme, oi: theme}
      : {p: ['settings', 'theme'], oi: theme},
  ];
}

async function main(input) {
  const {urls, tokens, dashboard, clients: count, seed, stopFile, maxMs} = input;
  const clients = [];
  for (let i = 0; i < count; i++) {
    clients.push(
      new TandemClient({
        urls: [urls[i % urls.length]],
        token: tokens[i % tokens.length],
        name: `e${i}`,
        reconnect: false,
      }),
    );
  }
  const docs = await Promise.all(clients.map((c) => subscribe(c.doc(dashboard))));
  const end = Date.now() + maxMs;
  let submitted = 0;
  const results = [];
  await Promise.all(
    docs.map(async (doc, i) => {
      const rnd = random(seed * 1000 + i);
      while (Date.now() < end && !fs.existsSync(stopFile)) {
        submitted += 1;
        results.push(submit(doc, nextOp(rnd, doc.data)));
        await sleep(5 + rnd.int(20));
      }
    }),
  );
  const settled = await Promise.allSettled(results);
  const rejected = settled
    .filter((r) => r.status === 'rejected')
    .map((r) => ({code: r.reason && r.reason.code, message: String(r.reason && r.reason.message)}));
  await sleep(300);
  const fresh = await fetchFresh(urls[0], tokens[0], dashboard);
  await waitFor(
    () => docs.every((d) => d.version >= fresh.v && !d.hasPending()),
    15000,
    `every client reaches version ${fresh.v}`,
  );
  const report = clients.map((c, i) => ({
    name: c.name,
    v: docs[i].version,
    data: plain(docs[i].data),
    errors: c.errors,
  }));
  clients.forEach((c) => c.close());
  return {fresh, clients: report, submitted, acked: settled.length - rejected.length, rejected};
}

runScenario(main, 120000);
