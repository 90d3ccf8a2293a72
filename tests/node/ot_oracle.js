// The reference OT libraries as a long-running process, for differential tests.
//
// Protocol: one JSON document per line on stdin, one answer per line on stdout.
//   {"fn": "transform", "type": "json0", "args": [op, other, "left"]}  ->  {"ok": result}
//                                                                    or {"error": "message"}
//   [call, call, ...]                                                  ->  [answer, answer, ...]
// A batch (an array) is answered with ONE line, so the caller can write a whole batch before
// reading anything: no pipe can fill up on both sides at once.
//
// Types: "json0" (ot-json0 with text-unicode and rich-text registered as subtypes, as a browser
// would register them), "text0" (json0's embedded string type), "text-unicode", "rich-text"
// (rich-text's type object, plus invert(op, base) = quill-delta's delta.invert(base) and
// transformPosition(op, index, priority) = delta.transformPosition(index, priority); its
// transformCursor takes the op as JSON like every other call).
// Rich-text results are Delta objects, which JSON-encode as {"ops": [...]}, in json0 results too.
'use strict';

const readline = require('readline');
const json0 = require('ot-json0').type;
const text0 = require('ot-json0/lib/text0');
const textUnicode = require('ot-text-unicode').type;
const richText = require('rich-text');

const Delta = richText.Delta;

json0.registerSubtype(textUnicode);
json0.registerSubtype(richText.type);

const richTextDirect = Object.assign({}, richText.type, {
  invert: (op, base) => new Delta(op).invert(new Delta(base)),
  transformPosition: (op, index, priority) => new Delta(op).transformPosition(index, priority),
  transformCursor: (cursor, op, isOwnOp) =>
    richText.type.transformCursor(cursor, new Delta(op), isOwnOp),
});

const TYPES = {
  json0: json0,
  text0: text0,
  'text-unicode': textUnicode,
  'rich-text': richTextDirect,
};

function call(request) {
  const type = TYPES[request.type];
  if (type === undefined) return { error: 'unknown type ' + request.type };
  const fn = type[request.fn];
  if (typeof fn !== 'function') return { error: 'unknown function ' + request.type + '.' + request.fn };
  try {
    const result = fn.apply(type, request.args || []);
    // undefined has no JSON form; the reference returns it only where it means "nothing".
    return { ok: result === undefined ? null : result };
  } catch (err) {
    return { error: String(err && err.message !== undefined ? err.message : err) };
  }
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });

input.on('line', (line) => {
  if (line.trim() === '') return;
  let answer;
  try {
    const request = JSON.parse(line);
    answer = Array.isArray(request) ? request.map(call) : call(request);
  } catch (err) {
    answer = { error: 'bad request: ' + err.message };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
