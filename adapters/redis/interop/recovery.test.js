// Connection state recovery across the servers of a mixed cluster on the
// Redis Streams adapter: Go servers (NewStreamsAdapter) and official Node
// servers (@socket.io/redis-streams-adapter 0.3.1), RECOVERY=1. An official
// client goes through a TCP proxy that the test points at another server
// before it cuts the connection, while the servers broadcast.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import { once } from "node:events";
import { createClient } from "redis";
import { decode } from "@msgpack/msgpack";
import { startApp, ioClient, emitAck, connected, rand, REDIS_URL, T } from "./lib.js";

/** Waits until Redis holds the session of the connected socket id (kept by
 * the Go servers under <prefix>:session:live:<pid>) and check(session). */
async function waitLiveSession(prefix, id, check = () => true) {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    const deadline = Date.now() + T;
    for (;;) {
      for (const key of await redis.keys(`${prefix}:session:live:*`)) {
        const raw = await redis.get(key);
        const s = raw && decode(Buffer.from(raw, "base64"));
        if (s && s.sid === id && check(s)) return s;
      }
      if (Date.now() > deadline) throw new Error(`no live session of ${id} in Redis`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await redis.quit();
  }
}

/** A TCP proxy whose target can change; cut() destroys its connections. */
class Proxy {
  constructor(port) {
    this.target = port;
    this.conns = new Set();
    this.server = createServer((c) => {
      const s = connect(this.target, "127.0.0.1");
      this.conns.add(c);
      this.conns.add(s);
      const drop = () => {
        c.destroy();
        s.destroy();
        this.conns.delete(c);
        this.conns.delete(s);
      };
      c.on("error", drop).on("close", drop);
      s.on("error", drop).on("close", drop);
      c.pipe(s);
      s.pipe(c);
    });
  }
  async listen() {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }
  cut() {
    for (const c of this.conns) c.resetAndDestroy ? c.resetAndDestroy() : c.destroy();
    this.conns.clear();
  }
  close() {
    this.cut();
    this.server.close();
  }
}

/** An official client that records the "seq" events (and their offsets). */
function seqClient(url, transport) {
  const socket = ioClient(url, {
    transports: [transport],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    auth: { rooms: ["r"] },
  });
  const rec = { socket, got: [], offsets: [], on: [], bad: [], connects: [], server: "" };
  socket.on("seq", (n, offset) => {
    if (typeof n !== "number" || typeof offset !== "string" || !/^\d+-\d+$/.test(offset)) rec.bad.push([n, offset]);
    rec.got.push(n);
    rec.offsets.push(offset);
    rec.on.push(rec.server);
  });
  socket.on("connect", () => rec.connects.push(socket.recovered));
  return rec;
}

function compareIDs(a, b) {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am < bm ? -1 : am > bm ? 1 : as < bs ? -1 : as > bs ? 1 : 0;
}

async function until(probe, what, ms = T) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v === true) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}: ${v}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every number of 0..n-1 once; on the Go servers, in stream order
 * (increasing offsets). An official server delivers its own broadcasts
 * before it reads the stream, so its clients may get them out of order. */
function assertExactlyOnce(rec, n) {
  assert.deepEqual(rec.bad, [], "malformed seq events");
  const seen = new Set();
  for (let i = 0; i < rec.got.length; i++) {
    assert.ok(!seen.has(rec.got[i]), `seq ${rec.got[i]} received twice`);
    seen.add(rec.got[i]);
    if (i > 0 && rec.on[i].startsWith("go") && rec.on[i - 1] === rec.on[i]) {
      assert.ok(compareIDs(rec.offsets[i - 1], rec.offsets[i]) < 0, `on ${rec.on[i]}: offset ${rec.offsets[i]} after ${rec.offsets[i - 1]}`);
    }
  }
  const missing = [];
  for (let i = 0; i < n; i++) if (!seen.has(i)) missing.push(i);
  assert.deepEqual(missing, [], `missing seq numbers (got ${rec.got.length} of ${n})`);
}

