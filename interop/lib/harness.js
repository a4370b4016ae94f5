// Interop test harness: starts the app-contract server for the selected target
// (TARGET=node | go), and offers client-side helpers to the tests.
//
// Everything here is target-agnostic: the tests only see the wire and the
// JSON log lines printed by the app (see CONTRACT.md).

import { spawn, execFile } from "node:child_process";
import { createServer } from "node:net";
import { once as eventsOnce } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after, afterEach, describe } from "node:test";
import { io as ioClient, Manager } from "socket.io-client";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** interop/ directory */
export const INTEROP_DIR = path.resolve(HERE, "..");
/** repository root (Go module root) */
export const REPO_ROOT = path.resolve(INTEROP_DIR, "..");

export const TARGET = process.env.TARGET || "node";
if (TARGET !== "node" && TARGET !== "go") {
  throw new Error(`unknown TARGET=${TARGET} (expected "node" or "go")`);
}
const DEBUG = !!process.env.INTEROP_DEBUG;

/** Default timeout (ms) used as a failure guard by every wait helper. */
export const T = 10000;

// ------------------------------------------------------------------ utilities

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a labelled error if `promise` does not settle within `ms`. */
export function withTimeout(promise, ms = T, label = "operation") {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms}ms waiting for ${label}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Waits for one `event` on an EventEmitter-like object; resolves with the args array. */
export function once(emitter, event, ms = T) {
  return withTimeout(
    new Promise((resolve) => {
      emitter.once(event, (...args) => resolve(args));
    }),
    ms,
    `"${event}" event`,
  );
}

/** Waits for the first of several events; resolves with { event, args }. */
export function onceAny(emitter, events, ms = T) {
  return withTimeout(
    new Promise((resolve) => {
      const handlers = {};
      for (const ev of events) {
        handlers[ev] = (...args) => {
          for (const e of events) emitter.off(e, handlers[e]);
          resolve({ event: ev, args });
        };
        emitter.on(ev, handlers[ev]);
      }
    }),
    ms,
    `one of ${events.join(", ")}`,
  );
}

/** Random suffix for room / namespace names. */
export function uid(prefix = "") {
  return prefix + Math.random().toString(36).slice(2, 10);
}

async function freePort() {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await eventsOnce(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await eventsOnce(srv, "close");
  return port;
}

function partialMatch(obj, pattern) {
  for (const [k, v] of Object.entries(pattern)) {
    if (obj[k] !== v) return false;
  }
  return true;
}

// ------------------------------------------------------------ server process

let goBuild; // Promise<string> (binary path), once per test process

async function goBinary() {
  if (process.env.GO_SERVER_BIN) return process.env.GO_SERVER_BIN;
  if (!goBuild) {
    goBuild = new Promise((resolve, reject) => {
      const dir = mkdtempSync(path.join(tmpdir(), "interop-go-"));
      process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
      const bin = path.join(dir, "interop-server");
      execFile(
        "go",
        ["build", "-o", bin, "./interop/goserver"],
        { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`go build ./interop/goserver failed: ${err.message}\n${stdout}${stderr}`));
          else resolve(bin);
        },
      );
    });
  }
  return goBuild;
}

async function serverCommand() {
  if (TARGET === "node") {
    return [process.execPath, [path.join(INTEROP_DIR, "servers", "node", "app.js")]];
  }
  return [await goBinary(), []];
}

const liveChildren = new Set();
process.on("exit", () => {
  for (const c of liveChildren) {
    try {
      c.kill("SIGKILL");
    } catch {
      // ignore
    }
  }
});

export const DEFAULT_ENV = Object.freeze({
  PING_INTERVAL: 25000,
  PING_TIMEOUT: 20000,
  CONNECT_TIMEOUT: 45000,
  MAX_HTTP_BUFFER_SIZE: 1000000,
  RECOVERY: 0,
});

export class ServerProcess {
  constructor(env, port) {
    this.env = { ...DEFAULT_ENV, ...env };
    this.requestedPort = port;
    this.port = undefined;
    this.url = undefined;
    /** parsed JSON log lines (objects) */
    this.logs = [];
    /** raw stdout lines */
    this.lines = [];
    this.stderr = "";
    this.exitInfo = undefined;
    this._waiters = new Set();
  }

