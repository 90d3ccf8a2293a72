'use strict';
// A client loses its connection with an op in flight, another client commits one more op, and
// the first client reconnects: the stock client resubmits the op with its original src/seq, and
// the document and the log must end up with it exactly once.
//
// mode 'lost_ack': the op frame reaches the server and commits, but the client hears nothing
//   more on that socket (so never sees the ack) until the socket is killed: the resubmit is a
//   duplicate the server must recognise.
// mode 'abrupt': the socket is killed as soon as the op frame is written; the server may or may
//   not have read it, and either way it must be applied once.
//
// stdin: {url, token, watcher_token, dashboard, marker, mode}
// stdout: {fresh, a: {v, data, errors, src, seq, connects}, w: {...},
//          committed_before_reconnect, ack_error, after_ack_error}

const {
  TandemClient,
  errorInfo,
  fetchFresh,
  plain,
  runScenario,
  submit,
  subscribe,
  waitFor,
  widget,
  withTimeout,
} = require('./tandem_client');

function hasWidget(doc, id) {
  return Boolean(doc.data && doc.data.widgets && doc.data.widgets[id]);
}

async function main({url, token, watcher_token: watcherToken, dashboard, marker, mode}) {
  const a = new TandemClient({urls: [url], token, name: 'A', reconnect: false});
  const w = new TandemClient({urls: [url], token: watcherToken, name: 'W', reconnect: false});
  const docA = await subscribe(a.doc(dashboard));
  const docW = await subscribe(w.doc(dashboard));
  if (!docA.data.widgets) await submit(docA, [{p: ['widgets'], oi: {}}]);
  if (!Array.isArray(docA.data.layout)) await submit(docA, [{p: ['layout'], oi: []}]);
  await waitFor(() => docW.version === docA.version, 5000, 'W catches up with A');

  // The op adds a widget and lists it first in the layout. Applied a second time it would list
  // the widget twice, which also makes an invalid dashboard: the client would get an error.
  const closed = new Promise((resolve) => a.socket.once('close', resolve));
  if (mode === 'abrupt') a.socket.dropAfterNextOp();
  else a.socket.deafAfterNextOp();
  const acked = submit(docA, [
    {p: ['widgets', marker], oi: widget({title: marker})},
    {p: ['layout', 0], li: marker},
  ]);

  let committedBeforeReconnect = true;
  try {
    await waitFor(() => hasWidget(docW, marker), mode === 'abrupt' ? 2000 : 5000, 'W sees the op committed');
  } catch (err) {
    committedBeforeReconnect = false;
  }
  if (mode !== 'abrupt') a.socket.terminate();
  await withTimeout(closed, 5000, 'A\'s socket is lost');
  const inflight = docA.pendingOps[0] || docA.inflightOp;
  const src = inflight ? inflight.src : null;
  const seq = inflight ? inflight.seq : null;
  // Another version lands before A comes back, so A's resubmit is based on an old version.
  await submit(docW, [{p: ['description'], od: docW.data.description, oi: `after ${marker}`}]);

  a.reconnectTo(url);
  let ackError = null;
  try {
    await withTimeout(acked, 10000, 'the resubmitted op is acknowledged');
  } catch (err) {
    ackError = errorInfo(err);
  }
  // A keeps working normally afterwards.
  let afterAckError = null;
  try {
    await withTimeout(
      submit(docA, [{p: ['layout', 0], ld: marker}, {p: ['layout', 0], li: marker}]),
      5000,
      'a follow-up op',
    );
  } catch (err) {
    afterAckError = errorInfo(err);
  }

  const fresh = await fetchFresh(url, token, dashboard);
  await waitFor(
    () => docA.version >= fresh.v && docW.version >= fresh.v && !docA.hasPending(),
    10000,
    `A and W reach version ${fresh.v}`,
  );
  const result = {
    fresh,
    a: {v: docA.version, data: plain(docA.data), errors: a.errors, src, seq, connects: a.connects},
    w: {v: docW.version, data: plain(docW.data), errors: w.errors},
    committed_before_reconnect: committedBeforeReconnect,
    ack_error: ackError,
    after_ack_error: afterAckError,
  };
  a.close();
  w.close();
  return result;
}

runScenario(main, 40000);
