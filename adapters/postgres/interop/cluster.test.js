// Mixed Go + Node clusters on PostgreSQL: the Go adapter (goapp) and the
// official @socket.io/postgres-adapter 0.5.0 (node-app.js) on one database,
// driven by official clients. See README.md.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { Emitter } from "@socket.io/postgres-emitter";
import { startApp, ioClient, connected, emitAck, withTimeout, rand, T, PG_URL, normalizeBinary, sortValues } from "./lib.js";

const HB = { HEARTBEAT_INTERVAL: "300", HEARTBEAT_TIMEOUT: "1500" };

/** A client whose events are recorded: [{event, args}]. */
function recorded(url, auth) {
  const socket = ioClient(url, { transports: ["websocket"], auth, reconnection: false, forceNew: true });
  socket.events = [];
  socket.waiters = new Set();
  socket.onAny((event, ...args) => {
    socket.events.push({ event, args: normalizeBinary(args) });
    for (const w of socket.waiters) w();
  });
  return socket;
}

/** Resolves with the first recorded event named name (and args matching). */
function waitEvent(socket, name, ms = T) {
  return withTimeout(
    new Promise((resolve) => {
      const check = () => {
        const e = socket.events.find((x) => x.event === name);
        if (e) {
          socket.waiters.delete(check);
          resolve(e);
        }
      };
      socket.waiters.add(check);
      check();
    }),
    ms,
    `event "${name}" on ${socket.label}`,
  );
}

const count = (socket, name) => socket.events.filter((e) => e.event === name).length;

async function poll(what, fn, ms = T) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timeout after ${ms}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A cluster of apps of kinds, with a client and a controller on each. */
async function startCluster(kinds, env = {}) {
  const prefix = "pgi_" + rand(10).toLowerCase().replace(/[^a-z0-9]/g, "x");
  const pool = new pg.Pool({ connectionString: PG_URL });
  await pool.query(`CREATE TABLE ${prefix} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`);
  const c = { prefix, pool, apps: [], clients: [], ctls: [] };
  for (const kind of kinds) c.apps.push(await startApp(kind, { PREFIX: prefix, ...HB, ...env }));
  for (const [i, app] of c.apps.entries()) {
    const client = recorded(app.url, { rooms: ["common", `only${i}`], data: { i } });
    client.label = `client ${i} (${app.label})`;
    const ctl = recorded(app.url, {});
    ctl.label = `ctl ${i}`;
    await Promise.all([connected(client), connected(ctl)]);
    c.clients.push(client);
    c.ctls.push(ctl);
  }
  c.clients.forEach((s, i) => s.on("q", (cb) => cb(i)));
  await waitCounts(c, c.apps.length);
  return c;
}

async function stopCluster(c) {
  for (const s of [...c.clients, ...c.ctls]) s.close();
  await Promise.all(c.apps.map((a) => a.stop()));
  await c.pool.query(`DROP TABLE IF EXISTS ${c.prefix}`);
  await c.pool.end();
}

async function waitCounts(c, n, alive = c.ctls) {
  for (const ctl of alive) {
    await poll(`${ctl.label} counts ${n} servers`, async () => (await emitAck(ctl, "server-count")) === n);
  }
}

/** Broadcasts a fence from ctl i and waits until every client got it. */
async function fence(c, i) {
  const name = `fence-${rand()}`;
  await emitAck(c.ctls[i], "broadcast", { event: name });
  await Promise.all(c.clients.filter((s) => s.connected).map((s) => waitEvent(s, name)));
}

