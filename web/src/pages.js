// The pages around the editor: log in, sign up, the dashboard list, and a share link's landing.
import { ApiError, get, patch, post, qs, setGuestSession } from "./api.js";
import { COLLECTION, Live } from "./live.js";
import { avatar, button, field, h, icon, modal, timeAgo, toast, fill } from "./ui.js";

function brand() {
  return h("a", { href: "/", class: "brand", "data-link": "" }, h("span", { class: "brand-mark" }, "T"), h("span", {}, "Tandem"));
}

function authCard(title, subtitle, form, foot) {
  return h("main", { class: "auth-page" }, h("div", { class: "auth-card" }, brand(), h("h1", {}, title), h("p", { class: "muted" }, subtitle), form, h("p", { class: "auth-foot" }, foot)));
}

function errorText(err) {
  if (err.problem && Array.isArray(err.problem.errors) && err.problem.errors.length) {
    return err.problem.errors.map((e) => e.message).join(" ");
  }
  return err.message;
}

export function loginPage(root, { navigate, onLogin }) {
  const loginInput = h("input", { type: "text", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "form" }, field("Email or username", loginInput), field("Password", password), error, h("button", { type: "submit", class: "btn primary wide" }, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const session = await post("/sessions", { login: loginInput.value.trim(), password: password.value });
      onLogin(session.user);
      navigate(new URLSearchParams(location.search).get("next") || "/");
    } catch (err) {
      error.textContent = err.status === 401 ? "That email/username and password do not match." : errorText(err);
    }
  });
  fill(root, authCard("Log in", "Welcome back. Your dashboards are waiting.", form, ["New here? ", h("a", { href: "/signup", "data-link": "" }, "Create an account")]));
  loginInput.focus();
}

