'use strict';
// Stock ShareDB clients keep editing while one user restores an earlier version over HTTP
// (POST /api/dashboards/{id}/restore). The restore is one op through the sequencer: every
// client sees it live and converges on the restored document plus the edits made after it.
//
// stdin: {urls, api, token, dashboard, clients, ops, seed}
// stdout: {fresh, clients: [{name, v, data, errors}], restored: {version, restored_from},
//          base: {v, data}, submitted, rejected}

const {TandemClient, fetchFresh, plain, random, runScenario, sleep, submit, subscribe, waitFor,
  widget} = require('./tandem_client');

async function restore(api, token, dashboard, version) {
  const res = await fetch(`${api}/api/dashboards/${dashboard}/restore`, {
    method: 'POST',
    headers: {'content-type': 'application/json', authorization: `Bearer ${token}`},
    body: JSON.stringify({version}),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`restore answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

function nudge(rnd, id) {
  // Position nudges only grow x or y: they commute, so the expected end state is exact.
  return [{p: ['widgets', id, 'position', rnd.pick(['x', 'y'])], na: 1}];
}

async function main(input) {
  const {urls, api, token, dashboard, clients: count, ops, seed} = input;
  const clients = [];
  for (let i = 0; i < count; i++) {
    clients.push(new TandemClient({urls: [urls[i % urls.length]], token, name: `c${i}`,
      reconnect: false}));
  }
  const docs = await Promise.all(clients.map((c) => subscribe(c.doc(dashboard))));
  const first = docs[0];
  const setup = [];
  ['keep', 'moving'].forEach((id, i) => {
    setup.push({p: ['widgets', id], oi: widget({title: id})});
    setup.push({p: ['layout', i], li: id});
  });
  await submit(first, setup);
  await waitFor(() => docs.every((d) => d.data.widgets.moving), 10000, 'set-up seen');
  const base = {v: first.version, data: plain(first.data)};

  // Changes after the base that the restore must undo: a new widget and a retitle.
  await submit(first, [{p: ['widgets', 'doomed'], oi: widget({title: 'doomed'})},
    {p: ['layout', 2], li: 'doomed'}]);
  await submit(first, [{p: ['widgets', 'keep', 'title'], od: 'keep', oi: 'renamed'}]);
  await waitFor(() => docs.every((d) => d.data.widgets.doomed), 10000, 'doomed seen');

  let submitted = 0;
  const results = [];
  let restored = null;
  const editing = docs.map(async (doc, i) => {
    const rnd = random(seed * 100 + i);
    for (let n = 0; n < ops; n++) {
      submitted += 1;
      results.push(submit(doc, nudge(rnd, 'moving')));
      await sleep(rnd.int(8));
    }
  });
  await sleep(30);
  restored = await restore(api, token, dashboard, base.v);
  await Promise.all(editing);
  const settled = await Promise.allSettled(results);
  const rejected = settled.filter((r) => r.status === 'rejected')
    .map((r) => String(r.reason && r.reason.message));
  const fresh = await fetchFresh(urls[0], token, dashboard);
  await waitFor(() => docs.every((d) => d.version >= fresh.v && !d.hasPending()), 15000,
    `every client reaches version ${fresh.v}`);
  const report = clients.map((c, i) => ({name: c.name, v: docs[i].version,
    data: plain(docs[i].data), errors: c.errors}));
  clients.forEach((c) => c.close());
  return {fresh, clients: report, restored, base, submitted, rejected};
}

runScenario(main, 90000);
