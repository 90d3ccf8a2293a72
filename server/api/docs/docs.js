// Renders /api/openapi.json as a list of operations with their parameters and schemas.
// Plain DOM, no dependencies, nothing loaded from elsewhere.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function resolve(doc, schema, depth) {
  // Inline $refs a few levels deep so a reader sees the fields, not only a name.
  if (!schema || typeof schema !== "object" || depth > 4) return schema;
  if (Array.isArray(schema)) return schema.map((s) => resolve(doc, s, depth));
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { title: name, ...resolve(doc, doc.components.schemas[name], depth + 1) };
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = resolve(doc, value, depth);
  return out;
}

function schemaBlock(doc, schema) {
  return el("pre", {}, JSON.stringify(resolve(doc, schema, 0), null, 2));
}

function operation(doc, path, method, op) {
  const head = el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()),
    el("code", {}, path), " — ", op.summary || "");
  const body = el("div", {});
  if (op.security) body.append(el("p", {}, "Authentication: bearer token or the session cookie."));
  if (op.parameters && op.parameters.length) {
    const rows = op.parameters.map((p) => el("tr", {}, el("td", {}, el("code", {}, p.name)),
      el("td", {}, p.in), el("td", {}, p.required ? "required" : "optional"),
      el("td", {}, el("code", {}, JSON.stringify(p.schema)))));
    body.append(el("h4", {}, "Parameters"),
      el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, ""),
        el("th", {}, "schema")), ...rows));
  }
  if (op.requestBody) {
    body.append(el("h4", {}, "Request body"),
      schemaBlock(doc, op.requestBody.content["application/json"].schema));
  }
  for (const [status, response] of Object.entries(op.responses)) {
    body.append(el("h4", {}, `Response ${status}: ${response.description}`));
    for (const content of Object.values(response.content || {})) {
      body.append(schemaBlock(doc, content.schema));
    }
  }
  return el("details", {}, head, body);
}

async function main() {
  const main = document.getElementById("operations");
  const toc = document.getElementById("toc");
  const doc = await (await fetch("/api/openapi.json")).json();
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(doc, path, method, op));
    }
  }
  main.replaceChildren();
  for (const [tag, ops] of byTag) {
    toc.append(el("a", { href: `#${tag}` }, tag));
    main.append(el("h2", { id: tag }, tag), ...ops);
  }
}

main().catch((error) => {
  document.getElementById("operations").textContent = `Could not load the document: ${error}`;
});
