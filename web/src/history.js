// The history panel: name the current version, named versions, a time slider that previews
// past snapshots read-only (nothing changes until Restore), the diff from a version to now,
// per-widget "who changed this", and restore (which everyone sees live, as ops).
import { ApiError, get, post, qs } from "./api.js";
import { button, field, h, iconButton, timeAgo, toast, fill } from "./ui.js";

const CHANGE_TEXT = {
  added: "added", removed: "removed", moved: "moved", resized: "resized", restyled: "restyled",
  text_edited: "text edited", config_changed: "settings changed", data_changed: "data changed",
  locked: "locked", unlocked: "unlocked",
};

function who(user) {
  return user ? user.username : "someone";
}

function failure(el, err) {
  const text = err instanceof ApiError && err.status === 404 && err.code === "http_404"
    ? "History is not available on this server yet."
    : `Could not load: ${err.message}`;
  fill(el, h("p", { class: "muted" }, text));
}

export function openHistory(side, ctx, { widget = null } = {}) {
  const { id, doc, board, canvas, banner } = ctx;
  const base = `/dashboards/${id}`;
  const canRestore = () => !ctx.readOnly();
  let previewing = null;
  let disposed = false;

  const widgetSection = h("section", { class: "panel-section" });
  const versionsList = h("ol", { class: "list versions" });
  const diffBox = h("div", { class: "diff" });
  const head = doc.version || 0;
  const slider = h("input", { type: "range", min: 0, max: head, value: head, step: 1, "aria-label": "Version to preview" });
  const sliderLabel = h("output", { class: "slider-label" }, `Now (version ${head})`);
  const label = h("input", { type: "text", placeholder: "e.g. Before the Q3 review", maxlength: 200 });
  const nameForm = h("form", { class: "inline-form" }, field("Name the current version", label), h("button", { type: "submit", class: "btn" }, "Save"));

  fill(side, 
    h("header", { class: "panel-head" }, h("h2", {}, "History"), iconButton("x", "Close history", ctx.close)),
    widget ? widgetSection : null,
    canRestore() ? nameForm : null,
    h("section", { class: "panel-section" }, h("h3", {}, "Browse"), slider, sliderLabel, diffBox),
    h("section", { class: "panel-section" }, h("h3", {}, "Named versions"), versionsList),
  );

  nameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!label.value.trim()) return;
    try {
      await post(`${base}/versions`, { label: label.value.trim(), version: doc.version });
      label.value = "";
      toast("Version named.");
      loadVersions();
    } catch (err) {
      toast(`Could not name the version: ${err.message}`, "error");
    }
  });

  async function loadVersions() {
    try {
      const data = await get(`${base}/versions`);
      if (disposed) return;
      const items = data.items || [];
      fill(versionsList, 
        ...(items.length ? items.map((v) => h("li", { class: "version" },
          h("div", {}, h("strong", {}, v.label || `Version ${v.version}`), h("small", {}, `v${v.version} · ${who(v.created_by)} · ${timeAgo(v.created_at)}`)),
          h("div", { class: "row-actions" },
            button("Preview", () => { slider.value = String(Math.min(v.version, Number(slider.max))); preview(v.version); }, { kind: "small" }),
            canRestore() ? button("Restore", () => restore(v.version), { kind: "small" }) : null)))
          : [h("li", { class: "muted" }, "No named versions yet.")]),
      );
    } catch (err) {
      failure(versionsList, err);
    }
  }

  async function loadWidget() {
    fill(widgetSection, h("h3", {}, `Who changed “${(doc.data.widgets[widget] || {}).title || "this widget"}”`), h("p", { class: "muted" }, "Loading…"));
    try {
      const data = await get(`${base}/widgets/${encodeURIComponent(widget)}/history${qs({ limit: 20 })}`);
      // One row per run of changes of one kind by one person (typing is a change per key).
      const runs = [];
      for (const e of data.items || []) {
        const kind = String(e.operation_type || "changed");
        const last = runs[runs.length - 1];
        if (last && last.kind === kind && who(last.user) === who(e.user)) {
          last.count += 1;
          last.first = e.version;
        } else runs.push({ user: e.user, kind, count: 1, first: e.version, last: e.version, at: e.created_at });
      }
      fill(widgetSection, widgetSection.firstChild, h("ol", { class: "list" },
        runs.length ? runs.map((r) => h("li", {}, h("strong", {}, who(r.user)),
          ` ${r.kind}${r.count > 1 ? ` ×${r.count}` : ""} · ${r.count > 1 ? `v${r.first}–v${r.last}` : `v${r.last}`} · ${timeAgo(r.at)}`))
          : h("li", { class: "muted" }, "No changes recorded.")));
    } catch (err) {
      failure(widgetSection, err);
    }
  }

  let timer = null;
  slider.addEventListener("input", () => {
    clearTimeout(timer);
    const v = Number(slider.value);
    sliderLabel.textContent = v >= Number(slider.max) ? `Now (version ${v})` : `Version ${v}`;
    timer = setTimeout(() => (v >= Number(slider.max) ? endPreview() : preview(v)), 150);
  });

  async function preview(version) {
    try {
      const [snap, diff] = await Promise.all([
        get(`${base}/snapshot${qs({ version })}`),
        get(`${base}/diff${qs({ from: version, to: doc.version })}`).catch(() => null),
      ]);
      if (disposed) return;
      endPreview(false);
      previewing = version;
      sliderLabel.textContent = `Version ${snap.version}`;
      canvas.classList.add("previewing");
      canvas.append(board.preview(snap.document));
      banner.hidden = false;
      fill(banner, 
        h("span", {}, `Previewing version ${snap.version} — read-only. Nothing changes until you restore.`),
        canRestore() ? button("Restore this version", () => restore(snap.version), { kind: "primary small" }) : null,
        button("Back to live", () => { slider.value = slider.max; sliderLabel.textContent = `Now (version ${slider.max})`; endPreview(); }, { kind: "small" }),
      );
      renderDiff(diff);
    } catch (err) {
      toast(`Cannot preview: ${err.message}`, "error");
    }
  }

  function renderDiff(diff) {
    if (!diff) {
      fill(diffBox);
      return;
    }
    const rows = (diff.widgets || []).map((w) => h("li", {}, h("strong", {}, w.title || w.widget_id), ` ${(w.changes || []).map((c) => CHANGE_TEXT[c] || c).join(", ")}`, w.users && w.users.length ? h("small", {}, ` by ${w.users.map(who).join(", ")}`) : null));
    const dash = diff.dashboard && diff.dashboard.changes && diff.dashboard.changes.length ? h("li", {}, h("strong", {}, "Dashboard"), ` ${diff.dashboard.changes.join(", ")}`) : null;
    fill(diffBox, h("h4", {}, `Changed since version ${diff.from}`), h("ul", { class: "list compact" }, dash, rows.length || dash ? rows : h("li", { class: "muted" }, "No changes.")));
  }

  function endPreview(clearDiff = true) {
    previewing = null;
    canvas.classList.remove("previewing");
    canvas.querySelector(".preview-layer")?.remove();
    banner.hidden = true;
    fill(banner);
    if (clearDiff) fill(diffBox);
  }

  async function restore(version) {
    try {
      const result = await post(`${base}/restore`, { version });
      endPreview();
      toast(`Restored version ${result.restored_from ?? version}.`);
      slider.max = String(doc.version);
      slider.value = slider.max;
    } catch (err) {
      toast(`Could not restore: ${err.message}`, "error");
    }
  }

  const onOp = () => {
    if (previewing === null && Number(slider.value) >= Number(slider.max)) {
      slider.max = String(doc.version);
      slider.value = slider.max;
      sliderLabel.textContent = `Now (version ${doc.version})`;
    } else {
      slider.max = String(doc.version);
    }
  };
  doc.on("op batch", onOp);
  loadVersions();
  if (widget) loadWidget();
  slider.focus();
  return () => {
    disposed = true;
    doc.removeListener("op batch", onOp);
    endPreview();
  };
}
