'use strict';
// Channel presence (connection.getPresence('dashboards.<id>'), which needs nothing from the doc
// type) while ops flow: A and B edit the dashboard's settings concurrently, A updates its
// presence between its ops, and B, on another gateway, ends with A's latest value. Doc presence
// (getDocPresence) would need json0 to transform presence, which the stock type cannot.
//
// stdin: {urls, tokens, dashboard, ops}; A uses urls[0], B urls[1 % n].
// stdout: {value, b_seen, acked, submitted, errors}

const {TandemClient, plain, runScenario, submit, subscribe, waitFor, withTimeout} = require('./tandem_client');

async function watch(client, dashboard) {
  const doc = await subscribe(client.doc(dashboard));
  const presence = client.connection.getPresence(`dashboards.${dashboard}`);
  const seen = {};
  presence.on('receive', (id, value) => {
    seen[id] = plain(value);
  });
  presence.on('error', (err) => client.errors.push({where: 'presence', code: err.code, message: err.message}));
  await withTimeout(
    new Promise((resolve, reject) => presence.subscribe((err) => (err ? reject(err) : resolve()))),
    5000,
    `${client.name} presence subscribe`,
  );
  return {doc, presence, seen};
}

function submitPresence(local, value) {
  return withTimeout(
    new Promise((resolve, reject) => local.submit(value, (err) => (err ? reject(err) : resolve()))),
    5000,
    'A submits its presence',
  );
}

function settingsOp(doc, key, value) {
  const settings = doc.data.settings;
  if (!settings || typeof settings !== 'object') return [{p: ['settings'], od: settings, oi: {[key]: value}}];
  const path = ['settings', key];
  return key in settings ? [{p: path, od: settings[key], oi: value}] : [{p: path, oi: value}];
}

async function main({urls, tokens, dashboard, ops}) {
  const make = (i, name) =>
    new TandemClient({urls: [urls[i % urls.length]], token: tokens[i % tokens.length], name, reconnect: false});
  const a = make(0, 'A');
  const b = make(1, 'B');
  const pa = await watch(a, dashboard);
  const pb = await watch(b, dashboard);
  const local = pa.presence.create('presence-a');

  let submitted = 0;
  let acked = 0;
  const edit = (client, doc, key, value) => {
    submitted += 1;
    return submit(doc, settingsOp(doc, key, value)).then(
      () => {
        acked += 1;
      },
      (err) => client.errors.push({where: 'submit', code: err.code, message: String(err.message)}),
    );
  };
  // Neither client waits for its acks before the next op, so ops cross in flight.
  const pending = [];
  let value = null;
  for (let i = 0; i < ops; i += 1) {
    pending.push(edit(a, pa.doc, 'a', i));
    pending.push(edit(b, pb.doc, 'b', i));
    if (i % 5 === 4) {
      value = {cursor: {widget: 'w1', index: i}, color: '#3366ff', name: 'Ann'};
      pending.push(submitPresence(local, value));
    }
  }
  await Promise.all(pending);
  await waitFor(
    () => JSON.stringify(pb.seen['presence-a']) === JSON.stringify(value),
    5000,
    'B receives A\'s latest presence',
  );
  const result = {
    value,
    b_seen: pb.seen['presence-a'],
    submitted,
    acked,
    settings: {a: plain(pa.doc.data.settings), b: plain(pb.doc.data.settings)},
    errors: [...a.errors, ...b.errors],
  };
  a.close();
  b.close();
  return result;
}

runScenario(main, 40000);
