// Connection state recovery across Go servers on the NATS JetStream
// adapter, driven by the official socket.io-client. The Go servers are the
// test binary of adapters/nats in node mode (GO_NODE_BIN, SIONATS_NODE=
// jetstream), on the nats-server at NATS_URL; TestOfficialClient runs this
// file. The client goes through a TCP proxy that the test points at the
// other server before it breaks the connection, while the servers
// broadcast.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { io } from "socket.io-client";

const T = 20000;
const BIN = process.env.GO_NODE_BIN;
const NATS_URL = process.env.NATS_URL;
if (!BIN || !NATS_URL) throw new Error("GO_NODE_BIN and NATS_URL must be set (run by TestOfficialClient)");

/** Starts a Go server process; resolves once it listens. */
async function startGo(prefix) {
  const child = spawn(BIN, ["-test.run=^$"], {
    env: { ...process.env, SIONATS_NODE: "jetstream", NATS_URL, PREFIX: prefix, STREAM: prefix.replaceAll(".", "_"), PING_MS: "400" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout });
  const addr = await new Promise((resolve, reject) => {
    lines.on("line", (l) => l.startsWith("listening ") && resolve(l.slice("listening ".length)));
    child.on("exit", (code) => reject(new Error(`Go server exited (${code})`)));
  });
  return {
    child,
    exited,
    port: Number(addr.split(":").pop()),
    send: (line) => child.stdin.write(line + "\n"),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        await exited;
      }
    },
  };
}

