// Raw Engine.IO v4 / Socket.IO v5 protocol helpers (no socket.io-client):
// used to provoke situations that the official client never produces.

import WebSocket from "ws";
import { T, withTimeout } from "./harness.js";

const RS = "\x1e"; // polling payload record separator

function endpoint(server, transport, sid) {
  let q = `EIO=4&transport=${transport}`;
  if (sid) q += `&sid=${encodeURIComponent(sid)}`;
  return `${server.url}/socket.io/?${q}`;
}

/**
 * A raw websocket Engine.IO connection. Text frames are queued as strings,
 * binary frames as Buffers. With autoPong (default), Engine.IO pings ("2")
 * are answered with pongs ("3") and not queued.
 */
export class RawWs {
  constructor(server, { autoPong = true, sid } = {}) {
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this._pingWaiters = [];
    this.ws = new WebSocket(endpoint(server, "websocket", sid).replace(/^http/, "ws"));
    this.ws.on("error", () => {}); // surfaced through "close"
    this.opened = withTimeout(
      new Promise((resolve, reject) => {
        this.ws.once("open", resolve);
        this.ws.once("unexpected-response", (req, res) => reject(new Error(`unexpected HTTP ${res.statusCode}`)));
      }),
      T,
      "websocket open",
    );
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this._pingWaiters.splice(0)) w();
        for (const w of this.waiters.splice(0)) w.reject(new Error(`websocket closed (${code}) while waiting for a message`));
      });
    });
    this.ws.on("message", (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString();
      if (!isBinary && msg === "2") {
        this.pings++;
        for (const w of this._pingWaiters.splice(0)) w();
        if (this.autoPong) {
          this.send("3");
          return;
        }
      }
      const w = this.waiters.shift();
      if (w) w.resolve(msg);
      else this.queue.push(msg);
    });
  }

  /** Resolves once at least `n` pings have been received in total. */
  waitPings(n, ms = T) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          if (this.pings >= n) return resolve(this.pings);
          if (this.closeInfo) return reject(new Error(`websocket closed (${this.closeInfo.code}) after ${this.pings} pings`));
          this._pingWaiters.push(check);
        };
        check();
      }),
      ms,
      `${n} pings`,
    );
  }

  send(data) {
    this.ws.send(data);
  }

  /** Next queued frame (string or Buffer). */
  next(ms = T) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`websocket closed (${this.closeInfo.code})`));
    return withTimeout(
      new Promise((resolve, reject) => this.waiters.push({ resolve, reject })),
      ms,
      "websocket message",
    );
  }

  /** Waits for the Engine.IO OPEN packet; resolves with the handshake object. */
  async handshake() {
    await this.opened;
    const m = await this.next();
    if (typeof m !== "string" || m[0] !== "0") throw new Error(`expected OPEN packet, got ${m}`);
    this.handshakeData = JSON.parse(m.slice(1));
    return this.handshakeData;
  }

  /** Handshake + Socket.IO CONNECT to "/" (or nsp); resolves with the socket.io sid. */
  async connectNamespace(nsp = "/", auth) {
    await this.handshake();
    const prefix = nsp === "/" ? "" : `${nsp},`;
    this.send(`40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`);
    const m = await this.next();
    const expect = `40${prefix}`;
    if (typeof m !== "string" || !m.startsWith(expect)) throw new Error(`expected CONNECT reply, got ${m}`);
    return JSON.parse(m.slice(expect.length)).sid;
  }

  /** Resolves with { code, reason } when closed; rejects after ms. */
  waitClosed(ms = T) {
    return withTimeout(this.closed, ms, "websocket close");
  }

  close() {
    try {
      this.ws.terminate();
    } catch {
      // ignore
    }
  }
}

/** Polling handshake: resolves with the parsed OPEN packet data ({ sid, ... }). */
export async function pollingHandshake(server) {
  const res = await fetch(endpoint(server, "polling"));
  const body = await res.text();
  if (res.status !== 200 || body[0] !== "0") throw new Error(`bad polling handshake: ${res.status} ${body}`);
  return JSON.parse(body.slice(1));
}

/** Long-polling GET; resolves with { status, body, packets }. */
export async function pollGet(server, sid, { signal } = {}) {
  const res = await fetch(endpoint(server, "polling", sid), { signal });
  const body = await res.text();
  return { status: res.status, body, packets: res.status === 200 ? body.split(RS) : [] };
}

/** Polling POST of one or several (string) packets; resolves with { status, body }. */
export async function pollPost(server, sid, packets) {
  const list = Array.isArray(packets) ? packets : [packets];
  const res = await fetch(endpoint(server, "polling", sid), {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8" },
    body: list.join(RS),
  });
  return { status: res.status, body: await res.text() };
}

/**
 * Parses an Engine.IO MESSAGE frame ("4" + Socket.IO packet) into
 * { type, attachments, nsp, id, data }. JSON is parsed, so the comparison is
 * independent of the server's JSON formatting.
 */
export function parseSio(frame) {
  if (typeof frame !== "string" || frame[0] !== "4") throw new Error(`not an Engine.IO message frame: ${frame}`);
  const s = frame.slice(1);
  const out = { type: Number(s[0]), attachments: undefined, nsp: "/", id: undefined, data: undefined };
  let i = 1;
  if (out.type === 5 || out.type === 6) {
    const j = s.indexOf("-", i);
    out.attachments = Number(s.slice(i, j));
    i = j + 1;
  }
  if (s[i] === "/") {
    const j = s.indexOf(",", i);
    out.nsp = j < 0 ? s.slice(i) : s.slice(i, j);
    i = j < 0 ? s.length : j + 1;
  }
  let id = "";
  while (i < s.length && s[i] >= "0" && s[i] <= "9") id += s[i++];
  if (id) out.id = Number(id);
  if (i < s.length) out.data = JSON.parse(s.slice(i));
  return out;
}

/**
 * Replaces the binary placeholders ({_placeholder: true, num}) of a decoded
 * packet payload by the given attachments.
 */
export function reconstruct(data, attachments) {
  if (data && typeof data === "object" && data._placeholder === true && typeof data.num === "number") {
    return attachments[data.num];
  }
  if (Array.isArray(data)) return data.map((x) => reconstruct(x, attachments));
  if (data && typeof data === "object") {
    const o = {};
    for (const [k, v] of Object.entries(data)) o[k] = reconstruct(v, attachments);
    return o;
  }
  return data;
}
