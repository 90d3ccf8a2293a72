// The dashboard document (see ot/document.py for what the server accepts) and the json0 ops
// the editor makes on it.

export const WIDGET_TYPES = [
  { type: "text", label: "Text", hint: "Rich text notes" },
  { type: "chart", label: "Chart", hint: "Bar or line chart of a series" },
  { type: "table", label: "Table", hint: "Rows and columns" },
  { type: "image", label: "Image", hint: "A picture from a URL" },
  { type: "video", label: "Video", hint: "A video from a URL" },
  { type: "embed", label: "Embed", hint: "A web page in a frame" },
  { type: "custom", label: "Custom", hint: "Free-form JSON data" },
];

export const CELL = 24; // pixels per grid cell

export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "w" + Array.from(bytes, (b) => b.toString(36).padStart(2, "0")).join("").slice(0, 15);
}

export function topZ(doc) {
  let z = 0;
  for (const w of Object.values(doc.widgets || {})) z = Math.max(z, w.position.zIndex || 0);
  return z;
}

export function freeSpot(doc, width, height) {
  let y = 0;
  for (const w of Object.values(doc.widgets || {})) y = Math.max(y, w.position.y + w.position.height);
  return { x: 1, y: y === 0 ? 1 : y + 1, width, height };
}

export function defaultWidget(type, doc) {
  const base = { type, title: "", config: {}, data: {}, isLocked: false };
  const size = { text: [14, 9], chart: [16, 10], table: [16, 9], image: [12, 9], video: [16, 10], embed: [16, 12], custom: [12, 8] }[type];
  base.position = { ...freeSpot(doc, size[0], size[1]), zIndex: topZ(doc) + 1 };
  switch (type) {
    case "text":
      base.title = "Notes";
      base.body = { ops: [{ insert: "\n" }] };
      break;
    case "chart":
      base.title = "Weekly signups";
      base.config = { kind: "bar", color: "#4f46e5" };
      base.data = { labels: ["Mon", "Tue", "Wed", "Thu", "Fri"], values: [12, 19, 7, 15, 22] };
      break;
    case "table":
      base.title = "Table";
      base.data = { columns: ["Name", "Owner", "Status"], rows: [["Launch", "Ana", "On track"], ["Billing", "Ben", "At risk"]] };
      break;
    case "image":
      base.title = "Image";
      base.config = { url: "", alt: "" };
      break;
    case "video":
      base.title = "Video";
      base.config = { url: "" };
      break;
    case "embed":
      base.title = "Embed";
      base.config = { url: "" };
      break;
    default:
      base.title = "Custom";
      base.data = { value: 42 };
  }
  return base;
}

export function addWidgetOp(doc, id, widget) {
  return [
    { p: ["widgets", id], oi: widget },
    { p: ["layout", doc.layout.length], li: id },
  ];
}

export function removeWidgetOp(doc, id) {
  const index = doc.layout.indexOf(id);
  const op = [];
  if (index >= 0) op.push({ p: ["layout", index], ld: id });
  op.push({ p: ["widgets", id], od: doc.widgets[id] });
  return op;
}

export function setOp(path, oldValue, newValue) {
  const c = { p: path };
  if (oldValue !== undefined) c.od = oldValue;
  if (newValue !== undefined) c.oi = newValue;
  return c;
}

export function positionOp(doc, id, changes) {
  const position = doc.widgets[id].position;
  const op = [];
  for (const [key, value] of Object.entries(changes)) {
    if (position[key] !== value) op.push(setOp(["widgets", id, "position", key], position[key], value));
  }
  return op;
}

export function frontOp(doc, id) {
  const z = topZ(doc);
  const current = doc.widgets[id].position.zIndex;
  if (current === z && Object.values(doc.widgets).filter((w) => w.position.zIndex === z).length === 1) return [];
  return [setOp(["widgets", id, "position", "zIndex"], current, z + 1)];
}

export function plainText(body) {
  if (typeof body === "string") return body;
  if (!body || !body.ops) return "";
  return body.ops.map((op) => (typeof op.insert === "string" ? op.insert : "")).join("");
}