/** A TCP proxy whose target can change. */
class Proxy {
  constructor(port) {
    this.target = port;
    this.pairs = new Set();
    this.server = createServer((c) => {
      const s = connect(this.target, "127.0.0.1");
      const pair = { c, s };
      this.pairs.add(pair);
      const drop = () => {
        c.destroy();
        s.destroy();
        this.pairs.delete(pair);
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
  /** TCP reset of every connection. */
  reset() {
    for (const { c, s } of this.pairs) {
      c.resetAndDestroy();
      s.resetAndDestroy();
    }
    this.pairs.clear();
  }
  /** Clean close (FIN) of every connection. */
  close() {
    for (const { c, s } of this.pairs) {
      c.end();
      s.end();
    }
    this.pairs.clear();
  }
  /** Half-open: the connections stay open but carry nothing more; the
   * server still holds its side when the client comes back elsewhere. */
  halfOpen() {
    for (const { c, s } of this.pairs) {
      c.unpipe(s);
      s.unpipe(c);
      c.pause();
      s.pause();
      this.frozen = (this.frozen || []).concat([c, s]);
    }
    this.pairs.clear();
  }
  shutdown() {
    this.reset();
    for (const x of this.frozen || []) x.destroy();
    this.server.close();
  }
}

/** An official client that records the "seq" events and their offsets. */
function seqClient(url, transport) {
  const socket = io(url, {
    transports: [transport],
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    forceNew: true,
  });
  const rec = { socket, got: [], offsets: [], bad: [], connects: [] };
  socket.on("seq", (n, offset) => {
    if (typeof n !== "number" || typeof offset !== "string" || !/^\d+$/.test(offset)) rec.bad.push([n, offset]);
    rec.got.push(n);
    rec.offsets.push(offset);
  });
  socket.on("connect", () => rec.connects.push(socket.recovered));
  return rec;
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

/** Every number of 0..n-1 once, in stream order (increasing offsets). */
function assertExactlyOnce(rec, n) {
  assert.deepEqual(rec.bad, [], "malformed seq events");
  const seen = new Set();
  for (let i = 0; i < rec.got.length; i++) {
    assert.ok(!seen.has(rec.got[i]), `seq ${rec.got[i]} received twice`);
    seen.add(rec.got[i]);
    if (i > 0) assert.ok(BigInt(rec.offsets[i - 1]) < BigInt(rec.offsets[i]), `offset ${rec.offsets[i]} after ${rec.offsets[i - 1]}`);
  }
  const missing = [];
  for (let i = 0; i < n; i++) if (!seen.has(i)) missing.push(i);
  assert.deepEqual(missing, [], `missing seq numbers (got ${rec.got.length} of ${n})`);
}

const rand = () => randomBytes(4).toString("hex");

/** Asks the server what it knows of the socket, once it is connected: a
 * polling client may reuse an idle keep-alive connection that the proxy
 * froze (half-open), notice it at its ping timeout and reconnect once
 * more, which fails a pending request. */
async function whoami(socket) {
  for (let i = 0; ; i++) {
    await until(() => socket.connected || "disconnected", "a connection");
    try {
      return await socket.timeout(5000).emitWithAck("whoami");
    } catch (err) {
      if (i >= 5) throw err;
    }
  }
}

/** Every connection after the first recovered the session. */
function assertAllRecovered(rec) {
  assert.ok(rec.connects.length >= 1);
  assert.equal(rec.connects[0], false, "a fresh session at first");
  rec.connects.slice(1).forEach((r, i) => assert.equal(r, true, `reconnection ${i + 1} recovered`));
}

describe("recovery across Go servers on NATS JetStream", () => {
  const prefix = `interop${rand()}.sio`;
  let apps;
  before(async () => {
    apps = await Promise.all([startGo(prefix), startGo(prefix)]);
  }, { timeout: 60000 });
  after(async () => {
    await Promise.all((apps || []).map((a) => a.stop()));
  });

  for (const transport of ["websocket", "polling"]) {
    for (const fault of ["reset", "close", "halfOpen"]) {
      test(`${transport}, ${fault}: the client moves between the servers and misses nothing`, async () => {
        const proxy = new Proxy(apps[0].port);
        await proxy.listen();
        const rec = seqClient(proxy.url, transport);
        try {
          await until(() => rec.connects.length === 1 || "not connected", "the connection");
          const id = rec.socket.id;
          // in room r: the connection handler ran
          assert.deepEqual((await whoami(rec.socket)).rooms, [id, "r"].sort());
          let n = 0;
          // broadcasts from both servers in turn: to all, to the room, to the socket
          const send = (k) => {
            for (let j = 0; j < k; j++, n++) {
              const app = apps[n % 2];
              app.send([`emit ${n}`, `room ${n}`, `to ${id} ${n}`][n % 3]);
            }
          };
          send(9);
          await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, "the first events");
          let at = 0;
          for (let step = 1; step <= 3; step++) {
            at = 1 - at;
            proxy.target = apps[at].port;
            proxy[fault]();
            send(6); // while the client is away
            const before = rec.connects.length;
            await until(() => rec.connects.length > before || `${rec.connects.length} connects`, `reconnection ${step}`);
            const me = await whoami(rec.socket);
            assertAllRecovered(rec);
            assert.equal(rec.socket.id, id, "the same socket id");
            assert.deepEqual(me.rooms, [id, "r"].sort());
            assert.deepEqual(me.data, { user: "ann" });
            send(6);
            await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, `the events after move ${step}`);
          }
          assertExactlyOnce(rec, n);
        } finally {
          rec.socket.close();
          proxy.shutdown();
        }
      });
    }
  }
});

describe("recovery after the client's Go server is killed", () => {
  for (const transport of ["websocket", "polling"]) {
    test(`${transport}, SIGKILL: the client recovers on the other server with its id, rooms and data`, async () => {
      const prefix = `interopkill${rand()}.sio`;
      const [victim, other] = await Promise.all([startGo(prefix), startGo(prefix)]);
      const proxy = new Proxy(victim.port);
      await proxy.listen();
      const rec = seqClient(proxy.url, transport);
      try {
        await until(() => rec.connects.length === 1 || "not connected", "the connection");
        const id = rec.socket.id;
        assert.deepEqual((await whoami(rec.socket)).rooms, [id, "r"].sort());
        let n = 0;
        const send = (k) => {
          for (let j = 0; j < k; j++, n++) other.send(`room ${n}`);
        };
        send(5);
        await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, "the first events");
        // the live session, with its data, is in the bucket (within the
        // flush interval, 200ms)
        assert.equal(await rec.socket.timeout(6000).emitWithAck("stored"), true, "live session stored");
        victim.child.kill("SIGKILL");
        await victim.exited;
        send(5);
        proxy.target = other.port;
        proxy.reset();
        await until(() => rec.connects.length === 2 || `${rec.connects.length} connects`, "the reconnection");
        assert.equal(rec.connects[1], true, "recovered after the death of its server");
        assert.equal(rec.socket.id, id);
        const me = await whoami(rec.socket);
        assert.deepEqual(me.rooms, [id, "r"].sort());
        assert.deepEqual(me.data, { user: "ann" });
        send(5);
        await until(() => rec.got.length === n || `${rec.got.length} of ${n}`, "every event");
        assertExactlyOnce(rec, n);
      } finally {
        rec.socket.close();
        proxy.shutdown();
        await other.stop();
      }
    });
  }
});
