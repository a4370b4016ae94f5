// The emitters against a mixed classic cluster: the official
// @socket.io/redis-emitter 5.1.0 and this module's Emitter (goemitter/)
// each drive a Go server and a Node server on one Redis: broadcasts (rooms,
// exceptions, binary, another namespace), socketsJoin / socketsLeave,
// disconnectSockets and server-side events.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "redis";
import { Emitter } from "@socket.io/redis-emitter";
import { startApp, ioClient, connected, emitAck, rand, normalizeBinary, REDIS_URL, MODULE_DIR, T } from "./lib.js";

/** goemitter: $GO_EMITTER_BIN, or built once. */
async function goEmitterBinary() {
  if (process.env.GO_EMITTER_BIN) return process.env.GO_EMITTER_BIN;
  const dir = mkdtempSync(path.join(tmpdir(), "redis-interop-goemitter-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, "goemitter");
  await new Promise((resolve, reject) =>
    execFile("go", ["build", "-o", bin, "./interop/goemitter"], { cwd: MODULE_DIR }, (err, stdout, stderr) =>
      err ? reject(new Error(`go build ./interop/goemitter: ${err.message}\n${stdout}${stderr}`)) : resolve(),
    ),
  );
  return bin;
}

/** The Go emitter process: one JSON command a line, "ok" a line back. */
class GoEmitter {
  constructor(bin, prefix) {
    this.child = spawn(bin, [], { env: { ...process.env, REDIS_URL, PREFIX: prefix }, stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.child.stdout });
    this.waiting = [];
    this.lines.on("line", (l) => this.waiting.shift()?.(l));
  }
  async run(cmd) {
    const reply = new Promise((resolve) => this.waiting.push(resolve));
    this.child.stdin.write(JSON.stringify(cmd) + "\n");
    const line = await reply;
    assert.equal(line, "ok", `goemitter ${JSON.stringify(cmd)}`);
  }
  close() {
    this.child.stdin.end();
  }
}

function hexBin(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (Array.isArray(v)) return v.map(hexBin);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hexBin(x)]));
  return v;
}

/** The same operations through either emitter. */
function driver(kind, ctx) {
  if (kind === "node") {
    const root = new Emitter(ctx.redis, { key: ctx.prefix });
    const op = (c) => {
      let e = c.nsp ? root.of(c.nsp) : root;
      if (c.to) e = e.to(c.to);
      if (c.except) e = e.except(c.except);
      return e;
    };
    return {
      emit: async (c, event, ...args) => void op(c).emit(event, ...args),
      join: async (c, rooms) => void op(c).socketsJoin(rooms),
      leave: async (c, rooms) => void op(c).socketsLeave(rooms),
      disconnect: async (c, close) => void op(c).disconnectSockets(close),
      sse: async (event, ...args) => void root.serverSideEmit(event, ...args),
      close() {},
    };
  }
  const g = new GoEmitter(ctx.goEmitter, ctx.prefix);
  return {
    emit: (c, event, ...args) => g.run({ op: "emit", ...c, event, args: hexBin(args) }),
    join: (c, rooms) => g.run({ op: "join", ...c, rooms }),
    leave: (c, rooms) => g.run({ op: "leave", ...c, rooms }),
    disconnect: (c, close) => g.run({ op: "disconnect", ...c, close }),
    sse: (event, ...args) => g.run({ op: "sse", event, args: hexBin(args) }),
    close: () => g.close(),
  };
}

