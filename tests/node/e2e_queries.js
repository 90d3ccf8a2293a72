'use strict';
// Live dashboard lists: user B's subscribed query (connection.createSubscribeQuery) follows what
// B may see while A shares dashboards with B over HTTP, creates them with doc.create, archives
// one with doc.del, revokes B and restores the archived one, and B deletes its own; each change
// reaches B's `results` as a `q` diff (B and A are on different gateways). Then create and del
// are tried by every role, and B's query, destroyed, gets nothing more.
//
// stdin: {a_url, b_url, http, a_token, b_token, b_user, stranger_token, existing}
// stdout: {steps: [{name, ms, ids, fresh}], events, diffs, refused: {...}, after_destroy}

const crypto = require('crypto');
const {
  TandemClient, attempt, errorInfo, fetch, runScenario, sleep, waitFor,
} = require('./tandem_client');

const QUERY = {$limit: 50};

async function api(http, token, method, path, body) {
  const response = await globalThis.fetch(`${http}/api${path}`, {
    method,
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function liveQuery(connection, events) {
  return new Promise((resolve, reject) => {
    const query = connection.createSubscribeQuery('dashboards', QUERY, {}, (err) =>
      err ? reject(err) : resolve(query),
    );
    for (const name of ['insert', 'remove', 'move']) {
      query.on(name, (docs, index, to) =>
        events.push({event: name, ids: docs.map((doc) => doc.id), index, to}),
      );
    }
    query.on('changed', (results) => events.push({event: 'changed', count: results.length}));
  });
}

function freshIds(connection) {
  return new Promise((resolve, reject) =>
    connection.createFetchQuery('dashboards', QUERY, {}, (err, results) =>
      err ? reject(err) : resolve(results.map((doc) => doc.id)),
    ),
  );
}

function done(call) {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}

function documentOf(title) {
  return {title, description: '', settings: {}, widgets: {}, layout: []};
}

async function main(input) {
  const a = new TandemClient({urls: [input.a_url], token: input.a_token, name: 'a'});
  const b = new TandemClient({urls: [input.b_url], token: input.b_token, name: 'b'});
  const diffs = [];
  b.connection.on('receive', (request) => {
    // A copy: the client swaps an insert's snapshots for its Docs in the message itself.
    if (request.data && request.data.a === 'q') diffs.push(JSON.parse(JSON.stringify(request.data)));
  });
  const events = [];
  const bq = await liveQuery(b.connection, events);
  const aq = await liveQuery(a.connection, []);
  const ids = (query) => query.results.map((doc) => doc.id);
  const steps = [{name: 'start', ms: 0, ids: ids(bq), fresh: await freshIds(b.connection)}];

  async function step(name, change, query, predicate) {
    const started = Date.now();
    await change();
    await waitFor(() => predicate(ids(query)), 5000, name);
    const ms = Date.now() - started;
    await sleep(150); // anything else the change sent arrives before the comparison
    steps.push({name, ms, ids: ids(query), fresh: await freshIds(query.connection)});
  }

  const share = (dashboard, role) =>
    api(input.http, input.a_token, 'PUT', `/dashboards/${dashboard}/collaborators/${input.b_user}`,
      {role});

  // A creates a dashboard on the socket: A's own list (another connection's query) shows it.
  const mine = crypto.randomUUID();
  await step('a_creates', () => done((cb) => a.connection.get('dashboards', mine)
    .create(documentOf('Made on the socket'), 'json0', cb)), aq, (list) => list.includes(mine));
  await step('a_shares_created', () => share(mine, 'editor'), bq, (list) => list.includes(mine));
  await step('a_shares_existing', () => share(input.existing, 'viewer'), bq,
    (list) => list.includes(input.existing));
  const own = crypto.randomUUID();
  await step('b_creates', () => done((cb) => b.connection.get('dashboards', own)
    .create(documentOf('B made this'), 'json0', cb)), bq, (list) => list.includes(own));

  // Create and del by role.
  const stranger = new TandemClient({urls: [input.a_url], token: input.stranger_token, name: 's'});
  const link = await api(input.http, input.a_token, 'POST', `/dashboards/${mine}/share-links`,
    {role: 'editor'});
  const guestSession = await api(input.http, input.a_token, 'POST', '/guest-sessions',
    {token: link.token, display_name: 'Guest'});
  const guest = new TandemClient({urls: [input.a_url], token: guestSession.token, name: 'g'});
  // A refused op is rolled back by refetching the doc; a dashboard that does not exist (or
  // that the client may not see) is not_found, which the doc emits as an error.
  const docErrors = [];
  const docOf = (client, id) => {
    const doc = client.connection.get('dashboards', id);
    if (!doc.listenerCount('error')) doc.on('error', (err) => docErrors.push(errorInfo(err)));
    return doc;
  };
  const create = (client, id, data) =>
    attempt(done((cb) => docOf(client, id).create(data, 'json0', cb)));
  const del = (client, id) => attempt(done((cb) => docOf(client, id).del(cb)));
  // Clients that have not seen the dashboards, so the stock client sends the create rather
  // than refusing it itself.
  const b2 = new TandemClient({urls: [input.a_url], token: input.b_token, name: 'b2'});
  const a2 = new TandemClient({urls: [input.b_url], token: input.a_token, name: 'a2'});
  await fetch(b.connection.get('dashboards', mine));
  const refused = {
    guest_create: await create(guest, crypto.randomUUID(), documentOf('Guest')),
    viewer_create_existing: await create(b2, input.existing, documentOf('Over it')),
    admin_create_existing: await create(a2, mine, documentOf('Again')),
    stranger_create_existing: await create(stranger, mine, documentOf('Taken')),
    invalid_document: await create(b, crypto.randomUUID(), {title: 5}),
    editor_del: await del(b, mine),
  };
  await fetch(b.connection.get('dashboards', input.existing));
  refused.viewer_del = await del(b, input.existing);
  const guestId = crypto.randomUUID();
  refused.guest_list = ids(await liveQuery(guest.connection, []));
  refused.guest_created_nothing = await attempt(fetch(a.connection.get('dashboards', guestId)));

  // A archives the shared dashboard with doc.del, then revokes B from the other.
  const archived = a.connection.get('dashboards', input.existing);
  await fetch(archived);
  await step('a_archives', () => done((cb) => archived.del(cb)), bq,
    (list) => !list.includes(input.existing));
  const archivedType = archived.type ? archived.type.name : null;
  await step('a_revokes', () => api(input.http, input.a_token, 'DELETE',
    `/dashboards/${mine}/collaborators/${input.b_user}`), bq, (list) => !list.includes(mine));

  // A restores the archived one (B is still its viewer: B's results did not hold it, so B is
  // found as a member); B deletes its own dashboard over HTTP.
  await step('a_unarchives', () => api(input.http, input.a_token, 'PATCH',
    `/dashboards/${input.existing}`, {archived: false}), bq,
  (list) => list.includes(input.existing));
  await step('b_deletes', () => api(input.http, input.b_token, 'DELETE', `/dashboards/${own}`),
    bq, (list) => !list.includes(own));

  // Destroyed (qu): B's query hears nothing more.
  const before = diffs.length;
  await done((cb) => bq.destroy(cb));
  await share(mine, 'viewer');
  await sleep(800);
  const afterDestroy = {diffs: diffs.length - before, fresh: await freshIds(b.connection)};

  const errors = [...a.errors, ...b.errors];
  for (const client of [a, b, a2, b2, stranger, guest]) client.close();
  return {steps, events, diffs, refused, archived_type: archivedType, after_destroy: afterDestroy,
    mine, own, errors, doc_errors: docErrors};
}

runScenario(main, 90000);
