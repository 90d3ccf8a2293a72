// The widget and dashboard settings dialogs: each turns the form into json0 set components for
// the fields that changed.
import { setOp } from "./model.js";
import { button, field, h, modal, toast } from "./ui.js";

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function changes(base, path, next) {
  const op = [];
  for (const [key, value] of Object.entries(next)) {
    if (!same(base[key], value)) op.push(setOp([...path, key], base[key], value));
  }
  return op;
}

function parseCsv(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split(",").map((cell) => cell.trim()));
}

function typeFields(widget) {
  const c = widget.config;
  const d = widget.data;
  switch (widget.type) {
    case "chart": {
      const kind = h("select", {}, h("option", { value: "bar" }, "Bars"), h("option", { value: "line" }, "Line"));
      kind.value = c.kind === "line" ? "line" : "bar";
      const color = h("input", { type: "color", value: c.color || "#4f46e5" });
      const labels = h("input", { type: "text", value: (d.labels || []).join(", ") });
      const values = h("input", { type: "text", value: (d.values || []).join(", "), inputmode: "decimal" });
      return {
        nodes: [field("Chart type", kind), field("Colour", color), field("Labels", labels, "Comma-separated"), field("Values", values, "Comma-separated numbers")],
        read: () => {
          const nums = values.value.split(",").map((v) => v.trim()).filter(Boolean).map(Number);
          if (nums.some((n) => !Number.isFinite(n))) throw new Error("Values must be numbers separated by commas.");
          return {
            config: { ...c, kind: kind.value, color: color.value },
            data: { ...d, labels: labels.value.split(",").map((v) => v.trim()).filter(Boolean), values: nums },
          };
        },
      };
    }
    case "table": {
      const csv = h("textarea", { rows: 6 });
      csv.value = [d.columns || [], ...(d.rows || [])].map((r) => r.join(", ")).join("\n");
      return {
        nodes: [field("Rows", csv, "First line: column names. One row per line, cells separated by commas.")],
        read: () => {
          const [columns = [], ...rows] = parseCsv(csv.value);
          return { config: c, data: { ...d, columns, rows } };
        },
      };
    }
    case "image":
    case "video":
    case "embed": {
      const url = h("input", { type: "url", value: c.url || "", placeholder: "https://…" });
      const alt = h("input", { type: "text", value: c.alt || "" });
      return {
        nodes: [field("URL", url), widget.type === "image" ? field("Description (alt text)", alt) : null],
        read: () => ({ config: widget.type === "image" ? { ...c, url: url.value.trim(), alt: alt.value } : { ...c, url: url.value.trim() }, data: d }),
      };
    }
    case "custom": {
      const json = h("textarea", { rows: 8, class: "mono" });
      json.value = JSON.stringify(d, null, 2);
      return {
        nodes: [field("Data (JSON object)", json)],
        read: () => {
          let data;
          try {
            data = JSON.parse(json.value);
          } catch {
            throw new Error("Data must be valid JSON.");
          }
          if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("Data must be a JSON object.");
          return { config: c, data };
        },
      };
    }
    default:
      return { nodes: [], read: () => ({ config: c, data: d }) };
  }
}

export function widgetSettings(doc, id, submit) {
  const widget = doc.widgets[id];
  const title = h("input", { type: "text", value: widget.title, maxlength: 500, required: true });
  const locked = h("input", { type: "checkbox", checked: widget.isLocked });
  const extra = typeFields(widget);
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "form" },
    field("Title", title),
    ...extra.nodes,
    h("label", { class: "check" }, locked, " Locked (nobody can move or edit it)"),
    error,
    h("div", { class: "actions" }, button("Cancel", () => dialog.close()), h("button", { type: "submit", class: "btn primary" }, "Save")),
  );
  const dialog = modal(`${widget.type[0].toUpperCase()}${widget.type.slice(1)} widget`, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let next;
    try {
      next = extra.read();
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const current = doc.widgets[id];
    if (!current) {
      dialog.close();
      toast("Someone removed this widget.", "warn");
      return;
    }
    const op = changes(current, ["widgets", id], { title: title.value, isLocked: locked.checked, config: next.config, data: next.data });
    if (op.length) submit(op, { key: null });
    dialog.close();
  });
  title.focus();
}

export function dashboardSettings(doc, submit) {
  const title = h("input", { type: "text", value: doc.title, maxlength: 500, required: true });
  const description = h("textarea", { rows: 3, maxlength: 10000 });
  description.value = doc.description;
  const theme = h("select", {}, h("option", { value: "light" }, "Light"), h("option", { value: "dark" }, "Dark"));
  theme.value = doc.settings.theme === "dark" ? "dark" : "light";
  const form = h(
    "form",
    { class: "form" },
    field("Title", title),
    field("Description", description),
    field("Canvas theme", theme),
    h("div", { class: "actions" }, button("Cancel", () => dialog.close()), h("button", { type: "submit", class: "btn primary" }, "Save")),
  );
  const dialog = modal("Dashboard settings", form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const op = changes(doc, [], { title: title.value, description: description.value });
    op.push(...changes(doc.settings, ["settings"], { theme: theme.value }));
    if (op.length) submit(op, { key: null });
    dialog.close();
  });
  title.focus();
}