async function until(probe, what, ms = T) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v === true) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}: ${v}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const emitterKind of ["node", "go"]) {
  describe(`${emitterKind} emitter -> classic cluster of go + node`, () => {
    const ctx = { prefix: `emitter-${emitterKind}-${rand()}` };
    let apps;
    let clients;
    let em;
    before(async () => {
      ctx.redis = createClient({ url: REDIS_URL });
      await ctx.redis.connect();
      if (emitterKind === "go") ctx.goEmitter = await goEmitterBinary();
      apps = await Promise.all(["go", "node"].map((k) => startApp(k, { MODE: "classic", PREFIX: ctx.prefix, REQUESTS_TIMEOUT: 2000 })));
      clients = [];
      for (const [i, app] of apps.entries()) {
        for (const [color, transport] of [["red", "polling"], ["blue", "websocket"]]) {
          const socket = ioClient(app.url, { transports: [transport], auth: { rooms: [color] }, reconnection: false });
          const c = { name: `${app.kind}-${color}`, color, node: i, socket, events: [], reasons: [] };
          socket.onAny((event, ...args) => c.events.push([event, normalizeBinary(args)]));
          socket.on("disconnect", (r) => c.reasons.push(r));
          clients.push(c);
        }
        const aux = ioClient(app.url + "/aux", { transports: ["websocket"], reconnection: false });
        const c = { name: `${app.kind}-aux`, aux: true, node: i, socket: aux, events: [], reasons: [] };
        aux.onAny((event, ...args) => c.events.push([event, normalizeBinary(args)]));
        clients.push(c);
      }
      await Promise.all(clients.map((c) => connected(c.socket)));
      em = driver(emitterKind, ctx);
    }, { timeout: 60000 });
    after(async () => {
      em?.close();
      for (const c of clients || []) c.socket.close();
      await Promise.all((apps || []).map((a) => a.stop()));
      await ctx.redis?.quit();
    });

    /** Emits event to sel and checks that exactly the clients want got it once, with args. */
    async function check(sel, want, args) {
      const event = `ev-${rand()}`;
      await em.emit(sel, event, ...args);
      const expected = clients.filter(want);
      await until(() => expected.every((c) => c.events.some(([e]) => e === event)) || `missing on ${expected.filter((c) => !c.events.some(([e]) => e === event)).map((c) => c.name)}`, event);
      // a barrier: one more event to everyone, then nobody else has the first
      const bar = `bar-${rand()}`;
      await em.emit({}, bar);
      await em.emit({ nsp: "/aux" }, bar);
      await until(() => clients.filter((c) => c.socket.connected).every((c) => c.events.some(([e]) => e === bar)) || "barrier", "the barrier");
      for (const c of clients) {
        const got = c.events.filter(([e]) => e === event);
        if (want(c)) {
          assert.equal(got.length, 1, `${c.name} got ${event} ${got.length} times`);
          assert.deepEqual(got[0][1], normalizeBinary(args), `${c.name}: payload`);
        } else {
          assert.equal(got.length, 0, `${c.name} got ${event}, not meant for it`);
        }
      }
    }

    test("broadcasts: to all, a room, except a room, binary, another namespace", async () => {
      const main = (c) => !c.aux;
      await check({}, main, [1, "two", { three: [3] }]);
      await check({ to: ["red"] }, (c) => main(c) && c.color === "red", ["red"]);
      await check({ except: ["red"] }, (c) => main(c) && c.color === "blue", []);
      await check({ to: ["red", "blue"], except: ["blue"] }, (c) => main(c) && c.color === "red", [null]);
      await check({}, main, [Buffer.from([0, 1, 255]), { nested: Buffer.from("x") }]);
      await check({ nsp: "/aux" }, (c) => c.aux, ["aux"]);
    });

    test("socketsJoin and socketsLeave act on the sockets of both servers", async () => {
      const ctl = clients.find((c) => c.name === "node-blue").socket;
      const members = async (room) => (await emitAck(ctl, "fetch", { to: [room] })).sockets.length;
      await em.join({ to: ["red"] }, ["green"]);
      await until(async () => (await members("green")) === 2 || `${await members("green")} in green`, "the join");
      await check({ to: ["green"] }, (c) => !c.aux && c.color === "red", ["green"]);
      await em.leave({ to: ["green"] }, ["green"]);
      await until(async () => (await members("green")) === 0 || `${await members("green")} in green`, "the leave");
    });

    test("serverSideEmit reaches both servers", async () => {
      const token = rand();
      await em.sse("note", token, { n: 1 });
      for (const app of apps) {
        await app.waitLog((l) => l.event === "server-side" && l.name === "note" && l.args[0] === token, T, `the server-side event on ${app.label}`);
      }
    });

    test("disconnectSockets disconnects the selected sockets of both servers", async () => {
      await em.disconnect({ to: ["blue"] }, false);
      const blue = clients.filter((c) => c.color === "blue");
      await until(() => blue.every((c) => c.reasons.length > 0) || "blue still connected", "the disconnection");
      for (const c of blue) assert.deepEqual(c.reasons, ["io server disconnect"], c.name);
      for (const c of clients.filter((c) => c.color === "red")) assert.ok(c.socket.connected, `${c.name} spared`);
    });
  });
}