describe("streams recovery: node + go + go", () => {
  const prefix = `recovery-${rand()}`;
  let apps;
  let ctls;
  before(async () => {
    apps = await Promise.all(["node", "go", "go"].map((k) => startApp(k, { MODE: "streams", PREFIX: prefix, RECOVERY: "1", REQUESTS_TIMEOUT: 2000 })));
    ctls = apps.map((a) => ioClient(a.url, { transports: ["websocket"] }));
    await Promise.all(ctls.map((c) => connected(c)));
  }, { timeout: 60000 });
  after(async () => {
    for (const c of ctls || []) c.close();
    await Promise.all((apps || []).map((a) => a.stop()));
  });

  // A long-polling client between two requests is a half-open connection:
  // its server notices the cut only at its ping timeout. The Go servers
  // hand such a session over at once; an official server keeps it until
  // then, and its client cannot recover elsewhere meanwhile (as between
  // official servers). So polling clients move between Go servers here.
  const moves = {
    websocket: { start: 0, to: [1, 2, 0, 1] },
    polling: { start: 1, to: [2, 1, 2] },
  };
  for (const transport of ["websocket", "polling"]) {
    const { start, to: targets } = moves[transport];
    const path = [start, ...targets].map((i) => ["node", "go", "go"][i]).join(" -> ");
    test(`${transport}: the client moves ${path} and misses nothing`, async () => {
      const proxy = new Proxy(apps[start].port);
      await proxy.listen();
      const rec = seqClient(proxy.url, transport);
      rec.server = apps[start].label;
      try {
        await connected(rec.socket);
        const id = rec.socket.id;
        let n = 0;
        // broadcasts from every server in turn: to all, to the room, to the socket
        const send = async (k) => {
          for (let j = 0; j < k; j++, n++) {
            const spec = [{}, { to: ["r"] }, { to: [id] }][n % 3];
            await emitAck(ctls[n % ctls.length], "broadcast", { ...spec, event: "seq" }, n);
          }
        };
        // An official server delivers its own broadcasts before it reads
        // the stream, so the last event its client got may not be the
        // newest, and its offset would replay one twice. Before a cut, one
        // more event once all arrived: it is the newest.
        let at = start;
        const settle = async (what) => {
          await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, what);
          if (apps[at].kind !== "node") return;
          await emitAck(ctls[at], "broadcast", { to: [id], event: "seq" }, n++);
          await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, what);
        };
        await send(9);
        await settle("the first events");
        for (const [step, to] of targets.entries()) {
          proxy.target = apps[to].port;
          proxy.cut();
          rec.server = apps[to].label;
          await send(6); // while the client is away
          await until(() => rec.connects.length === step + 2 || `${rec.connects.length} connects`, `reconnection ${step + 1}`);
          assert.equal(rec.connects[step + 1], true, `recovered on ${apps[to].label}`);
          assert.equal(rec.socket.id, id, "the same socket id");
          at = to;
          await send(6);
          await settle(`the events after move ${step + 1}`);
        }
        assertExactlyOnce(rec, n);
      } finally {
        rec.socket.close();
        proxy.close();
      }
    });
  }
});

describe("streams recovery: the client's Go server dies", () => {
  const prefix = `recovery-death-${rand()}`;
  let apps;
  let ctls;
  before(async () => {
    apps = await Promise.all(["go", "go", "node"].map((k) => startApp(k, { MODE: "streams", PREFIX: prefix, RECOVERY: "1", REQUESTS_TIMEOUT: 2000 })));
    ctls = apps.map((a) => ioClient(a.url, { transports: ["websocket"] }));
    await Promise.all(ctls.map((c) => connected(c)));
  }, { timeout: 60000 });
  after(async () => {
    for (const c of ctls || []) c.close();
    await Promise.all((apps || []).map((a) => a.stop()));
  });

  test("SIGKILL: the client recovers on another Go server with its id, rooms and data, and misses nothing", async () => {
    const proxy = new Proxy(apps[0].port);
    await proxy.listen();
    const rec = seqClient(proxy.url, "websocket");
    try {
      await connected(rec.socket);
      const id = rec.socket.id;
      assert.equal(await emitAck(rec.socket, "set-data", { user: "ann" }), true);
      let n = 0;
      const send = async (k, from) => {
        for (let j = 0; j < k; j++, n++) await emitAck(ctls[from], "broadcast", { to: ["r"], event: "seq" }, n);
      };
      await send(5, 1);
      await send(5, 2);
      await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, "the first events");
      // the session of the connected socket, with its data, reaches Redis
      await waitLiveSession(prefix, id, (s) => s.data && s.data.user === "ann");
      apps[0].child.kill("SIGKILL");
      await apps[0].exited;
      await send(5, 1);
      await send(5, 2);
      proxy.target = apps[1].port;
      proxy.cut();
      await until(() => rec.connects.length === 2 || `${rec.connects.length} connects`, "the reconnection");
      assert.equal(rec.connects[1], true, "recovered after the death of its server");
      assert.equal(rec.socket.id, id);
      const fetched = await emitAck(ctls[2], "fetch", { to: [id] });
      assert.equal(fetched.sockets.length, 1, "the recovered socket is seen by the Node server");
      assert.deepEqual(fetched.sockets[0].rooms, [id, "r"].sort());
      assert.deepEqual(fetched.sockets[0].data, { user: "ann" });
      await send(5, 2);
      await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, "every event");
      assertExactlyOnce(rec, n);
    } finally {
      rec.socket.close();
      proxy.close();
    }
  });

  test("a client of a dead Go server that comes back on a Node server gets a fresh session, as the official adapter does", async () => {
    // (the official adapter reads only the sessions kept at a disconnection)
    const live = apps.filter((a) => !a.exitInfo && a.kind === "go");
    assert.ok(live.length >= 1);
    const proxy = new Proxy(live[0].port);
    await proxy.listen();
    const rec = seqClient(proxy.url, "websocket");
    try {
      await connected(rec.socket);
      await emitAck(ctls[2], "broadcast", { to: ["r"], event: "seq" }, 0);
      await until(() => rec.got.length === 1 || `${rec.got.length}`, "one event");
      await waitLiveSession(prefix, rec.socket.id);
      live[0].child.kill("SIGKILL");
      await live[0].exited;
      proxy.target = apps[2].port;
      proxy.cut();
      await until(() => rec.connects.length === 2 || `${rec.connects.length} connects`, "the reconnection");
      assert.equal(rec.connects[1], false);
      assert.ok(rec.socket.connected);
    } finally {
      rec.socket.close();
      proxy.close();
    }
  });
});