  async start() {
    const [cmd, args] = await serverCommand();
    const port = this.requestedPort ?? (await freePort());
    const env = { ...process.env };
    for (const [k, v] of Object.entries(this.env)) env[k] = String(v);
    env.PORT = String(port);
    // the app exits when its stdin closes, i.e. when this process dies
    env.EXIT_ON_STDIN_EOF = "1";
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    liveChildren.add(child);
    child.on("exit", () => liveChildren.delete(child));
    child.stdin.on("error", () => {});
    // "close" (not "exit"): fires once stdout has been fully read, so every
    // log line printed before the exit is in this.logs when `exited` resolves
    this.exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        this.exitInfo = { code, signal };
        for (const w of this._waiters) w.onExit();
        resolve(this.exitInfo);
      });
    });
    child.on("error", (err) => {
      this.spawnError = err;
      for (const w of this._waiters) w.onExit();
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      this.stderr += d;
      if (this.stderr.length > 1e6) this.stderr = this.stderr.slice(-5e5);
      if (DEBUG) process.stderr.write(`[server stderr] ${d}`);
    });
    let buf = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        this._onLine(line);
      }
    });

    const m = await this._waitLine((l) => /^listening \d+$/.test(l), 15000, "`listening <port>` line");
    this.port = Number(m.split(" ")[1]);
    if (this.port !== port) throw new Error(`server listens on ${this.port}, expected PORT=${port}`);
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  _onLine(line) {
    if (DEBUG) process.stderr.write(`[server stdout] ${line}\n`);
    this.lines.push(line);
    if (line.startsWith("{")) {
      try {
        this.logs.push(JSON.parse(line));
      } catch {
        // not a JSON log line; kept in this.lines only
      }
    }
    for (const w of this._waiters) w.onLine(line);
  }

  _waitLine(pred, ms, label) {
    return new Promise((resolve, reject) => {
      const found = this.lines.find(pred);
      if (found !== undefined) return resolve(found);
      const w = {
        onLine: (l) => {
          if (pred(l)) done(null, l);
        },
        onExit: () =>
          done(
            new Error(
              `server exited (${JSON.stringify(this.exitInfo ?? this.spawnError?.message)}) before ${label}\nstderr:\n${this.stderr}`,
            ),
          ),
      };
      const timer = setTimeout(() => done(new Error(`timeout after ${ms}ms waiting for ${label}\nstderr:\n${this.stderr}`)), ms);
      const done = (err, v) => {
        clearTimeout(timer);
        this._waiters.delete(w);
        if (err) reject(err);
        else resolve(v);
      };
      this._waiters.add(w);
      if (this.exitInfo || this.spawnError) w.onExit();
    });
  }

  /**
   * Resolves with the first JSON log line (already received or future) that
   * matches `pred` (a function, or an object compared key by key with ===).
   * Rejects after `ms`.
   */
  waitForLog(pred, ms = T) {
    const fn = typeof pred === "function" ? pred : (o) => partialMatch(o, pred);
    const label = `log line matching ${typeof pred === "function" ? pred.toString() : JSON.stringify(pred)}`;
    return new Promise((resolve, reject) => {
      const found = this.logs.find(fn);
      if (found) return resolve(found);
      const w = {
        onLine: () => {
          const last = this.logs[this.logs.length - 1];
          if (last && fn(last)) done(null, last);
        },
        onExit: () => {
          // the exit may come right after the line we wait for
          const f = this.logs.find(fn);
          if (f) done(null, f);
          else done(new Error(`server exited before ${label}`));
        },
      };
      const timer = setTimeout(
        () => done(new Error(`timeout after ${ms}ms waiting for ${label}; last log lines:\n${this.lines.slice(-10).join("\n")}`)),
        ms,
      );
      const done = (err, v) => {
        clearTimeout(timer);
        this._waiters.delete(w);
        if (err) reject(err);
        else resolve(v);
      };
      this._waiters.add(w);
      if (this.exitInfo || this.spawnError) w.onExit();
    });
  }

  /** Waits for the disconnect log line of socket `id`; resolves with its reason. */
  async disconnectReason(id, ms = T) {
    const l = await this.waitForLog((o) => o.event === "disconnect" && o.id === id, ms);
    return l.reason;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `ms`). */
  async stop(signal = "SIGTERM", ms = 8000) {
    if (!this.child || this.exitInfo || this.spawnError) return this.exitInfo;
    this.child.kill(signal);
    let timer;
    const killer = new Promise((resolve) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        resolve();
      }, ms);
    });
    await Promise.race([this.exited, killer]);
    clearTimeout(timer);
    return this.exited;
  }
}

