// The ShareDB connection over /ws: the stock client with rich-text and text-unicode registered on
// json0 (and a transformPresence, so its doc presence works), a socket that authenticates guests with {a:'auth', token} before ShareDB's handshake
// (people who logged in are authenticated by the session cookie), reconnection with backoff,
// and a connection state for the UI.
import ShareDB from "sharedb/lib/client";
import richText from "rich-text";
import { type as textUnicode } from "ot-text-unicode";
import { transformPresence } from "./selection.js";

export const json0 = ShareDB.types.defaultType;
json0.registerSubtype(richText.type);
json0.registerSubtype(textUnicode);
json0.transformPresence = transformPresence; // what the client's doc presence needs (selection.js)
export const Delta = richText.Delta;
export const COLLECTION = "dashboards";

const OPEN = 1;
const CLOSED = 3;

class BrowserSocket {
  constructor(url, token, onAuth) {
    this.readyState = 0;
    this.onopen = this.onclose = this.onerror = this.onmessage = null;
    this.closedByUs = false;
    const ws = (this.ws = new WebSocket(url));
    ws.onopen = () => {
      if (token) ws.send(JSON.stringify({ a: "auth", token }));
      this.readyState = OPEN;
      if (this.onopen) this.onopen();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string" && event.data.startsWith('{"a":"auth"')) {
        onAuth(JSON.parse(event.data));
        return;
      }
      if (this.onmessage) this.onmessage(event);
    };
    ws.onclose = (event) => {
      this.readyState = CLOSED;
      // ShareDB reads the string 'closed' as "closed on purpose"; anything else leaves its ops
      // waiting for the next socket.
      if (this.onclose) this.onclose(this.closedByUs ? "closed" : { code: event.code, reason: event.reason });
    };
    ws.onerror = (event) => {
      if (this.onerror) this.onerror(event);
    };
  }

  send(data) {
    this.ws.send(data);
  }

  close(onPurpose = true) {
    this.closedByUs = onPurpose;
    this.ws.close();
  }
}

// state: 'connecting' | 'live' | 'offline' | 'denied'
export class Live extends EventTarget {
  constructor({ token = null } = {}) {
    super();
    this.token = token;
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.userId = null;
    this.state = "connecting";
    this.stopped = false;
    this.attempt = 0;
    this.timer = null;
    this.socket = this._socket();
    this.connection = new ShareDB.Connection(this.socket);
    this.connection.on("state", (state) => this._onState(state));
    this.connection.on("error", (err) => this._emit("error", err));
    this._online = () => this.reconnect();
    this._offline = () => {
      this._setState("offline");
      if (this.socket) this.socket.close(false);
    };
    window.addEventListener("online", this._online);
    window.addEventListener("offline", this._offline);
    if (!navigator.onLine) this._setState("offline");
  }

  _socket() {
    return new BrowserSocket(this.url, this.token, (reply) => {
      // A cookie may have authenticated the socket already (a user who followed a share link).
      if (reply.error && /already authenticated/.test(reply.error.message || "")) return;
      if (reply.error) {
        this.stopped = true;
        this._setState("denied");
        this._emit("denied", reply.error);
      } else {
        this.userId = reply.user;
        this._emit("auth", reply.user);
      }
    });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", state);
  }

  _onState(state) {
    if (state === "connected") {
      this.attempt = 0;
      this._setState("live");
    } else if (state === "connecting") {
      if (navigator.onLine) this._setState("connecting");
    } else if (state === "disconnected" || state === "closed" || state === "stopped") {
      if (this.stopped) return;
      this._setState(navigator.onLine ? "connecting" : "offline");
      if (navigator.onLine) this._schedule();
    }
  }

  _schedule() {
    clearTimeout(this.timer);
    const delay = Math.min(10_000, 250 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.timer = setTimeout(() => this.reconnect(), delay);
  }

  reconnect() {
    if (this.stopped || !navigator.onLine) return;
    if (this.socket && this.socket.readyState !== CLOSED && this.connection.state !== "disconnected") return;
    clearTimeout(this.timer);
    this.socket = this._socket();
    this.connection.bindToSocket(this.socket);
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this._online);
    window.removeEventListener("offline", this._offline);
    this.connection.close();
  }
}
