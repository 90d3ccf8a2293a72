// The dashboard page (/d/{id}): the live document over /ws, the board, presence, undo/redo,
// offline persistence, and the history and share panels.
import { ApiError, get, guestSession } from "./api.js";
import { Board } from "./board.js";
import { openHistory } from "./history.js";
import { COLLECTION, Live } from "./live.js";
import { WIDGET_TYPES, addWidgetOp, defaultWidget, frontOp, newId, positionOp, removeWidgetOp } from "./model.js";
import { OfflineStore, load } from "./offline.js";
import { Presence } from "./presence.js";
import { dashboardSettings, widgetSettings } from "./settings.js";
import { openShare } from "./share.js";
import { button, colorFor, h, icon, iconButton, toast, fill } from "./ui.js";
import { UndoManager } from "./undo.js";

const EDIT_ROLES = new Set(["editor", "admin", "owner"]);
const STATE_TEXT = { live: "Live", connecting: "Connecting…", offline: "Offline", denied: "Signed out" };

export async function editorPage(root, id, { me, navigate }) {
  const guest = guestSession();
  const asGuest = guest && guest.dashboard_id === id && me.guest ? guest : null;
  let role = asGuest ? asGuest.role : null;
  // Everything the page waits for starts at once: the role, the copy kept on this device, the
  // socket. Until the role is known the page is read-only.
  const summaryP = get(`/dashboards/${id}`).then((summary) => ({ summary }), (err) => ({ err }));
  const recordP = load(`${me.id}:${id}`);
  let readOnly = true;
  let disposed = false;

  const live = new Live({ token: asGuest ? asGuest.token : null });
  const connection = live.connection;
  const doc = connection.get(COLLECTION, id);
  const offline = new OfflineStore(doc, `${me.id}:${id}`, {});
  const undo = new UndoManager(doc);

  // -- layout ----------------------------------------------------------------------------
  const titleInput = h("input", { class: "doc-title", type: "text", "aria-label": "Dashboard title", maxlength: 500 });
  const status = h("span", { class: "status", role: "status", "aria-live": "polite" });
  const avatars = h("div", { class: "avatars", role: "group" });
  const undoBtn = iconButton("undo", "Undo (Ctrl+Z)", () => doUndo());
  const redoBtn = iconButton("redo", "Redo (Shift+Ctrl+Z)", () => doRedo());
  const addMenu = h("div", { class: "menu", role: "menu", hidden: true },
    WIDGET_TYPES.map((t) => h("button", { type: "button", role: "menuitem", class: "menu-item", dataset: { type: t.type }, onclick: () => { addMenu.hidden = true; addWidget(t.type); } },
      h("strong", {}, t.label), h("small", {}, t.hint))));
  const addBtn = button("Add widget", () => {
    addMenu.hidden = !addMenu.hidden;
    if (!addMenu.hidden) addMenu.querySelector("button").focus();
  }, { icon: "plus", kind: "primary", "aria-haspopup": "menu", class: "btn primary add-btn" });
  addMenu.addEventListener("keydown", (e) => {
    const items = [...addMenu.querySelectorAll(".menu-item")];
    const at = items.indexOf(document.activeElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      items[(to + items.length) % items.length].focus();
    } else if (e.key === "Escape" || e.key === "Tab") {
      addMenu.hidden = true;
      if (e.key === "Escape") addBtn.focus();
    }
  });
  const roleBadge = h("span", { class: "badge", hidden: true });
  const settingsBtn = iconButton("gear", "Dashboard settings", () => !readOnly && doc.data && dashboardSettings(doc.data, submit));
  const canvas = h("div", { class: "canvas", "aria-label": "Dashboard canvas" });
  const scroller = h("div", { class: "canvas-scroll" }, canvas);
  const side = h("aside", { class: "side", hidden: true, "aria-label": "Panel" });
  const banner = h("div", { class: "banner", hidden: true, role: "status" });
  const top = h(
    "header",
    { class: "topbar editor-bar" },
    h("a", { href: "/", class: "back", "aria-label": "All dashboards", "data-link": "" }, icon("back"), h("span", { class: "brand-mark small" }, "T")),
    titleInput,
    status,
    roleBadge,
    h("div", { class: "spacer" }),
    avatars,
    h("div", { class: "tools" },
      h("div", { class: "add-wrap" }, addBtn, addMenu),
      undoBtn, redoBtn,
      iconButton("clock", "History", () => togglePanel("history")),
      asGuest ? null : iconButton("share", "Share", () => togglePanel("share")),
      settingsBtn),
  );
  fill(root, h("div", { class: "editor" }, top, banner, h("div", { class: "editor-main" }, scroller, side)));

  // -- editing ---------------------------------------------------------------------------
  function submit(op, { key = null, source = "user", record = true } = {}) {
    if (readOnly || !op.length || !doc.type) return;
    if (record) undo.record(doc.data, op, key);
    doc.submitOp(op, { source }, (err) => {
      if (!err) return;
      if (err.code === "forbidden" || err.code === "read_only") {
        setReadOnly(true);
        toast("You can view this dashboard but not change it.", "warn");
      } else {
        toast(`Change not saved: ${err.message}`, "error");
      }
    });
    renderStatus();
  }
  const doUndo = () => !readOnly && undo.undo((op) => submit(op, { source: "undo", record: false }));
  const doRedo = () => !readOnly && undo.redo((op) => submit(op, { source: "undo", record: false }));

  function addWidget(type) {
    const widgetId = newId();
    const widget = defaultWidget(type, doc.data);
    submit(addWidgetOp(doc.data, widgetId, widget));
    requestAnimationFrame(() => {
      const el = canvas.querySelector(`[data-id="${widgetId}"]`);
      if (el) { el.scrollIntoView({ block: "nearest" }); el.focus(); }
    });
  }

  const board = new Board(canvas, {
    move: (wid, changes) => submit(positionOp(doc.data, wid, changes)),
    resize: (wid, changes) => submit(positionOp(doc.data, wid, changes)),
    remove: (wid) => submit(removeWidgetOp(doc.data, wid)),
    front: (wid) => submit(frontOp(doc.data, wid)),
    settings: (wid) => !readOnly && widgetSettings(doc.data, wid, submit),
    history: (wid) => togglePanel("history", { widget: wid }),
    textDelta: (wid, ops) => {
      submit([{ p: ["widgets", wid, "body"], t: "rich-text", o: ops }], { key: `text:${wid}`, source: `quill:${wid}` });
      const range = board.binding(wid).quill.getSelection();
      if (range) presence.selection(wid, range);
    },
    textSelection: (wid, range) => presence.selection(wid, range),
    focusWidget: () => {},
  });

  const myName = me.full_name || me.username || me.display_name || "You";
  const presence = new Presence(doc, { id: me.id, name: myName, color: me.avatar_color || colorFor(me.id) }, {
    avatars, canvas, textBinding: (wid) => board.binding(wid),
  });
  canvas.addEventListener("pointermove", (event) => {
    const rect = canvas.getBoundingClientRect();
    presence.pointer({ x: Math.round(event.clientX - rect.left), y: Math.round(event.clientY - rect.top) });
  });
  canvas.addEventListener("pointerleave", () => presence.pointer(null));

  function setReadOnly(value) {
    readOnly = value;
    document.body.classList.toggle("is-read-only", value);
    titleInput.readOnly = value;
    for (const el of [addBtn, undoBtn, redoBtn]) el.disabled = value;
    addBtn.hidden = value;
    undoBtn.hidden = redoBtn.hidden = settingsBtn.hidden = value;
    roleBadge.hidden = !value;
    roleBadge.textContent = value ? "View only" : "";
    board.setReadOnly(value);
  }

  function renderStatus() {
    const pending = (doc.inflightOp ? 1 : 0) + doc.pendingOps.length;
    let text = STATE_TEXT[live.state] || live.state;
    if (live.state === "live" && pending) text = "Saving…";
    else if (live.state === "live") text = "Live · saved";
    if (live.state !== "live" && pending) {
      const kept = Math.min(offline.saved, pending);
      text += kept ? ` · ${kept === 1 ? "1 change" : `${kept} changes`} kept on this device` : " · saving on this device…";
    }
    status.textContent = text;
    status.dataset.state = live.state === "live" && pending ? "saving" : live.state;
    undoBtn.disabled = readOnly || !undo.canUndo;
    redoBtn.disabled = readOnly || !undo.canRedo;
  }

  function renderDoc(bodies) {
    if (!doc.data) return;
    if (document.activeElement !== titleInput) titleInput.value = doc.data.title;
    document.title = `${doc.data.title || "Untitled"} · Tandem`;
    canvas.classList.toggle("dark", doc.data.settings.theme === "dark");
    board.render(doc.data, { bodies });
  }

  titleInput.addEventListener("change", () => {
    const value = titleInput.value.trim() || "Untitled";
    if (doc.data && value !== doc.data.title) submit([{ p: ["title"], od: doc.data.title, oi: value }]);
  });
  titleInput.addEventListener("keydown", (e) => { if (e.key === "Enter") titleInput.blur(); });

  // Every applied component: rich text into Quill (unless Quill made it). The doc presence
  // moves selections through the same ops (selection.js).
  let dirtyBodies = new Set();
  doc.on("op", (op, source) => {
    for (const c of op) {
      const [head, wid, field] = c.p;
      if (head === "widgets" && c.t === "rich-text" && field === "body" && c.p.length === 3) {
        if (source !== `quill:${wid}`) {
          const binding = board.binding(wid);
          if (binding) binding.apply(c.o);
        }
      } else if (head === "widgets" && (c.p.length <= 3)) {
        if (wid === undefined) for (const w of Object.keys(doc.data.widgets)) dirtyBodies.add(w);
        else dirtyBodies.add(wid);
      }
    }
  });
  doc.on("op batch", () => {
    const bodies = dirtyBodies;
    dirtyBodies = new Set();
    renderDoc(bodies);
    presence.renderSelections();
    renderStatus();
  });
  doc.on("load", () => { board.render(doc.data, { force: true }); renderDoc(new Set()); renderStatus(); });
  doc.on("no write pending", renderStatus);
  doc.on("error", (err) => toast(err.message, "error"));
  live.addEventListener("state", renderStatus);
  live.addEventListener("denied", () => toast("Your session ended. Log in again.", "error"));
  undo.addEventListener("change", renderStatus);
  offline.addEventListener("saved", renderStatus);

  const onKey = (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (!mod || event.key.toLowerCase() !== "z" || event.altKey) return;
    if (event.target === titleInput) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.shiftKey) doRedo();
    else doUndo();
  };
  window.addEventListener("keydown", onKey, true);
  const onDocClick = (event) => { if (!event.target.closest(".add-wrap")) addMenu.hidden = true; };
  document.addEventListener("click", onDocClick);

  // -- panels ----------------------------------------------------------------------------
  // A panel takes the focus when it opens; Escape (or its close button) closes it and gives the
  // focus back to the control that opened it.
  let panel = null;
  function togglePanel(kind, options = {}) {
    if (panel && panel.kind === kind && !options.widget) return closePanel();
    const opener = panel ? panel.opener : document.activeElement;
    closePanel({ refocus: false });
    side.hidden = false;
    const close = () => closePanel();
    const ctx = { id, doc, me, role, readOnly: () => readOnly, board, canvas, banner, close, navigate };
    panel = { kind, opener, dispose: kind === "history" ? openHistory(side, ctx, options) : openShare(side, ctx) };
    if (!side.contains(document.activeElement)) side.querySelector("input, select, .panel-section button")?.focus();
  }
  function closePanel({ refocus = true } = {}) {
    const opener = panel && panel.opener;
    if (panel && panel.dispose) panel.dispose();
    panel = null;
    side.hidden = true;
    fill(side);
    if (refocus && opener && opener.isConnected) opener.focus();
  }
  side.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      closePanel();
    }
  });

  // -- start -----------------------------------------------------------------------------
  setReadOnly(true);
  summaryP.then(({ summary, err }) => {
    if (disposed) return;
    // A plain 404 (no problem code) is a server without the HTTP API: the socket decides.
    if (err instanceof ApiError && (err.status === 403 || (err.status === 404 && err.code !== "http_404"))) {
      cleanup();
      fill(root, h("main", { class: "center-page" }, h("h1", {}, "Dashboard not available"), h("p", {}, "It does not exist, or you have no access to it."), button("Back to dashboards", () => navigate("/"), { kind: "primary" })));
      return;
    }
    if (summary) {
      role = summary.role || role;
      offline.meta.title = summary.title;
    }
    setReadOnly(role !== null && !EDIT_ROLES.has(role));
  });
  const record = await recordP;
  const restored = offline.restore(record);
  if (!doc.type) {
    canvas.append(h("p", { class: "loading" }, "Loading dashboard…"));
  }
  if (restored) toast(`${restored} change${restored === 1 ? "" : "s"} from your last visit will be sent.`);
  doc.subscribe((err) => {
    canvas.querySelector(".loading")?.remove();
    if (err) {
      toast(`Cannot open this dashboard: ${err.message}`, "error");
      return;
    }
    if (!doc.type) {
      canvas.append(h("p", { class: "loading" }, "This dashboard does not exist."));
      return;
    }
    root.querySelector(".editor").dataset.ready = "true";
    presence.start();
  });
  renderStatus();
  presence.render();

  function cleanup() {
    if (disposed) return;
    disposed = true;
    window.removeEventListener("keydown", onKey, true);
    document.removeEventListener("click", onDocClick);
    document.body.classList.remove("is-read-only");
    closePanel({ refocus: false });
    presence.close();
    live.close();
  }
  return cleanup;
}