/** Starts a server for the current TARGET. `env` overrides DEFAULT_ENV; `port` pins the port. */
export async function startServer({ env = {}, port } = {}) {
  // A port picked by freePort() can be taken by another process before the
  // server binds it: retry with a new port when the server exits early.
  const attempts = port === undefined ? 3 : 1;
  for (let i = 1; ; i++) {
    const s = new ServerProcess(env, port);
    try {
      await s.start();
      return s;
    } catch (err) {
      await s.stop("SIGKILL").catch(() => {});
      if (i >= attempts || !s.exitInfo) throw err;
    }
  }
}

/**
 * Registers before/after hooks in the current describe block (or file): a
 * server is started before the first test and stopped after the last one;
 * clients opened through the helpers are closed after each test.
 * Returns a live handle: `ctx.server` is the ServerProcess.
 */
export function useServer(options = {}) {
  const ctx = { server: undefined };
  before(async () => {
    ctx.server = await startServer(options);
  });
  afterEach(() => closeAllClients());
  after(async () => {
    closeAllClients();
    if (ctx.server) await ctx.server.stop();
  });
  return ctx;
}

// ------------------------------------------------------------------- clients

const openClients = new Set();

/** Closes a client socket and its Manager (engine), whatever its state. */
export function closeClient(socket) {
  openClients.delete(socket);
  try {
    socket.io.reconnection(false);
    socket.disconnect();
    // closes the engine even if other sockets of the same manager linger
    if (socket.io.engine) socket.io.engine.close();
  } catch {
    // ignore
  }
}

export function closeAllClients() {
  for (const s of [...openClients]) closeClient(s);
}

/** Transport modes every socket.io-client scenario is run in. */
export const MODES = [
  { name: "polling", opts: { transports: ["polling"] }, expectTransport: "polling" },
  { name: "websocket", opts: { transports: ["websocket"] }, expectTransport: "websocket" },
  { name: "upgrade", opts: {}, expectTransport: "websocket", upgrade: true },
];

/** Generates one describe block per transport mode: fn(mode) defines the tests. */
export function describeModes(title, fn) {
  for (const mode of MODES) {
    describe(`${title} [${mode.name}]`, () => fn(mode));
  }
}

function clientOptions(mode, opts) {
  return {
    forceNew: true,
    reconnection: false,
    timeout: T,
    ...(mode ? mode.opts : {}),
    ...opts,
  };
}

/**
 * Creates a socket.io-client socket (tracked for cleanup) without waiting.
 * `nsp` is the namespace; `opts` are socket.io-client options.
 */
export function createClient(server, nsp = "/", { mode, ...opts } = {}) {
  const url = server.url + (nsp === "/" ? "" : nsp);
  const socket = ioClient(url, clientOptions(mode, opts));
  trackHello(socket);
  openClients.add(socket);
  return socket;
}

/** Creates a Manager (tracked through its sockets) for multiplexing tests. */
export function createManager(server, { mode, ...opts } = {}) {
  const { forceNew, ...mopts } = clientOptions(mode, opts);
  const manager = new Manager(server.url, mopts);
  const orig = manager.socket.bind(manager);
  manager.socket = (nsp, o) => {
    const s = orig(nsp, o);
    trackHello(s);
    openClients.add(s);
    return s;
  };
  return manager;
}

/** Remembers the first "hello" so that ready() never misses it. */
function trackHello(socket) {
  socket.on("hello", (h) => {
    socket.__hello = h;
  });
}

/**
 * Waits until `socket` is connected and has received "hello"; in upgrade mode
 * also waits for the websocket upgrade. Resolves with the hello payload.
 */
