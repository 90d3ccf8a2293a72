'use strict';
// Several stock ShareDB clients edit one dashboard concurrently: json0 edits (widget moves,
// settings, widgets added to / moved in / removed from the layout), text-unicode typing into one
// widget title and rich-text inserts and formatting on one widget body, all at overlapping
// positions and without waiting for each other. Then every client must hold the same document
// as a fresh fetch.
//
// stdin: {urls, tokens, dashboard, clients, ops, seed}; client i uses urls[i % urls.length] and
// tokens[i % tokens.length].
// stdout: {fresh: {v, data}, clients: [{name, url, v, data, errors}], submitted, acked, rejected}

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
  widget,
} = require('./tandem_client');

const NOTES = 'notes'; // its title takes text-unicode ops
const STORY = 'story'; // its body takes rich-text ops
const CHART = 'chart'; // moved around
const FIXED = [NOTES, STORY, CHART];
const TYPED = ['a', 'b', 'é', '😀', 'xy', ' '];

function setupOp(data) {
  const op = [];
  if (!data.widgets) op.push({p: ['widgets'], oi: {}});
  if (!Array.isArray(data.layout)) op.push({p: ['layout'], oi: []});
  FIXED.forEach((id, i) => {
    op.push({p: ['widgets', id], oi: widget({title: id === NOTES ? '' : id})});
    op.push({p: ['layout', i], li: id});
  });
  return op;
}

function codePoints(text) {
  return Array.from(text).length;
}

function deltaLength(body) {
  return body.ops.reduce((n, c) => n + (typeof c.insert === 'string' ? c.insert.length : 1), 0);
}

// Positions cluster at the start, the end and one fixed spot so that clients collide.
function position(rnd, length) {
  return rnd.pick([0, length, Math.min(2, length), rnd.int(length + 1)]);
}

function textOp(rnd, data) {
  const title = data.widgets[NOTES].title;
  const length = codePoints(title);
  const at = position(rnd, length);
  if (length > 0 && at < length && rnd() < 0.25) {
    const count = 1 + rnd.int(Math.min(2, length - at));
    return [{p: ['widgets', NOTES, 'title'], t: 'text-unicode', o: at ? [at, {d: count}] : [{d: count}]}];
  }
  const text = rnd.pick(TYPED);
  return [{p: ['widgets', NOTES, 'title'], t: 'text-unicode', o: at ? [at, text] : [text]}];
}

function richOp(rnd, data) {
  // Keep the final newline, as an editor would.
  const length = deltaLength(plain(data.widgets[STORY].body)) - 1;
  const at = position(rnd, length);
  const lead = at ? [{retain: at}] : [];
  const roll = rnd();
  if (roll < 0.3 && at < length) {
    const count = 1 + rnd.int(Math.min(3, length - at));
    const attributes = rnd.pick([{bold: true}, {italic: true}, {bold: null}, {color: '#c00'}]);
    return [{p: ['widgets', STORY, 'body'], t: 'rich-text', o: [...lead, {retain: count, attributes}]}];
  }
  if (roll < 0.4 && at < length) {
    return [{p: ['widgets', STORY, 'body'], t: 'rich-text', o: [...lead, {delete: 1}]}];
  }
  const insert = {insert: rnd.pick(['a', 'b', 'cd', 'é'])};
  if (rnd() < 0.4) insert.attributes = rnd.pick([{bold: true}, {underline: true}]);
  return [{p: ['widgets', STORY, 'body'], t: 'rich-text', o: [...lead, insert]}];
}

function moveOp(rnd, data) {
  const current = data.widgets[CHART].position;
  if (rnd() < 0.5) {
    // Positions are non-negative: nudges only go right or down.
    return [{p: ['widgets', CHART, 'position', rnd.pick(['x', 'y'])], na: rnd.pick([1, 2])}];
  }
  const moved = Object.assign({}, current, {x: rnd.int(12), y: rnd.int(12)});
  return [{p: ['widgets', CHART, 'position'], od: current, oi: moved}];
}

