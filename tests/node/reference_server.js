'use strict';
// A ShareDB reference server for the gateway benchmark: the stock sharedb@7 Backend on
// sharedb-postgres and sharedb-redis-pubsub, served over `ws` on a loopback port. It speaks the
// same wire protocol as Tandem's gateway without authentication, so the load generator drives
// both with the same code (Tandem only gets the extra auth frame).
//
// Input (JSON on stdin): {port, databaseUrl, redisUrl, prefix, docs: [id, ...], document,
// deflate (accept permessage-deflate), poolSize}.
// It creates the sharedb-postgres tables in that database if needed, creates every doc of
// collection "dashboards" with `document` as its json0 data, then prints one line
// {"ready": true, "port": P} and serves until SIGTERM/SIGINT (or stdin's input is malformed).

const {Duplex} = require('stream');
const http = require('http');
const pg = require('pg');
const ShareDB = require('sharedb');
const PostgresDB = require('sharedb-postgres');
const RedisPubSub = require('sharedb-redis-pubsub');
const WebSocket = require('ws');
const textUnicode = require('ot-text-unicode').type;
const richText = require('rich-text').type;
const {readInput, output} = require('./tandem_client');

const COLLECTION = 'dashboards';

// The tables sharedb-postgres reads and writes: one row per op, one current snapshot per doc.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ops (
  collection varchar(255) NOT NULL,
  doc_id varchar(255) NOT NULL,
  version integer NOT NULL,
  operation jsonb NOT NULL,
  PRIMARY KEY (collection, doc_id, version)
);
CREATE TABLE IF NOT EXISTS snapshots (
  collection varchar(255) NOT NULL,
  doc_id varchar(255) NOT NULL,
  doc_type varchar(255),
  version integer NOT NULL,
  data jsonb,
  metadata jsonb,
  PRIMARY KEY (collection, doc_id)
);
`;

// ShareDB's Agent wants an object-mode Duplex: objects written to it go to the client as JSON
// text frames, and every frame received is pushed as a parsed object.
class JsonSocketStream extends Duplex {
  constructor(ws) {
    super({objectMode: true});
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      let message;
      try {
        message = JSON.parse(isBinary ? data : data.toString('utf8'));
      } catch (err) {
        ws.close(1007, 'invalid JSON');
        return;
      }
      this.push(message);
    });
    ws.on('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', () => this.destroy());
  }

  _read() {
    // Frames are pushed as they arrive; ws has no flow control to resume.
  }

  _write(message, _encoding, callback) {
    if (this.ws.readyState !== WebSocket.OPEN) return callback();
    this.ws.send(JSON.stringify(message), callback);
  }

  _final(callback) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  _destroy(err, callback) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
    callback(err);
  }
}

async function createSchema(databaseUrl) {
  const client = new pg.Client({connectionString: databaseUrl});
  await client.connect();
  try {
    await client.query(SCHEMA);
  } finally {
    await client.end();
  }
}

function createDoc(connection, id, data) {
  return new Promise((resolve, reject) => {
    const doc = connection.get(COLLECTION, id);
    doc.fetch((err) => {
      if (err) return reject(err);
      if (doc.type) return resolve();
      doc.create(data, 'json0', (createErr) => (createErr ? reject(createErr) : resolve()));
    });
  });
}

async function main() {
  const input = await readInput();
  const json0 = ShareDB.types.defaultType;
  json0.registerSubtype(textUnicode);
  json0.registerSubtype(richText);

  await createSchema(input.databaseUrl);
  const db = new PostgresDB({connectionString: input.databaseUrl, max: input.poolSize || 10});
  const pubsub = new RedisPubSub({url: input.redisUrl, prefix: input.prefix || 'sharedb-ref'});
  const backend = new ShareDB({db, pubsub});

  const local = backend.connect();
  for (const id of input.docs || []) await createDoc(local, id, input.document);
  local.close();

  const server = http.createServer((req, res) => {
    res.writeHead(200, {'content-type': 'text/plain'});
    res.end('ok\n');
  });
  // Off unless asked for, as in ws's own default; the benchmark turns it on for both servers.
  const wss = new WebSocket.Server({server, perMessageDeflate: Boolean(input.deflate)});
  wss.on('connection', (ws, req) => backend.listen(new JsonSocketStream(ws), req));
  await new Promise((resolve) => server.listen(input.port, '127.0.0.1', resolve));
  output({ready: true, port: server.address().port});

  const stop = () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
    backend.close(() => process.exit(0));
    // Whatever still hangs (a Redis reconnect loop), the process goes.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  output({error: String(err && err.stack ? err.stack : err)});
  process.exit(2);
});