for (const kinds of [
  ["go", "node"],
  ["node", "go", "go"],
]) {
  describe(`cluster ${kinds.join("+")}`, () => {
    let c;
    before(async () => {
      c = await startCluster(kinds);
    });
    after(async () => {
      if (c) await stopCluster(c);
    });

    test("every server counts all the servers (heartbeats)", async () => {
      for (const ctl of c.ctls) assert.equal(await emitAck(ctl, "server-count"), kinds.length);
    });

    test("broadcasts: all, room, except, socket id, binary, over the NOTIFY threshold", async () => {
      const big = "z".repeat(12000);
      for (let i = 0; i < kinds.length; i++) {
        const ctl = c.ctls[i];
        const j = (i + 1) % kinds.length;
        const tag = `${i}-${rand(4)}`;
        await emitAck(ctl, "broadcast", { event: `all-${tag}` }, i, Buffer.from([1, 2, i]));
        await emitAck(ctl, "broadcast", { event: `room-${tag}`, to: [`only${j}`] });
        await emitAck(ctl, "broadcast", { event: `except-${tag}`, to: ["common"], except: [`only${j}`] });
        await emitAck(ctl, "broadcast", { event: `id-${tag}`, to: [c.clients[j].id] });
        await emitAck(ctl, "broadcast", { event: `big-${tag}` }, big, Buffer.alloc(9000, 7));
        for (const [k, s] of c.clients.entries()) {
          const all = await waitEvent(s, `all-${tag}`);
          assert.deepEqual(all.args, [i, Buffer.from([1, 2, i])]);
          const large = await waitEvent(s, `big-${tag}`);
          assert.equal(large.args[0], big);
          assert.ok(Buffer.alloc(9000, 7).equals(large.args[1]), `the binary over the threshold, on ${s.label}`);
          if (k === j) {
            await waitEvent(s, `room-${tag}`);
            await waitEvent(s, `id-${tag}`);
          } else {
            await waitEvent(s, `except-${tag}`);
          }
        }
        await fence(c, i);
        for (const [k, s] of c.clients.entries()) {
          for (const name of ["all", "big", k === j ? "room" : "except", ...(k === j ? ["id"] : [])]) {
            assert.equal(count(s, `${name}-${tag}`), 1, `${name}-${tag} on ${s.label}`);
          }
          if (k === j) assert.equal(count(s, `except-${tag}`), 0);
          else assert.equal(count(s, `room-${tag}`) + count(s, `id-${tag}`), 0, `${s.label} got a message for ${j}`);
        }
      }
    });

    test("fetchSockets from every server sees every socket, rooms and data", async () => {
      const want = c.clients.map((s, i) => ({ id: s.id, rooms: [s.id, "common", `only${i}`].sort(), data: { i } }));
      want.sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const ctl of c.ctls) {
        const res = await emitAck(ctl, "fetch", { to: ["common"] });
        assert.equal(res.err, null);
        assert.deepEqual(
          res.sockets.map((s) => ({ id: s.id, rooms: s.rooms, data: s.data })),
          want,
          `fetch from ${ctl.label}`,
        );
      }
    });

    test("serverSideEmit with acks: every other server answers (binary too)", async () => {
      const labels = c.apps.map((a) => a.label);
      for (let i = 0; i < kinds.length; i++) {
        const res = await emitAck(c.ctls[i], "sse-ack", "whoami");
        assert.equal(res.err, null);
        assert.deepEqual(res.responses, labels.filter((_, k) => k !== i).sort());
        const bin = Buffer.alloc(10000, i);
        const echo = await emitAck(c.ctls[i], "sse-ack", "echo", bin);
        assert.equal(echo.err, null);
        assert.equal(echo.responses.length, kinds.length - 1);
        for (const r of echo.responses) assert.ok(bin.equals(normalizeBinary(r)), "echoed binary");
      }
    });

    test("broadcast with acks: the clients of every server answer", async () => {
      for (let i = 0; i < kinds.length; i++) {
        const res = await emitAck(c.ctls[i], "broadcast-ack", { event: "q", to: ["common"], timeout: 4000 });
        assert.equal(res.err, null);
        assert.deepEqual(res.responses, sortValues(kinds.map((_, k) => k)));
      }
    });

    test("socketsJoin, socketsLeave, disconnectSockets across servers", async () => {
      for (let i = 0; i < kinds.length; i++) {
        const j = (i + 1) % kinds.length;
        const room = `x${i}-${rand(4)}`;
        await emitAck(c.ctls[i], "join", { to: [`only${j}`], rooms: [room] });
        await poll(`${room} joined`, async () => {
          const res = await emitAck(c.ctls[j], "fetch", { to: [room], local: true });
          return res.sockets.length === 1 && res.sockets[0].id === c.clients[j].id;
        });
        await emitAck(c.ctls[i], "leave", { to: [`only${j}`], rooms: [room] });
        await poll(`${room} left`, async () => {
          const res = await emitAck(c.ctls[j], "fetch", { to: [room], local: true });
          return res.sockets.length === 0;
        });
      }
      const victim = c.clients[kinds.length - 1];
      const gone = withTimeout(new Promise((r) => victim.once("disconnect", r)), T, "the remote disconnect");
      await emitAck(c.ctls[0], "disconnect-sockets", { to: [`only${kinds.length - 1}`] });
      assert.equal(await gone, "io server disconnect");
    });

    test("a node killed with SIGKILL: heartbeats drop it, requests are answered by the others", async () => {
      const victim = c.apps[c.apps.length - 1];
      victim.child.kill("SIGKILL");
      await victim.exited;
      const killed = Date.now();
      const alive = c.ctls.slice(0, -1);
      const res = await emitAck(alive[0], "sse-ack", "whoami");
      const waited = Date.now() - killed;
      assert.equal(res.err, null, `sse-ack after the kill, ${waited}ms`);
      assert.deepEqual(res.responses, c.apps.slice(1, -1).map((a) => a.label).sort());
      assert.ok(waited < 4000, `answered ${waited}ms after the kill (heartbeat timeout 1500ms)`);
      await waitCounts(c, kinds.length - 1, alive);
      console.log(`# ${kinds.join("+")}: sse-ack answered ${waited}ms after SIGKILL of ${victim.label}`);
    });
  });
}

