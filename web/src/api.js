// The HTTP API (/api/...): JSON in and out, problem+json errors, the session cookie for people
// who logged in, a bearer token (kept in sessionStorage) for guests who came through a share link.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.code = (problem && problem.code) || (status === 0 ? "network" : "http_" + status);
    this.problem = problem || {};
  }
}

const GUEST_KEY = "tandem.guest";

export function guestSession() {
  try {
    return JSON.parse(sessionStorage.getItem(GUEST_KEY) || "null");
  } catch {
    return null;
  }
}

export function setGuestSession(value) {
  if (value) sessionStorage.setItem(GUEST_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(GUEST_KEY);
}

export async function api(method, path, body, { headers = {} } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  // A guest's bearer token is for the dashboard its link opened, nothing else.
  const guest = guestSession();
  if (guest && guest.token && location.pathname === `/d/${guest.dashboard_id}`) h.Authorization = `Bearer ${guest.token}`;
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, { detail: "The server cannot be reached.", code: "network" });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body, opts) => api("POST", path, body ?? {}, opts);
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);

export function qs(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, v);
  const s = search.toString();
  return s ? `?${s}` : "";
}
