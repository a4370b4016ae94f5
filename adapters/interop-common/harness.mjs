// The harness of the adapters' mixed-cluster tests (adapters/*/interop):
// starting the Go and Node apps of a contract, waits, and the value helpers
// the tests compare with. Each interop directory's lib.js configures it
// with its Go module, its Node app and the broker's address, and brings
// socket.io-client from its own lockfile.

import { spawn, execFile } from "node:child_process";
import { createServer } from "node:net";
import { once as eventsOnce } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const DEBUG = !!process.env.INTEROP_DEBUG;

/** Failure guard of every wait (ms). */
export const T = 10000;

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function withTimeout(promise, ms, label) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms}ms waiting for ${label}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

export function rand(n = 8) {
  let s = "";
  while (s.length < n) s += Math.random().toString(36).slice(2);
  return s.slice(0, n);
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

const live = new Set();
process.on("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // ignore
    }
  }
});

/**
 * The apps of one contract: moduleDir is the Go module whose ./interop/goapp
 * is the Go app, nodeApp the Node app's script, appEnv what both get in
 * their environment besides PORT (the broker's address), name a short
 * label for temporary files. Returns { goBinary, App, startApp }.
 */
export function clusterApps({ moduleDir, nodeApp, appEnv, name }) {
  let goBuild;

  /** The Go app: $GO_APP_BIN, or built once per process. */
  function goBinary() {
    if (process.env.GO_APP_BIN) return Promise.resolve(process.env.GO_APP_BIN);
    if (!goBuild) {
      goBuild = new Promise((resolve, reject) => {
        const dir = mkdtempSync(path.join(tmpdir(), `${name}-interop-go-`));
        process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
        const bin = path.join(dir, "goapp");
        execFile("go", ["build", "-o", bin, "./interop/goapp"], { cwd: moduleDir, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`go build ./interop/goapp failed: ${err.message}\n${stdout}${stderr}`));
          else resolve(bin);
        });
      });
    }
    return goBuild;
  }

  /** A running app of the contract: kind "go" or "node". */
  class App {
    constructor(kind, env) {
      this.kind = kind;
      this.env = env;
      this.lines = [];
      this.logs = [];
      this.stderr = "";
      this.waiters = new Set();
    }

    get label() {
      return `${this.kind}:${this.port}`;
    }

    async start() {
      const port = await freePort();
      const [cmd, args] =
        this.kind === "go" ? [await goBinary(), []] : [process.execPath, [nodeApp]];
      const env = { ...process.env, ...this.env, PORT: String(port), ...appEnv, EXIT_ON_STDIN_EOF: "1" };
      const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
      this.child = child;
      live.add(child);
      child.stdin.on("error", () => {});
      this.exited = new Promise((resolve) =>
        child.on("close", (code, signal) => {
          live.delete(child);
          this.exitInfo = { code, signal };
          for (const w of this.waiters) w();
          resolve(this.exitInfo);
        }),
      );
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (d) => {
        this.stderr += d;
        if (DEBUG) process.stderr.write(`[${this.kind} stderr] ${d}`);
      });
      let buf = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (DEBUG) process.stderr.write(`[${this.kind}:${port}] ${line}\n`);
          this.lines.push(line);
          if (line.startsWith("{")) {
            try {
              this.logs.push(JSON.parse(line));
            } catch {
              // kept in lines
            }
          }
          for (const w of this.waiters) w();
        }
      });
      await this.waitFor(() => this.lines.find((l) => /^listening \d+$/.test(l)), 20000, "the `listening <port>` line");
      this.port = Number(this.lines.find((l) => /^listening \d+$/.test(l)).split(" ")[1]);
      if (this.port !== port) throw new Error(`${this.kind} app listens on ${this.port}, not PORT=${port}`);
      this.url = `http://127.0.0.1:${this.port}`;
      return this;
    }

    /** Resolves with the first truthy value of probe(), checked on each output line. */
    waitFor(probe, ms, label) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const v = probe();
          if (v) return done(null, v);
          if (this.exitInfo) done(new Error(`${this.kind} app exited (${JSON.stringify(this.exitInfo)}) before ${label}\n${this.stderr}`));
        };
        const timer = setTimeout(
          () => done(new Error(`${this.kind} app: timeout after ${ms}ms waiting for ${label}\nlast lines:\n${this.lines.slice(-10).join("\n")}\n${this.stderr}`)),
          ms,
        );
        const done = (err, v) => {
          clearTimeout(timer);
          this.waiters.delete(check);
          if (err) reject(err);
          else resolve(v);
        };
        this.waiters.add(check);
        check();
      });
    }

    /** The JSON log lines matching pred. */
    find(pred) {
      return this.logs.filter(pred);
    }

    waitLog(pred, ms = T, label = "a log line") {
      return this.waitFor(() => this.logs.find(pred), ms, label);
    }

    async stop() {
      if (!this.child || this.exitInfo) return;
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  async function startApp(kind, env) {
    for (let attempt = 1; ; attempt++) {
      const app = new App(kind, env);
      try {
        return await app.start();
      } catch (err) {
        await app.stop();
        // a free port taken meanwhile: try another
        if (attempt >= 3 || !app.exitInfo) throw err;
      }
    }
  }

  return { goBinary, App, startApp };
}

/** Emits and resolves with the acknowledgement's first argument. */
export function emitAck(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (res) => resolve(res))),
    T,
    `the ack of "${event}"`,
  );
}

/** Waits until socket is connected; rejects on connect_error. */
export function connected(socket, ms = T) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
    }),
    ms,
    "connect",
  );
}

/** Deeply converts ArrayBuffer / typed-array views to Buffer. */
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

export function sortKey(v) {
  v = normalizeBinary(v);
  if (Buffer.isBuffer(v)) return "b:" + v.toString("hex");
  if (typeof v === "string") return "s:" + v;
  return "j:" + JSON.stringify(v);
}

export function sortValues(values) {
  return [...values].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Short text of a value for messages (binary as <N bytes>). */
export function show(v) {
  return JSON.stringify(v, (k, x) => {
    if (x && x.type === "Buffer" && Array.isArray(x.data)) return `<${x.data.length} bytes>`;
    if (typeof x === "string" && x.length > 80) return x.slice(0, 40) + `…(${x.length} chars)`;
    return x;
  });
}