describe("emitters", () => {
  let c;
  before(async () => {
    c = await startCluster(["go", "node"]);
  });
  after(async () => {
    if (c) await stopCluster(c);
  });

  test("the official emitter 0.1.1 reaches the Go server; the official adapter 0.5 drops it (no nsp)", async () => {
    const emitter = new Emitter(c.pool, "/", { channelPrefix: c.prefix, tableName: c.prefix });
    emitter.emit("from-emitter", 1, Buffer.from([9]));
    emitter.to("only0").emit("emitter-room", "x".repeat(9000));
    const e = await waitEvent(c.clients[0], "from-emitter");
    assert.deepEqual(e.args, [1, Buffer.from([9])]);
    assert.equal((await waitEvent(c.clients[0], "emitter-room")).args[0].length, 9000);
    await fence(c, 0); // NOTIFY order: the emitter's came first
    assert.equal(count(c.clients[1], "from-emitter"), 0, "the official adapter 0.5 delivered the emitter's message");
  });

  test("the Go Emitter reaches the Node and the Go server", async (t) => {
    if (!process.env.GO_EMITTER_BIN) {
      t.skip("GO_EMITTER_BIN not set (TestMixedCluster sets it)");
      return;
    }
    const { execFile } = await import("node:child_process");
    const run = (args) =>
      new Promise((resolve, reject) =>
        execFile(process.env.GO_EMITTER_BIN, args, { env: { ...process.env, PREFIX: c.prefix, PG_URL } }, (err, out, errOut) =>
          err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
        ),
      );
    await run(["emit", "go-emitter", "binary"]);
    for (const s of c.clients) {
      const e = await waitEvent(s, "go-emitter");
      assert.deepEqual(e.args, [1, Buffer.from([1, 2, 3])]);
    }
    await run(["emit-room", "only1", "go-emitter-big"]);
    const big = await waitEvent(c.clients[1], "go-emitter-big");
    assert.equal(big.args[0].length, 10000);
    await run(["sse", "note"]);
    await Promise.all(c.apps.map((a) => a.waitLog((l) => l.event === "server-side" && l.name === "note")));
    await run(["join", "only1", "joined-by-emitter"]);
    await poll("the emitter's socketsJoin", async () => {
      const res = await emitAck(c.ctls[0], "fetch", { to: ["joined-by-emitter"] });
      return res.sockets.length === 1 && res.sockets[0].id === c.clients[1].id;
    });
    const gone = withTimeout(new Promise((r) => c.clients[0].once("disconnect", r)), T, "the emitter's disconnect");
    await run(["disconnect", "only0"]);
    assert.equal(await gone, "io server disconnect");
  });
});
