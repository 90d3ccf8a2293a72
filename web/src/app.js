// The single-page app: routes, who is logged in, and the service worker that lets a dashboard
// open while offline.
import { ApiError, del, get, guestSession, setGuestSession } from "./api.js";
import { editorPage } from "./editor.js";
import { guestPage, listPage, loginPage, signupPage } from "./pages.js";

const ME_KEY = "tandem.me";

function cachedMe() {
  try {
    return JSON.parse(localStorage.getItem(ME_KEY) || "null");
  } catch {
    return null;
  }
}

function remember(user) {
  if (user && !user.guest) localStorage.setItem(ME_KEY, JSON.stringify(user));
}

// The current identity: a user (cookie session), a guest (share link, on its dashboard only),
// the cached user when the server cannot be reached, or null (logged out).
async function whoAmI(path) {
  try {
    const me = await get("/me");
    if (me.guest) return { ...me, id: `guest:${me.display_name}`, username: me.display_name };
    remember(me);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) return cachedMe();
    if (err instanceof ApiError && err.status === 401) {
      localStorage.removeItem(ME_KEY);
      return null;
    }
    if (err instanceof ApiError && err.status === 404 && err.code === "http_404") {
      // A server without the account API: the socket's cookie still says who this is.
      const me = cachedMe() || { id: `anon-${crypto.randomUUID().slice(0, 8)}`, username: "You" };
      localStorage.setItem(ME_KEY, JSON.stringify(me));
      return me;
    }
    return cachedMe();
  }
}

export function start(root) {
  let dispose = null;
  let rendering = 0;

  async function render() {
    const mine = ++rendering;
    if (dispose) dispose();
    dispose = null;
    const path = location.pathname;
    const navigate = (to, { replace = false } = {}) => {
      if (replace) history.replaceState(null, "", to);
      else history.pushState(null, "", to);
      render();
    };
    const onLogin = (user) => {
      setGuestSession(null);
      remember(user);
    };
    const logout = async () => {
      try {
        await del("/sessions/current");
      } catch {
        /* logged out locally either way */
      }
      localStorage.removeItem(ME_KEY);
      navigate("/login");
    };
    const share = path.match(/^\/s\/([^/]+)$/);
    if (share) return guestPage(root, decodeURIComponent(share[1]), { navigate });
    if (path === "/login") return loginPage(root, { navigate, onLogin });
    if (path === "/signup") return signupPage(root, { navigate, onLogin });
    const me = await whoAmI(path);
    if (mine !== rendering) return;
    const dash = path.match(/^\/d\/([^/]+)$/);
    if (!me) {
      navigate(`/login${path === "/" ? "" : `?next=${encodeURIComponent(path)}`}`, { replace: true });
      return;
    }
    if (dash) {
      const guest = guestSession();
      const cleanup = await editorPage(root, decodeURIComponent(dash[1]), { me, navigate, guest });
      if (mine === rendering) dispose = cleanup;
      else cleanup();
      return;
    }
    dispose = listPage(root, { me, navigate, logout });
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, "", link.getAttribute("href"));
    render();
  });
  window.addEventListener("popstate", render);
  render();

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
}
