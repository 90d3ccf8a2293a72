// json0's transformPresence, which the stock client's doc presence calls for every op applied
// to the document: the local person's own value, and every remote person's, the author's own
// ops included (`isOwnOp`: an insert at the author's caret lands before it, as typing does;
// anyone else's insert there lands after it). The shape and rules are the server's
// (ot/dashboard/selection.py), which carries a value sent against an older version the same way:
//
//   presence  := {..., selection: {p: path of a rich-text field, index, length} | null}
//
// Example: {selection: {p: ["widgets", "w1", "body"], index: 4, length: 0}} after
// [{p: ["widgets", "w1", "body"], t: "rich-text", o: [{insert: "Hi "}]}] is at index 7.
import richText from "rich-text";

const isPrefix = (prefix, path) => prefix.length <= path.length && prefix.every((k, i) => k === path[i]);

export function transformSelection(selection, op, isOwnOp) {
  let sel = selection;
  for (const c of op) {
    if (!sel) return null;
    if (c.t === "rich-text" && c.p.length === sel.p.length && isPrefix(c.p, sel.p)) {
      sel = richText.type.transformPresence(sel, c.o, Boolean(isOwnOp));
    } else if (isPrefix(c.p, sel.p) && ("od" in c || "oi" in c)) {
      return null; // the text, or the widget holding it, was replaced or removed
    }
  }
  return sel;
}

export function transformPresence(value, op, isOwnOp) {
  if (!value || !value.selection) return value;
  return { ...value, selection: transformSelection(value.selection, op, isOwnOp) };
}