export function signupPage(root, { navigate, onLogin }) {
  const name = h("input", { type: "text", autocomplete: "name" });
  const username = h("input", { type: "text", autocomplete: "username", required: true, pattern: "[A-Za-z0-9_.\\-]{3,32}" });
  const email = h("input", { type: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "form" }, field("Full name", name), field("Username", username, "3–32 letters, digits, . _ -"), field("Email", email), field("Password", password, "At least 8 characters"), error, h("button", { type: "submit", class: "btn primary wide" }, "Create account"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await post("/users", { email: email.value.trim(), username: username.value.trim(), password: password.value, full_name: name.value.trim() || undefined });
      const session = await post("/sessions", { login: username.value.trim(), password: password.value });
      onLogin(session.user);
      navigate("/");
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  fill(root, authCard("Create your account", "Build dashboards together, in real time.", form, ["Already have an account? ", h("a", { href: "/login", "data-link": "" }, "Log in")]));
  name.focus();
}

const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
// A search snippet: HTML-escaped text with <mark>…</mark> around hits, rebuilt as DOM nodes.
function snippet(text) {
  const decode = (s) => s.replace(/&(lt|gt|amp|quot|#x27|#39);/g, (m) => ENTITIES[m]);
  return String(text).split(/(<mark>.*?<\/mark>)/).map((part) => (part.startsWith("<mark>") ? h("mark", {}, decode(part.slice(6, -7))) : decode(part)));
}

export function listPage(root, { me, navigate, logout }) {
  let archived = false;
  let query = "";
  const search = h("input", { type: "search", placeholder: "Search dashboards", "aria-label": "Search dashboards", class: "search" });
  const grid = h("div", { class: "cards", "aria-live": "polite" });
  const tabs = h("div", { class: "tabs", role: "tablist" },
    h("button", { type: "button", role: "tab", "aria-selected": "true", onclick: () => setTab(false) }, "Active"),
    h("button", { type: "button", role: "tab", "aria-selected": "false", onclick: () => setTab(true) }, "Archived"));
  const name = me.full_name || me.username;
  fill(root, 
    h("header", { class: "topbar" }, brand(), h("div", { class: "search-wrap" }, icon("search"), search), h("div", { class: "spacer" }),
      h("div", { class: "user" }, avatar(name, me.avatar_color), h("span", { class: "user-name" }, name), button("Log out", logout, { kind: "ghost" }))),
    h("main", { class: "list-page" },
      h("div", { class: "list-head" }, h("h1", {}, "Dashboards"), tabs, h("div", { class: "spacer" }), button("New dashboard", () => create(), { icon: "plus", kind: "primary" })),
      grid),
  );

  function setTab(value) {
    archived = value;
    for (const [i, tab] of [...tabs.children].entries()) tab.setAttribute("aria-selected", String(i === (value ? 1 : 0)));
    refresh();
  }

  let seq = 0;
  async function refresh() {
    const mine = ++seq;
    try {
      const data = await get(`/dashboards${qs({ q: query, archived: String(archived), limit: 100 })}`);
      if (mine !== seq) return;
      const items = data.items || [];
      fill(grid, ...(items.length ? items.map(card) : [h("div", { class: "empty-state" }, h("h2", {}, query ? "Nothing matches" : archived ? "No archived dashboards" : "No dashboards yet"), h("p", { class: "muted" }, query ? "Try other words." : archived ? "" : "Create one, or ask a teammate to share theirs."))]));
    } catch (err) {
      if (mine === seq) fill(grid, h("div", { class: "empty-state" }, h("h2", {}, "Cannot load dashboards"), h("p", { class: "muted" }, err.message)));
    }
  }

  function card(d) {
    const canArchive = d.role === "owner" || d.role === "admin";
    return h("article", { class: "card", dataset: { id: d.id } },
      h("a", { href: `/d/${d.id}`, "data-link": "", class: "card-link" }, h("h2", {}, d.title || "Untitled")),
      h("p", { class: "card-desc" }, d.snippet ? snippet(d.snippet) : d.description || "No description"),
      h("div", { class: "card-meta" },
        h("span", { class: `badge role-${d.role}` }, d.role),
        h("span", {}, d.owner && d.owner.id !== me.id ? `by ${d.owner.username}` : "yours"),
        h("span", {}, d.collaborator_count ? `${d.collaborator_count} collaborator${d.collaborator_count === 1 ? "" : "s"}` : "private"),
        h("span", {}, timeAgo(d.updated_at)),
        canArchive ? button(d.is_archived ? "Unarchive" : "Archive", async () => {
          try {
            await patch(`/dashboards/${d.id}`, { archived: !d.is_archived });
            toast(d.is_archived ? "Dashboard restored from the archive." : "Dashboard archived.");
            refresh();
          } catch (err) {
            toast(err.message, "error");
          }
        }, { kind: "small ghost", icon: "archive", "aria-label": `${d.is_archived ? "Unarchive" : "Archive"} ${d.title}` }) : null));
  }

  async function create() {
    const title = h("input", { type: "text", required: true, maxlength: 500, value: "Untitled dashboard" });
    const description = h("input", { type: "text", maxlength: 10000 });
    const template = h("select", {}, h("option", { value: "" }, "Blank"));
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "form" }, field("Title", title), field("Description", description), field("Start from", template), error,
      h("div", { class: "actions" }, button("Cancel", () => dialog.close()), h("button", { type: "submit", class: "btn primary" }, "Create")));
    const dialog = modal("New dashboard", form);
    title.select();
    get("/templates").then((data) => {
      for (const t of data.items || []) template.append(h("option", { value: t.id }, `${t.name}${t.category ? ` (${t.category})` : ""}`));
    }).catch(() => {});
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const body = { title: title.value.trim() || "Untitled dashboard", description: description.value };
        if (template.value) body.template_id = template.value;
        const created = await post("/dashboards", body, { headers: { "Idempotency-Key": crypto.randomUUID() } });
        dialog.close();
        navigate(`/d/${created.id}`);
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { query = search.value.trim(); refresh(); }, 200);
  });
  // The list stays live through a subscribed query on the socket: the server sends a diff
  // when a dashboard is created, shared with this user, archived, deleted or unshared, and the
  // cards (roles, owners, counts come from the HTTP list) are fetched again. So is the list
  // after a reconnect, since changes made meanwhile sent nothing.
  const live = new Live();
  let again = null;
  const soon = () => {
    clearTimeout(again);
    again = setTimeout(refresh, 50);
  };
  const dashboards = live.connection.createSubscribeQuery(COLLECTION, { $limit: 100 });
  dashboards.on("changed", soon);
  dashboards.on("error", () => {});
  let connectedBefore = false;
  live.addEventListener("state", (event) => {
    if (event.detail !== "live") return;
    if (connectedBefore) soon();
    connectedBefore = true;
  });
  refresh();
  return () => {
    clearTimeout(again);
    dashboards.destroy();
    live.close();
  };
}

export function guestPage(root, token, { navigate }) {
  const name = h("input", { type: "text", autocomplete: "nickname", placeholder: "How others will see you", maxlength: 80 });
  const password = h("input", { type: "password", autocomplete: "off" });
  const passwordField = field("Password", password, "This link is protected by a password.");
  passwordField.hidden = true;
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "form" }, field("Your name", name), passwordField, error, h("button", { type: "submit", class: "btn primary wide" }, "Open dashboard"));
  // The token leaves the address bar (and the browser history) at once.
  history.replaceState(null, "", "/s/");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { token };
    if (name.value.trim()) body.display_name = name.value.trim();
    if (!passwordField.hidden) body.password = password.value;
    try {
      const session = await post("/guest-sessions", body);
      setGuestSession(session);
      navigate(`/d/${session.dashboard_id}`, { replace: true });
    } catch (err) {
      if (err.code === "share_link_password_required") {
        passwordField.hidden = false;
        password.focus();
        error.textContent = "Enter the link's password.";
      } else if (err.code === "share_link_password_wrong") {
        error.textContent = "That password is not right.";
        password.select();
      } else if (err.code === "share_link_expired") {
        error.textContent = "This link has expired. Ask for a new one.";
      } else if (err.code === "share_link_not_found") {
        error.textContent = "This link does not work (it may have been revoked).";
      } else {
        error.textContent = err.message;
      }
    }
  });
  fill(root, authCard("You're invited", "Someone shared a dashboard with you.", form, ["Have an account? ", h("a", { href: "/login", "data-link": "" }, "Log in")]));
  name.focus();
}