export async function ready(socket, mode, ms = T) {
  const engine = socket.io.engine;
  const upgraded =
    mode && mode.upgrade && engine && engine.transport.name !== "websocket"
      ? onceAny(engine, ["upgrade", "upgradeError"], ms).then(({ event, args }) => {
          if (event === "upgradeError") throw new Error(`websocket upgrade failed: ${args[0] && args[0].message}`);
        })
      : Promise.resolve();
  const hello = socket.__hello
    ? Promise.resolve([socket.__hello])
    : once(socket, "hello", ms);
  const connected = socket.connected
    ? Promise.resolve()
    : onceAny(socket, ["connect", "connect_error"], ms).then(({ event, args }) => {
        if (event === "connect_error") throw new Error(`connect_error: ${args[0] && args[0].message}`);
      });
  const [[h]] = await Promise.all([hello, connected, upgraded]);
  if (mode && mode.expectTransport && socket.io.engine.transport.name !== mode.expectTransport) {
    throw new Error(`expected transport ${mode.expectTransport}, got ${socket.io.engine.transport.name}`);
  }
  return h;
}

/**
 * Connects a client to `nsp` and resolves with { socket, hello } once
 * connected (and upgraded, in upgrade mode).
 */
export async function connect(server, nsp = "/", opts = {}) {
  const socket = createClient(server, nsp, opts);
  const hello = await ready(socket, opts.mode);
  return { socket, hello };
}

/** Connects and expects a connect_error; resolves with the Error. */
export async function connectError(server, nsp = "/", opts = {}) {
  const socket = createClient(server, nsp, opts);
  const { event, args } = await onceAny(socket, ["connect", "connect_error"]);
  if (event === "connect") throw new Error(`unexpected successful connection to ${nsp}`);
  return { socket, err: args[0] };
}

/** Emits and waits for the acknowledgement; resolves with ALL ack arguments. */
export function emitAck(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))),
    T,
    `ack of "${event}"`,
  );
}

/**
 * Records every `event` received by `socket`.
 * rec.events: array of args arrays; rec.next(ms): the next unseen one;
 * rec.waitFor(pred, ms): first (already received or future) matching args.
 */
export function recorder(socket, event) {
  const rec = {
    events: [],
    _waiters: [],
    _cursor: 0,
    waitFor(pred = () => true, ms = T) {
      const f = rec.events.find((a) => pred(...a));
      if (f) return Promise.resolve(f);
      return withTimeout(
        new Promise((resolve) => rec._waiters.push({ pred, resolve })),
        ms,
        `"${event}" event`,
      );
    },
    async next(ms = T) {
      const idx = rec._cursor++;
      if (idx < rec.events.length) return rec.events[idx];
      return withTimeout(
        new Promise((resolve) =>
          rec._waiters.push({ pred: () => rec.events.length > idx, resolve: () => resolve(rec.events[idx]) }),
        ),
        ms,
        `"${event}" event #${idx + 1}`,
      );
    },
  };
  socket.on(event, (...args) => {
    rec.events.push(args);
    rec._waiters = rec._waiters.filter((w) => {
      if (w.pred(...args)) {
        w.resolve(args);
        return false;
      }
      return true;
    });
  });
  return rec;
}

/**
 * Ordering barrier: `sender` emits "emit-all" with a unique token and we wait
 * until every socket in `receivers` got the matching "all-event". Since the
 * server processes one socket's events in order and each connection is
 * ordered, anything the server sent to a receiver because of an earlier event
 * of `sender` has arrived once the barrier resolves.
 */
export async function barrier(sender, receivers) {
  const token = uid("barrier-");
  const waits = receivers.map(
    (r) =>
      withTimeout(
        new Promise((resolve) => {
          const h = (t) => {
            if (t === token) {
              r.off("all-event", h);
              resolve();
            }
          };
          r.on("all-event", h);
        }),
        T,
        "barrier all-event",
      ),
  );
  sender.emit("emit-all", token);
  await Promise.all(waits);
}

/** Deeply converts ArrayBuffer / typed-array views to Buffer (for comparisons). */
export function normalizeBinary(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normalizeBinary);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalizeBinary(x);
    return o;
  }
  return v;
}

