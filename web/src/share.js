// The share panel: collaborators (invite by username or email with a role, change or revoke a
// role) and share links (role, optional password and expiry; copy; revoke). A link's token is
// shown once, when it is created.
import { del, get, post, put } from "./api.js";
import { avatar, button, field, h, icon, iconButton, timeAgo, toast, fill } from "./ui.js";

const ROLES = ["viewer", "editor", "admin"];

function roleSelect(value, label, roles = ROLES) {
  const select = h("select", { "aria-label": label || null }, roles.map((r) => h("option", { value: r }, r[0].toUpperCase() + r.slice(1))));
  select.value = value;
  return select;
}

export function openShare(side, ctx) {
  const { id } = ctx;
  const base = `/dashboards/${id}`;
  const canManage = ctx.role === "owner" || ctx.role === "admin" || ctx.role === null;
  const people = h("ul", { class: "list people" });
  const links = h("ul", { class: "list links" });
  const created = h("div", { class: "created-link", hidden: true });

  const login = h("input", { type: "text", placeholder: "Username or email", required: true, autocomplete: "off", "aria-label": "Username or email to invite" });
  const inviteRole = roleSelect("editor", "Role for the invited person");
  const inviteForm = h("form", { class: "inline-form invite" }, login, inviteRole, h("button", { type: "submit", class: "btn primary" }, "Invite"));

  const linkRole = roleSelect("viewer", null, ["viewer", "editor"]); // labelled by its field
  const password = h("input", { type: "password", autocomplete: "new-password", placeholder: "optional" });
  const expires = h("input", { type: "date" });
  const linkForm = h("form", { class: "form link-form" },
    h("div", { class: "grid2" }, field("Link gives", linkRole), field("Expires", expires)),
    field("Password", password),
    h("button", { type: "submit", class: "btn" }, icon("plus"), h("span", {}, "Create link")));

  fill(side, 
    h("header", { class: "panel-head" }, h("h2", {}, "Share"), iconButton("x", "Close share", ctx.close)),
    h("section", { class: "panel-section" }, h("h3", {}, "People"), canManage ? inviteForm : h("p", { class: "muted" }, "Only the owner and admins can invite people."), people),
    canManage ? h("section", { class: "panel-section" }, h("h3", {}, "Share links"), linkForm, created, links) : null,
  );

  async function loadPeople() {
    try {
      const data = await get(`${base}/collaborators`);
      fill(people, ...(data.items || []).map((c) => {
        const name = c.user.full_name || c.user.username;
        const control = c.role === "owner" || !canManage
          ? h("span", { class: "badge" }, c.role)
          : roleSelect(c.role, `Role of ${c.user.username}`);
        if (control.tagName === "SELECT") {
          control.addEventListener("change", async () => {
            try {
              await put(`${base}/collaborators/${c.user.id}`, { role: control.value });
              toast(`${c.user.username} is now ${control.value}.`);
            } catch (err) {
              toast(`Could not change the role: ${err.message}`, "error");
              control.value = c.role;
            }
          });
        }
        return h("li", { class: "person" },
          avatar(name, c.user.avatar_color),
          h("div", { class: "grow" }, h("strong", {}, name), h("small", {}, `@${c.user.username}${c.online ? " · online" : ""}`)),
          control,
          c.role !== "owner" && canManage ? iconButton("x", `Remove ${c.user.username}`, async () => {
            try {
              await del(`${base}/collaborators/${c.user.id}`);
              loadPeople();
            } catch (err) {
              toast(`Could not remove: ${err.message}`, "error");
            }
          }) : null);
      }));
    } catch (err) {
      fill(people, h("li", { class: "muted" }, `Collaborators unavailable: ${err.message}`));
    }
  }

  async function loadLinks() {
    if (!canManage) return;
    try {
      const data = await get(`${base}/share-links`);
      const items = data.items || [];
      fill(links, ...(items.length ? items.map((l) => h("li", { class: "link" },
        h("div", { class: "grow" }, h("strong", {}, `${l.role[0].toUpperCase()}${l.role.slice(1)} link`),
          h("small", {}, [l.has_password ? "password" : "no password", l.expires_at ? `expires ${new Date(l.expires_at).toLocaleDateString()}` : "no expiry", `created ${timeAgo(l.created_at)}`].join(" · "))),
        button("Revoke", async () => {
          try {
            await del(`${base}/share-links/${l.id}`);
            toast("Link revoked; people using it were disconnected.");
            loadLinks();
          } catch (err) {
            toast(`Could not revoke: ${err.message}`, "error");
          }
        }, { kind: "small danger" }))) : [h("li", { class: "muted" }, "No share links.")]));
    } catch (err) {
      fill(links, h("li", { class: "muted" }, `Share links unavailable: ${err.message}`));
    }
  }

  inviteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post(`${base}/collaborators`, { login: login.value.trim(), role: inviteRole.value });
      toast(`Invited ${login.value.trim()}.`);
      login.value = "";
      loadPeople();
    } catch (err) {
      toast(err.status === 404 ? "Nobody has that username or email." : `Could not invite: ${err.message}`, "error");
    }
  });

  linkForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { role: linkRole.value };
    if (password.value) body.password = password.value;
    if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59`).toISOString();
    try {
      const link = await post(`${base}/share-links`, body);
      const url = `${location.origin}${link.path}`;
      const input = h("input", { type: "text", readOnly: true, value: url, "aria-label": "Share link", class: "link-url" });
      created.hidden = false;
      fill(created, 
        h("p", {}, "Copy the link now: it is shown only once."),
        h("div", { class: "inline-form" }, input, button("Copy", async () => {
          try {
            await navigator.clipboard.writeText(url);
            toast("Link copied.");
          } catch {
            input.select();
            toast("Press Ctrl+C to copy.");
          }
        }, { icon: "copy" })),
      );
      password.value = "";
      loadLinks();
    } catch (err) {
      toast(`Could not create the link: ${err.message}`, "error");
    }
  });

  loadPeople();
  loadLinks();
  (canManage ? login : side.querySelector("button")).focus();
  return () => {};
}
