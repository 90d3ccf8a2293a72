'use strict';
// Presence with the sharedb@7 API: A publishes a presence on the dashboard; B (subscribed
// before) and C (subscribed after, so it needs the server's presence snapshot or a presence
// request) receive it; when A's connection is lost, B and C receive null for it.
//
// stdin: {urls, tokens, dashboard}; A, B, C use urls[0], urls[1 % n], urls[2 % n].
// stdout: {value, b_seen, c_seen, b_after_drop, c_after_drop, errors}

const {COLLECTION, TandemClient, plain, runScenario, subscribe, waitFor, withTimeout} = require('./tandem_client');

async function watch(client, dashboard) {
  const doc = await subscribe(client.doc(dashboard));
  const presence = client.connection.getDocPresence(COLLECTION, dashboard);
  const seen = {};
  const events = [];
  presence.on('receive', (id, value) => {
    seen[id] = plain(value);
    events.push({id, value: plain(value)});
  });
  presence.on('error', (err) => client.errors.push({where: 'presence', code: err.code, message: err.message}));
  await withTimeout(
    new Promise((resolve, reject) => presence.subscribe((err) => (err ? reject(err) : resolve()))),
    5000,
    `${client.name} presence subscribe`,
  );
  return {doc, presence, seen, events};
}

async function main({urls, tokens, dashboard}) {
  const make = (i, name) =>
    new TandemClient({urls: [urls[i % urls.length]], token: tokens[i % tokens.length], name, reconnect: false});
  const a = make(0, 'A');
  const b = make(1, 'B');
  const pa = await watch(a, dashboard);
  const pb = await watch(b, dashboard);

  const value = {cursor: {widget: 'w1', index: 3}, viewport: {x: 0, y: 0, zoom: 1}, color: '#3366ff', name: 'Ann'};
  const local = pa.presence.create('presence-a');
  await withTimeout(
    new Promise((resolve, reject) => local.submit(value, (err) => (err ? reject(err) : resolve()))),
    5000,
    'A submits its presence',
  );
  await waitFor(() => pb.seen['presence-a'] !== undefined, 5000, 'B receives A\'s presence');

  const c = make(2, 'C');
  const pc = await watch(c, dashboard);
  await waitFor(() => pc.seen['presence-a'] !== undefined, 5000, 'C (late) receives A\'s presence');
  const bSeen = pb.seen['presence-a'];
  const cSeen = pc.seen['presence-a'];

  // A's connection is lost without a goodbye: the server must clear its presence.
  a.kill();
  let dropError = null;
  try {
    await waitFor(
      () => pb.seen['presence-a'] === null && pc.seen['presence-a'] === null,
      8000,
      'B and C see A\'s presence cleared',
    );
  } catch (err) {
    dropError = String(err.message);
  }
  const result = {
    value,
    b_seen: bSeen,
    c_seen: cSeen,
    b_after_drop: pb.seen['presence-a'],
    c_after_drop: pc.seen['presence-a'],
    drop_error: dropError,
    b_events: pb.events,
    errors: [...a.errors, ...b.errors, ...c.errors],
  };
  b.close();
  c.close();
  return result;
}

runScenario(main, 40000);