function settingsOp(rnd, data) {
  const settings = data.settings || {};
  if (rnd() < 0.5) {
    const theme = rnd.pick(['dark', 'light']);
    return [
      'theme' in settings
        ? {p: ['settings', 'theme'], od: settings.theme, oi: theme}
        : {p: ['settings', 'theme'], oi: theme},
    ];
  }
  const size = rnd.pick([4, 8, 16]);
  return [
    'gridSize' in settings
      ? {p: ['settings', 'gridSize'], od: settings.gridSize, oi: size}
      : {p: ['settings', 'gridSize'], oi: size},
  ];
}

function layoutOp(rnd, data, own) {
  const layout = data.layout;
  const roll = rnd();
  if (roll < 0.3 && layout.length >= 2) {
    const from = rnd.int(layout.length);
    const to = rnd.int(layout.length);
    if (from !== to) return [{p: ['layout', from], lm: to}];
  }
  const mine = layout.filter((id) => own.ids.has(id));
  if (roll > 0.85 && mine.length) {
    const id = rnd.pick(mine);
    return [
      {p: ['layout', layout.indexOf(id)], ld: id},
      {p: ['widgets', id], od: plain(data.widgets[id])},
    ];
  }
  const id = `${own.prefix}-${own.next++}`;
  own.ids.add(id);
  return [
    {p: ['widgets', id], oi: widget({title: id, position: {x: 0, y: 0, width: 2, height: 2, zIndex: 2}})},
    {p: ['layout', rnd.int(layout.length + 1)], li: id},
  ];
}

function nextOp(rnd, data, own) {
  const roll = rnd();
  if (roll < 0.3) return textOp(rnd, data);
  if (roll < 0.55) return richOp(rnd, data);
  if (roll < 0.7) return moveOp(rnd, data);
  if (roll < 0.8) return settingsOp(rnd, data);
  return layoutOp(rnd, data, own);
}

async function main(input) {
  const {urls, tokens, dashboard, clients: count, ops, seed} = input;
  const clients = [];
  for (let i = 0; i < count; i++) {
    clients.push(
      new TandemClient({
        urls: [urls[i % urls.length]],
        token: tokens[i % tokens.length],
        name: `c${i}`,
        reconnect: false,
      }),
    );
  }
  const docs = await Promise.all(clients.map((c) => subscribe(c.doc(dashboard))));
  if (!docs[0].data.widgets || !docs[0].data.widgets[NOTES]) {
    await submit(docs[0], setupOp(docs[0].data));
  }
  await waitFor(
    () => docs.every((d) => d.data.widgets && FIXED.every((id) => d.data.widgets[id])),
    10000,
    'every client sees the set-up widgets',
  );

  let submitted = 0;
  const results = [];
  await Promise.all(
    docs.map(async (doc, i) => {
      const rnd = random(seed * 1000 + i);
      const own = {prefix: `w${i}`, ids: new Set(), next: 0};
      // Even clients let the stock client compose what waits behind the op in flight (so
      // composed subtype ops reach the server); odd ones send every op on its own, so the
      // server transforms many small ops against each other.
      doc.preventCompose = i % 2 === 1;
      for (let n = 0; n < ops; n++) {
        const op = nextOp(rnd, doc.data, own);
        submitted += 1;
        results.push(submit(doc, op));
        if (rnd() < 0.7) await sleep(rnd.int(12));
      }
    }),
  );
  const settled = await Promise.allSettled(results);
  const rejected = settled
    .filter((r) => r.status === 'rejected')
    .map((r) => ({code: r.reason && r.reason.code, message: String(r.reason && r.reason.message)}));

  const fresh = await fetchFresh(urls[0], tokens[0], dashboard);
  await waitFor(
    () => docs.every((d) => d.version >= fresh.v && !d.hasPending()),
    15000,
    `every client reaches version ${fresh.v}`,
  );
  const report = clients.map((c, i) => ({
    name: c.name,
    url: c.url,
    v: docs[i].version,
    data: plain(docs[i].data),
    errors: c.errors,
  }));
  clients.forEach((c) => c.close());
  return {
    fresh,
    clients: report,
    submitted,
    acked: settled.length - rejected.length,
    rejected,
  };
}

runScenario(main, 90000);
