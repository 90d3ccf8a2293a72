// Throughput of the reference OT libraries on the cases loadtests/bench/ot.py writes.
//
// Usage: node ot_bench.js CASES.json SECONDS
// CASES.json: [{name, kind: "apply" | "transform" | "checked", doc, op, inverse, other, side,
// chain}, ...]; with a chain, op is transformed through each of its ops in turn (one op is the
// whole chain), whatever the kind: the reference has no checked ops.
// Prints one JSON line: [{name, kind, ops, seconds}, ...], the best of ROUNDS rounds that
// share SECONDS (the best is the least disturbed by other work on the machine).
//
// apply alternates op and inverse on one document, so the document stays the same size for
// the whole run; the reference applies in place, as ShareDB uses it.
'use strict';

const fs = require('fs');
const json0 = require('ot-json0').type;
const textUnicode = require('ot-text-unicode').type;
const richText = require('rich-text');

json0.registerSubtype(textUnicode);
json0.registerSubtype(richText.type);

function runner(c) {
  if (c.kind === 'apply') {
    let doc = json0.create(c.doc);
    return () => {
      doc = json0.apply(doc, c.op);
      doc = json0.apply(doc, c.inverse);
      return 2;
    };
  }
  if (c.chain) {
    return () => {
      let op = c.op;
      for (const other of c.chain) op = json0.transform(op, other, c.side);
      return 1;
    };
  }
  return () => {
    json0.transform(c.op, c.other, c.side);
    return 1;
  };
}

const ROUNDS = 3;

function round(step, seconds) {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let ops = 0;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 200; i++) ops += step();
    elapsed = process.hrtime.bigint() - start;
  }
  return { ops: ops, seconds: Number(elapsed) / 1e9 };
}

function measure(c, seconds) {
  const step = runner(c);
  // Warm up so the JIT has compiled the hot path before the clock starts.
  for (let i = 0; i < 2000; i++) step();
  let best = null;
  for (let r = 0; r < ROUNDS; r++) {
    const result = round(step, seconds / ROUNDS);
    if (best === null || result.ops / result.seconds > best.ops / best.seconds) best = result;
  }
  return { name: c.name, kind: c.kind, ops: best.ops, seconds: best.seconds };
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const seconds = Number(process.argv[3] || 1);
process.stdout.write(JSON.stringify(cases.map((c) => measure(c, seconds))) + '\n');
