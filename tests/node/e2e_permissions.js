'use strict';
// Roles at the socket: a viewer can read and subscribe but its op is rejected (the error
// reaches its submit callback, its document is rolled back); a user who is not a collaborator
// gets errors and no data for subscribe, fetch and snapshot requests; a bad token gets nothing.
//
// stdin: {url, dashboard, editor_token, viewer_token, stranger_token}
// stdout: {before, viewer: {...}, stranger: {...}, bad_token: {...}, after}

const {
  COLLECTION,
  TandemClient,
  attempt,
  fetch,
  fetchFresh,
  plain,
  runScenario,
  submit,
  subscribe,
  waitFor,
  withTimeout,
} = require('./tandem_client');

async function outsider(url, token, dashboard, name) {
  const client = new TandemClient({urls: [url], token, name, reconnect: false});
  // A server that closes the socket answers nothing more: stop waiting at once.
  let closeEvent = null;
  const closed = new Promise((_, reject) =>
    client.socket.once('close', (event) => {
      closeEvent = event;
      const err = new Error(`socket closed: ${event.code} ${event.reason}`);
      err.code = 'socket_closed';
      reject(err);
    }),
  );
  closed.catch(() => {});
  const subscribed = client.doc(dashboard);
  const subscribeError = await attempt(Promise.race([closed, subscribe(subscribed, 4000)]));
  const fetched = client.connection.get(COLLECTION, dashboard);
  const fetchError = await attempt(Promise.race([closed, fetch(fetched, 4000)]));
  const snapshotError = await attempt(
    Promise.race([closed, withTimeout(
      new Promise((resolve, reject) =>
        client.connection.fetchSnapshot(COLLECTION, dashboard, 1, (err, snapshot) =>
          err ? reject(err) : resolve(snapshot),
        ),
      ),
      4000,
      'snapshot request',
    )]),
  );
  const result = {
    subscribe_error: subscribeError,
    fetch_error: fetchError,
    snapshot_error: snapshotError,
    data: plain(subscribed.data),
    type: subscribed.type ? subscribed.type.uri : null,
    v: subscribed.version,
    errors: client.errors,
    auth_reply: client.socket.authReply,
    closed: closeEvent,
  };
  client.kill();
  return result;
}

async function main({url, dashboard, editor_token: editorToken, viewer_token: viewerToken, stranger_token: strangerToken}) {
  const before = await fetchFresh(url, editorToken, dashboard);

  const viewer = new TandemClient({urls: [url], token: viewerToken, name: 'viewer', reconnect: false});
  const doc = await subscribe(viewer.doc(dashboard));
  const viewerRead = {v: doc.version, data: plain(doc.data)};
  const submitError = await attempt(
    withTimeout(submit(doc, [{p: ['description'], od: doc.data.description, oi: 'viewer was here'}]), 5000, 'viewer submit'),
  );
  await waitFor(() => !doc.hasPending(), 5000, 'the viewer\'s rejected op is rolled back');
  const viewerAfter = {v: doc.version, data: plain(doc.data)};
  viewer.close();

  const stranger = await outsider(url, strangerToken, dashboard, 'stranger');
  const badToken = await outsider(url, 'not-a-valid-token-' + Date.now(), dashboard, 'bad-token');
  const after = await fetchFresh(url, editorToken, dashboard);
  return {
    before,
    viewer: {read: viewerRead, submit_error: submitError, after_rollback: viewerAfter, errors: viewer.errors},
    stranger,
    bad_token: badToken,
    after,
  };
}

runScenario(main, 60000);
