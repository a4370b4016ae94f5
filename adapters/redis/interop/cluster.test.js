// Mixed clusters: the Go app (goapp, this repository's server and Redis
// adapters) and the Node app (node-app.js, the official socket.io +
// @socket.io/redis-adapter) on one Redis, in sharded and classic mode,
// driven by official socket.io-client instances connected to every node.
//
//   node --test --test-concurrency=1 cluster.test.js
//
// Env: REDIS_URL (default redis://127.0.0.1:6379), GO_APP_BIN (else the Go
// app is built), INTEROP_DEBUG=1 (app output on stderr).

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import {
  REDIS_URL,
  T,
  delay,
  withTimeout,
  rand,
  startApp,
  emitAck,
  connected,
  ioClient,
  Manager,
  normalizeBinary,
  sortValues,
  show,
} from "./lib.js";

const TWENTY = "room-of-twenty-chars"; // as long as a socket id
assert.equal(TWENTY.length, 20);
const ODD = "ü#room ✓"; // '#' and non-ASCII in a channel name

// ------------------------------------------------------------------ the model

/** A client of the cluster and what the test knows of it. */
class Client {
  constructor(cluster, node, name, transport, rooms) {
    this.cluster = cluster;
    this.node = node; // index of its server
    this.name = name;
    this.transport = transport;
    this.rooms = new Set(rooms);
    this.data = {
      name,
      node: node,
      tags: ["a", "ü", ""],
      nested: { half: 1.5, big: 2 ** 40, neg: -3, nil: null, yes: true, list: [], obj: {} },
    };
    this.auth = { name, rooms: [...rooms], data: this.data };
    this.received = []; // [event, ...args]
    this.live = true;
  }

  open() {
    const app = this.cluster.apps[this.node];
    this.socket = ioClient(app.url, {
      forceNew: true,
      reconnection: false,
      transports: [this.transport],
      timeout: T,
      auth: this.auth,
    });
    this.socket.onAny((event, ...args) => {
      this.received.push([event, ...args.filter((a) => typeof a !== "function")]);
    });
    this.socket.on("ask", (token, cb) => cb(this.name));
    // answers in binary, when the question came with a binary argument
    this.socket.on("ask-bin", (token, bin, cb) => cb(Buffer.isBuffer(bin) ? Buffer.from(this.name) : "no binary"));
    // only the polling clients answer: the others let the broadcast time out
    this.socket.on("ask-some", (token, cb) => {
      if (this.transport === "polling") cb(this.name);
    });
    return connected(this.socket).then(() => {
      this.id = this.socket.id;
    });
  }

  /** Rooms, its own included. */
  allRooms() {
    return new Set([...this.rooms, this.id]);
  }

  /** The events named event whose first argument is token. */
  got(event, token) {
    return this.received.filter((r) => r[0] === event && r[1] === token);
  }

  close() {
    this.live = false;
    try {
      this.socket.disconnect();
      this.socket.io.engine?.close();
    } catch {
      // ignore
    }
  }
}

/** A cluster of apps of the given kinds on one Redis, with its clients. */
class Cluster {
  constructor(mode, kinds, subscriptionMode = "dynamic") {
    this.mode = mode;
    this.kinds = kinds;
    this.subscriptionMode = subscriptionMode;
    this.prefix = `mixed-${mode}-${rand()}`;
    this.apps = [];
    this.clients = [];
    this.extra = new Set(); // clients made by single tests
    this.checks = []; // [client, event, token, expected count, label]
  }

  async start() {
    this.redis = createClient({ url: REDIS_URL });
    await this.redis.connect();
    // a server that never answers costs 2 s, not 5
    const env = { MODE: this.mode, PREFIX: this.prefix, REQUESTS_TIMEOUT: 2000 };
    if (this.mode === "sharded") env.SUBSCRIPTION_MODE = this.subscriptionMode;
    this.apps = await Promise.all(this.kinds.map((k) => startApp(k, env)));
    const ctls = [];
    for (let i = 0; i < this.apps.length; i++) {
      this.clients.push(new Client(this, i, `n${i}-poll`, "polling", ["red", "common", `only${i}`, TWENTY]));
      this.clients.push(new Client(this, i, `n${i}-ws`, "websocket", ["blue", "common", ODD]));
      const ctl = new Client(this, i, `n${i}-ctl`, "websocket", []);
      this.clients.push(ctl);
      ctls.push(ctl);
    }
    this.ctls = ctls;
    await Promise.all(this.clients.map((c) => c.open()));
    // every server counts every other one
    await this.until(async () => {
      const counts = await Promise.all(ctls.map((c) => emitAck(c.socket, "server-count")));
      return counts.every((n) => n === this.apps.length) || `server counts ${show(counts)}`;
    }, "every server to count " + this.apps.length);
    await this.roomSubscriptions();
  }

  async stop() {
    for (const c of [...this.clients, ...this.extra]) c.close();
    await Promise.all(this.apps.map((a) => a.stop()));
    await this.redis?.quit().catch(() => {});
  }

  label(i) {
    return this.apps[i].label;
  }

  live() {
    return this.clients.filter((c) => c.live);
  }

  /** Polls probe until it returns true; a string is the state reported on timeout. */
  async until(probe, what, ms = T) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
      last = await probe();
      if (last === true) return;
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}: ${last}`);
      await delay(20);
    }
  }

  /**
   * Sharded mode: waits until every room channel has the subscribers the
   * official adapter would have: with dynamic subscriptions one per server
   * with members in the room (a broadcast to a room goes to its channel
   * only), with dynamic-private also for the sockets' own rooms, with
   * static none; and none for the rooms in gone.
   */
  async roomSubscriptions(gone = []) {
    if (this.mode !== "sharded") return;
    const want = new Map();
    for (const r of gone) want.set(String(r), new Set());
    for (const c of [...this.live(), ...[...this.extra].filter((c) => c.live)]) {
      const rooms = [...c.rooms];
      if (this.subscriptionMode === "dynamic-private" && c.id) rooms.push(c.id);
      for (const r of rooms.map(String)) {
        if (!want.has(r)) want.set(r, new Set());
        if (this.subscriptionMode !== "static") want.get(r).add(c.node);
      }
    }
    await this.until(async () => {
      const wrong = [];
      for (const [room, nodes] of want) {
        const ch = `${this.prefix}#/#${room}#`;
        const [, n] = await this.redis.sendCommand(["PUBSUB", "SHARDNUMSUB", ch]);
        if (Number(n) !== nodes.size) wrong.push(`${ch}: ${n} subscribers, want ${nodes.size}`);
      }
      return wrong.length === 0 || wrong.join("; ");
    }, "the room channels' subscriptions");
  }

  /** The live clients a selection reaches (the cluster-wide semantics). */
  select({ to = [], except = [], local = false, fromSocket = false } = {}, from) {
    to = to.map(String);
    except = except.map(String);
    return this.live().filter((c) => {
      const rooms = new Set([...c.allRooms()].map(String));
      if (to.length && !to.some((r) => rooms.has(r))) return false;
      if (except.some((r) => rooms.has(r))) return false;
      if (local && c.node !== from) return false;
      if (fromSocket && c === this.ctls[from]) return false;
      return true;
    });
  }

  /**
   * Waits until every live client got "sync" broadcast to all from server
   * i: what server i published before has arrived everywhere (Redis keeps
   * the order of one publisher's messages on each subscriber's connection).
   */
  async barrier(i) {
    const token = "sync-" + rand();
    await emitAck(this.ctls[i].socket, "broadcast", { event: "sync" }, token);
    await Promise.all(
      this.live().map((c) =>
        withTimeout(
          (async () => {
            while (c.got("sync", token).length === 0) await delay(5);
          })(),
          T,
          `"sync" from ${this.label(i)} at ${c.name}`,
        ),
      ),
    );
  }

  /** Checks that each live client got event+token as often as expected; returns the failures. */
  verify(event, token, expected, label, payload) {
    const failures = [];
    for (const c of this.live()) {
      const want = expected.has(c) ? 1 : 0;
      const got = c.got(event, token);
      this.checks.push([c, event, token, want, label]);
      if (got.length !== want) {
        failures.push(`${label}: ${c.name} (on ${this.label(c.node)}) got it ${got.length} times, want ${want}`);
      } else if (want && payload) {
        try {
          assert.deepStrictEqual(normalizeBinary(got[0].slice(2)), payload);
        } catch {
          failures.push(`${label}: ${c.name} (on ${this.label(c.node)}) got ${show(got[0].slice(2))}, want ${show(payload)}`);
        }
      }
    }
    return failures;
  }
}

function names(clients) {
  return clients.map((c) => c.name).sort();
}

function expectSocket(c) {
  return { id: c.id, rooms: [...c.allRooms()].sort(), data: c.data, auth: c.auth };
}

function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function assertNoFailures(failures) {
  if (failures.length) assert.fail(`${failures.length} failure(s):\n  ` + failures.join("\n  "));
}

// ------------------------------------------------------------------ the suite

const NUMBERS = { int: 42, big: 2 ** 40, max: Number.MAX_SAFE_INTEGER, neg: -(2 ** 40), small: -1, f: 0.1, half: 1.5, s: "héllo ✓", nil: null, t: true, list: [], obj: {} };

function broadcastCases(cl) {
  const n = cl.apps.length;
  const next = (i) => (i + 1) % n;
  const poll = (i) => cl.clients.find((c) => c.node === i && c.transport === "polling");
  return [
    { name: "to all", spec: () => ({}), args: [NUMBERS] },
    { name: "to one room", spec: () => ({ to: ["red"] }), args: ["red"] },
    { name: "to two rooms", spec: () => ({ to: ["red", "blue"] }), args: [] },
    { name: "to a room except a room", spec: () => ({ to: ["common"], except: ["red"] }), args: [1] },
    { name: "to all except a room", spec: () => ({ except: ["blue"] }), args: [{ a: [1, 2] }] },
    { name: "to a socket id on the next server", spec: (i) => ({ to: [poll(next(i)).id] }), args: ["direct"] },
    { name: "to a socket id on the same server", spec: (i) => ({ to: [poll(i).id] }), args: ["direct"] },
    { name: "to a room only the next server has", spec: (i) => ({ to: [`only${next(i)}`] }), args: [] },
    { name: "to a 20-character room", spec: () => ({ to: [TWENTY] }), args: [] },
    { name: "to a room with '#' and non-ASCII", spec: () => ({ to: [ODD] }), args: [] },
    { name: "local", spec: () => ({ local: true }), args: [] },
    { name: "from the socket (socket.broadcast)", spec: () => ({ fromSocket: true }), args: [] },
    { name: "from the socket to a room (socket.to)", spec: () => ({ fromSocket: true, to: ["common"] }), args: [] },
    {
      name: "binary payloads",
      spec: () => ({ to: ["common"] }),
      args: [
        Buffer.from([0, 1, 2, 0xfe, 0xff]),
        { bin: Buffer.from("nested"), list: [1, "a", Buffer.from([7])], n: NUMBERS },
        Buffer.alloc(0),
      ],
    },
    { name: "a 200 KB binary payload", spec: () => ({}), args: [randomBytes(200 * 1024)] },
    { name: "a 200 KB string", spec: () => ({ to: ["blue"] }), args: ["ü✓x".repeat(200 * 1024 / 6)] },
  ];
}

function clusterSuite(mode, kinds, subscriptionMode) {
  const title = `${mode}${subscriptionMode ? ` (${subscriptionMode} subscriptions)` : ""}: ${kinds.join(" + ")}`;
  describe(title, () => {
    const cl = new Cluster(mode, kinds, subscriptionMode);
    before(() => cl.start(), { timeout: 60000 });
    after(() => cl.stop());

    test("every server counts the others", async () => {
      for (const c of cl.ctls) assert.equal(await emitAck(c.socket, "server-count"), kinds.length);
    });

    test("broadcasts reach every intended client exactly once, and no other", async () => {
      const failures = [];
      for (const cs of broadcastCases(cl)) {
        for (let i = 0; i < cl.apps.length; i++) {
          const spec = cs.spec(i);
          const token = "bc-" + rand();
          const res = await emitAck(cl.ctls[i].socket, "broadcast", { ...spec, event: "bc" }, token, ...cs.args);
          if (res !== true) failures.push(`${cs.name} from ${cl.label(i)}: ack ${show(res)}`);
          await cl.barrier(i);
          failures.push(...cl.verify("bc", token, new Set(cl.select(spec, i)), `${cs.name} from ${cl.label(i)}`, cs.args));
        }
      }
      assertNoFailures(failures);
    });

    test("fetchSockets from every server sees every socket with its rooms, data and auth", async () => {
      const failures = [];
      const sels = (i) => [
        {},
        { to: ["red"] },
        { to: ["common"], except: ["red"] },
        { to: [cl.clients.find((c) => c.node === (i + 1) % cl.apps.length).id] },
        { to: [`only${(i + 1) % cl.apps.length}`] },
        { to: ["nobody"] },
      ];
      for (let i = 0; i < cl.apps.length; i++) {
        for (const sel of sels(i)) {
          const res = await emitAck(cl.ctls[i].socket, "fetch", sel);
          const what = `fetchSockets(${show(sel)}) on ${cl.label(i)}`;
          if (res.err) failures.push(`${what}: error ${res.err}`);
          const got = res.sockets.map(({ id, rooms, data, auth }) => ({ id, rooms, data, auth })).sort(byId);
          const want = cl.select(sel, i).map(expectSocket).sort(byId);
          try {
            assert.deepStrictEqual(got, want);
          } catch {
            failures.push(`${what}: got ${show(got)}\n    want ${show(want)}`);
          }
        }
      }
      assertNoFailures(failures);
    });

    test("fetchSockets: the handshake of every socket, as seen from every server", async () => {
      const failures = [];
      const views = await Promise.all(cl.ctls.map((c) => emitAck(c.socket, "fetch", {})));
      const now = Date.now();
      for (const c of cl.live()) {
        const home = cl.apps[c.node];
        const want = {
          eio: "4",
          transport: c.transport,
          address: "127.0.0.1",
          secure: false,
          xdomain: false,
          host: `127.0.0.1:${home.port}`,
        };
        for (let i = 0; i < views.length; i++) {
          const s = views[i].sockets.find((x) => x.id === c.id);
          const where = `${c.name} (on ${home.label}) seen from ${cl.label(i)}`;
          if (!s) {
            failures.push(`${where}: missing`);
            continue;
          }
          const { url, issued, ...rest } = s.hs;
          if (typeof url !== "string" || !url.startsWith(`/socket.io/?EIO=4&transport=${c.transport}`)) failures.push(`${where}: url ${show(url)}`);
          if (typeof issued !== "number" || issued > now || issued < now - 60000) failures.push(`${where}: issued ${show(issued)}`);
          for (const [k, v] of Object.entries(want)) {
            if (rest[k] !== v) failures.push(`${where}: handshake.${k} is ${show(rest[k])}, want ${show(v)}`);
          }
          const local = views[c.node].sockets.find((x) => x.id === c.id);
          if (local && i !== c.node && (local.hs.issued !== issued || local.hs.url !== url)) {
            failures.push(`${where}: issued/url ${show([issued, url])} differ from the home server's ${show([local.hs.issued, local.hs.url])}`);
          }
        }
      }
      assertNoFailures(failures);
    });

    test("socketsJoin / socketsLeave issued on one server act on the sockets of every server", async () => {
      const failures = [];
      // socketsJoin/Leave are fire and forget, also in the official servers
      // (which apply them to their own sockets only once Redis has the
      // message): every server's fetchSockets converges to the expected set.
      const converge = async (room, want, what) => {
        want = want.map((c) => c.id).sort();
        for (let k = 0; k < cl.apps.length; k++) {
          let got;
          try {
            await cl.until(async () => {
              const res = await emitAck(cl.ctls[k].socket, "fetch", { to: [room] });
              got = res.sockets.map((s) => s.id).sort();
              if (res.sockets.some((s) => !s.rooms.includes(room))) return `rooms without ${room}: ${show(res.sockets)}`;
              return show(got) === show(want) || `fetchSockets in ${room}: ${show(got)}`;
            }, what, 3000);
          } catch {
            failures.push(`${what}: fetchSockets in ${room} on ${cl.label(k)} is ${show(got)}, want ${show(want)}`);
          }
        }
      };
      for (let i = 0; i < cl.apps.length; i++) {
        const j = (i + 1) % cl.apps.length;
        const room = `sj-${i}-${rand(4)}`;
        const members = cl.select({ to: ["blue"] });
        assert.equal(await emitAck(cl.ctls[i].socket, "join", { to: ["blue"], rooms: [room] }), true);
        for (const c of members) c.rooms.add(room);
        await converge(room, members, `socketsJoin on ${cl.label(i)}`);
        await cl.roomSubscriptions();
        // a broadcast from another server to the new room
        let token = "sj-" + rand();
        await emitAck(cl.ctls[j].socket, "broadcast", { event: "bc", to: [room] }, token);
        await cl.barrier(j);
        failures.push(...cl.verify("bc", token, new Set(members), `broadcast from ${cl.label(j)} to ${room} joined on ${cl.label(i)}`));

        assert.equal(await emitAck(cl.ctls[i].socket, "leave", { to: [room], rooms: [room] }), true);
        for (const c of members) c.rooms.delete(room);
        await converge(room, [], `socketsLeave on ${cl.label(i)}`);
        await cl.roomSubscriptions([room]);
        token = "sl-" + rand();
        await emitAck(cl.ctls[j].socket, "broadcast", { event: "bc", to: [room] }, token);
        await cl.barrier(j);
        failures.push(...cl.verify("bc", token, new Set(), `broadcast from ${cl.label(j)} to ${room} left on ${cl.label(i)}`));
      }
      // a selection by socket id and room, except a room
      for (let i = 0; i < cl.apps.length; i++) {
        const target = cl.clients.find((c) => c.node === (i + 1) % cl.apps.length && c.transport === "websocket");
        const sel = { to: [target.id, "red"], except: [`only${i}`] };
        const room = `picked-${i}`;
        assert.equal(await emitAck(cl.ctls[i].socket, "join", { ...sel, rooms: [room] }), true);
        const picked = cl.select(sel);
        for (const c of picked) c.rooms.add(room);
        await converge(room, picked, `socketsJoin(${show(sel)}) on ${cl.label(i)}`);
        assert.equal(await emitAck(cl.ctls[i].socket, "leave", { to: [room], rooms: [room] }), true);
        for (const c of picked) c.rooms.delete(room);
        await converge(room, [], `socketsLeave of ${room} on ${cl.label(i)}`);
        await cl.roomSubscriptions([room]);
      }
      assertNoFailures(failures);
    });

    test("serverSideEmit reaches every other server once, not the sender", async () => {
      const failures = [];
      const n = cl.apps.length;
      const payload = { s: "ü ✓", nested: { list: [1, 2.5, null, true], big: 2 ** 40 } };
      for (let i = 0; i < n; i++) {
        const token = "note-" + rand();
        assert.equal(await emitAck(cl.ctls[i].socket, "sse", "note", token, payload), true);
        for (let k = 0; k < n; k++) {
          if (k === i) continue;
          try {
            const l = await cl.apps[k].waitLog((o) => o.event === "server-side" && o.name === "note" && o.args[0] === token, T, `note ${token}`);
            assert.deepStrictEqual(l.args, [token, payload]);
            assert.equal(l.ack, false);
          } catch (err) {
            failures.push(`serverSideEmit from ${cl.label(i)} at ${cl.label(k)}: ${err.message.split("\n")[0]}`);
          }
        }
        // A request from another server reaches the sender after its own
        // message: once it answered, the sender had its chance to see it.
        await emitAck(cl.ctls[(i + 1) % n].socket, "sse-ack", "whoami");
        for (let k = 0; k < n; k++) {
          const seen = cl.apps[k].find((o) => o.event === "server-side" && o.name === "note" && o.args[0] === token).length;
          const want = k === i ? 0 : 1;
          if (seen !== want) failures.push(`serverSideEmit from ${cl.label(i)}: ${cl.label(k)} handled it ${seen} times, want ${want}`);
        }
      }
      assertNoFailures(failures);
    });

    test("serverSideEmitWithAck gets one answer from every other server, both ways", async () => {
      const failures = [];
      const n = cl.apps.length;
      const payload = { s: "ü ✓", nested: { list: [1, 2.5, null, true, {}], big: 2 ** 40, neg: -(2 ** 33) } };
      for (let i = 0; i < n; i++) {
        const t0 = Date.now();
        const who = await emitAck(cl.ctls[i].socket, "sse-ack", "whoami", "x");
        const want = cl.apps.filter((_, k) => k !== i).map((a) => a.label).sort();
        if (who.err || show(who.responses) !== show(want)) failures.push(`whoami from ${cl.label(i)}: ${show(who)}, want responses ${show(want)}`);
        if (Date.now() - t0 > 2000) failures.push(`whoami from ${cl.label(i)} took ${Date.now() - t0} ms`);
        const echo = await emitAck(cl.ctls[i].socket, "sse-ack", "echo", payload);
        const wantEcho = Array(n - 1).fill(payload);
        try {
          assert.equal(echo.err, null);
          assert.deepStrictEqual(echo.responses, wantEcho);
        } catch {
          failures.push(`echo from ${cl.label(i)}: ${show(echo)}, want responses ${show(wantEcho)}`);
        }
        if (mode === "sharded") {
          // binary travels as MessagePack (the classic official adapter
          // sends server-side events as JSON: a Buffer would not survive)
          const bin = Buffer.from([1, 2, 3, 0, 255]);
          const res = await emitAck(cl.ctls[i].socket, "sse-ack", "echo", bin);
          try {
            assert.equal(res.err, null);
            assert.deepStrictEqual(normalizeBinary(res.responses), Array(n - 1).fill(bin));
          } catch {
            failures.push(`binary echo from ${cl.label(i)}: ${show(normalizeBinary(res))}`);
          }
        }
      }
      assertNoFailures(failures);
    });

    test("broadcast with acks collects the answers of the clients of every server", async () => {
      const failures = [];
      const n = cl.apps.length;
      const poll = (i) => cl.clients.find((c) => c.node === i && c.transport === "polling");
      const cases = (i) => [
        { name: "to all", spec: {}, event: "ask" },
        { name: "to a room", spec: { to: ["red"] }, event: "ask" },
        { name: "to a room except a room", spec: { to: ["common"], except: ["red"] }, event: "ask" },
        { name: "to a socket id on the next server", spec: { to: [poll((i + 1) % n).id] }, event: "ask" },
        { name: "to a room only the next server has", spec: { to: [`only${(i + 1) % n}`] }, event: "ask" },
        { name: "to an empty room", spec: { to: ["nobody"] }, event: "ask" },
        // The official server waits for every server's count even with
        // the local flag (socket.io 4.8.4 BroadcastOperator.emit asks
        // serverCount()), so it always times out with the right answers.
        { name: "local", spec: { local: true }, event: "ask", timeout: 500, officialTimesOut: true },
        { name: "binary question and answers", spec: { to: ["blue"] }, event: "ask-bin", bin: true, args: [Buffer.from([1, 2, 3])] },
      ];
      for (let i = 0; i < n; i++) {
        for (const cs of cases(i)) {
          const t0 = Date.now();
          const res = await emitAck(cl.ctls[i].socket, "broadcast-ack", { ...cs.spec, event: cs.event, timeout: cs.timeout ?? 3000 }, "q-" + rand(), ...(cs.args || []));
          const took = Date.now() - t0;
          const want = cl.select(cs.spec, i).map((c) => c.name).sort();
          const got = sortValues(normalizeBinary(res.responses)).map((v) => (Buffer.isBuffer(v) ? "bin:" + v.toString() : v));
          const wantShown = cs.bin ? want.map((w) => "bin:" + w) : want;
          const errOK = !res.err || (cs.officialTimesOut && cl.kinds[i] === "node" && res.err === "operation has timed out");
          if (!errOK || show(got) !== show(wantShown.sort())) {
            failures.push(`${cs.name} from ${cl.label(i)} (${took} ms): err ${show(res.err)}, answers ${show(got)}, want ${show(wantShown)}`);
          } else if (took > 2000 && !cs.officialTimesOut) {
            failures.push(`${cs.name} from ${cl.label(i)}: complete but took ${took} ms (a server did not report its client count?)`);
          }
        }
      }
      // Some clients do not answer: every requester times out with the
      // answers of the others (all servers at once, to save time).
      const results = await Promise.all(
        cl.ctls.map((c) => emitAck(c.socket, "broadcast-ack", { event: "ask-some", timeout: 1000 }, "q-" + rand())),
      );
      const answering = names(cl.live().filter((c) => c.transport === "polling"));
      results.forEach((res, i) => {
        if (!res.err || show([...res.responses].sort()) !== show(answering)) {
          failures.push(`partial answers from ${cl.label(i)}: ${show(res)}, want an error and ${show(answering)}`);
        }
      });
      assertNoFailures(failures);
    });

    test("binary socket.data travels in fetchSockets answers", async () => {
      const failures = [];
      const bin = Buffer.from([0, 1, 2, 250]);
      for (const c of cl.ctls) assert.equal(await emitAck(c.socket, "set-data", { bin, n: 1 }), true);
      try {
        for (let i = 0; i < cl.apps.length; i++) {
          const t0 = Date.now();
          const res = await emitAck(cl.ctls[i].socket, "fetch", { to: cl.ctls.map((c) => c.id), timeout: 2000 });
          const took = Date.now() - t0;
          if (res.err) failures.push(`fetchSockets on ${cl.label(i)} (${took} ms): error ${res.err}`);
          for (const c of cl.ctls) {
            const s = res.sockets.find((x) => x.id === c.id);
            // The classic official adapter writes its answers with
            // JSON.stringify: a Buffer from another server arrives as
            // {type: "Buffer", data: [...]}; a server that sends it as
            // MessagePack (as the sharded one does) is fine too.
            const asJSON = { type: "Buffer", data: [...bin] };
            const ok =
              s &&
              s.data &&
              s.data.n === 1 &&
              (show(s.data.bin) === show({ $bin: bin.toString("hex") }) ||
                (mode === "classic" && c.node !== i && show(s.data.bin) === show(asJSON)));
            if (!ok) failures.push(`fetchSockets on ${cl.label(i)}: ${c.name} (on ${cl.label(c.node)}) has data ${show(s && s.data)}`);
          }
        }
      } finally {
        for (const c of cl.ctls) await emitAck(c.socket, "set-data", c.data);
      }
      assertNoFailures(failures);
    });

    test("a socket whose data was never set has {} as data on the Node servers, wherever it is", async () => {
      // socket.data starts as {} on the official server, so Node code
      // reads remote sockets' s.data.x without a check.
      const failures = [];
      const made = [];
      for (let k = 0; k < cl.apps.length; k++) {
        const socket = ioClient(cl.apps[k].url, { forceNew: true, reconnection: false, transports: ["websocket"], timeout: T, auth: {} });
        made.push({ node: k, socket, rooms: new Set(), live: true, close: () => socket.io.engine?.close() });
      }
      for (const c of made) cl.extra.add(c);
      try {
        await Promise.all(made.map((c) => connected(c.socket)));
        const ids = made.map((c) => c.socket.id);
        for (let i = 0; i < cl.apps.length; i++) {
          if (cl.kinds[i] !== "node") continue;
          const res = await emitAck(cl.ctls[i].socket, "fetch", { to: ids, timeout: 2000 });
          if (res.err) failures.push(`fetchSockets on ${cl.label(i)}: error ${res.err}`);
          for (const c of made) {
            const s = res.sockets.find((x) => x.id === c.socket.id);
            if (!s || show(s.data) !== "{}") failures.push(`fetchSockets on ${cl.label(i)}: the socket on ${cl.label(c.node)} has data ${show(s ? s.data : "(missing)")}, want {}`);
          }
        }
      } finally {
        for (const c of made) {
          c.live = false;
          c.socket.disconnect();
        }
      }
      assertNoFailures(failures);
    });

    test("numeric rooms (socket.join(4242) on a Node server) work across the cluster", async () => {
      // One socket per server in room 4242: the Node servers join the
      // number, the Go servers (string rooms only) "4242". A pure Node
      // cluster meets every expectation below; the Go servers must take a
      // number from the wire as its decimal form. (A Go server's "4242"
      // cannot reach a socket that joined the number on a Node server,
      // nor can a Node server's io.to("4242"): not tested.)
      const failures = [];
      const n = cl.apps.length;
      const made = [];
      for (let k = 0; k < n; k++) {
        const socket = ioClient(cl.apps[k].url, { forceNew: true, reconnection: false, transports: ["websocket"], timeout: T, auth: { rooms: [4242] } });
        const c = { node: k, socket, rooms: new Set(["4242"]), live: true, received: [], close: () => socket.io.engine?.close() };
        socket.onAny((event, ...args) => c.received.push([event, ...args]));
        made.push(c);
        cl.extra.add(c);
      }
      const ids = () => made.map((c) => c.id).sort();
      try {
        await Promise.all(made.map((c) => connected(c.socket)));
        for (const c of made) c.id = c.socket.id;
        await cl.roomSubscriptions();
        for (let i = 0; i < n; i++) {
          // fetchSockets of everything: the numeric room is in the answers
          let t0 = Date.now();
          let res = await emitAck(cl.ctls[i].socket, "fetch", { to: ids(), timeout: 2000 });
          let got = res.sockets.map((s) => s.id).sort();
          if (res.err || show(got) !== show(ids())) failures.push(`fetchSockets of the sockets in 4242, by id, on ${cl.label(i)} (${Date.now() - t0} ms): err ${show(res.err)}, got ${show(got)}`);
          for (const s of res.sockets) if (!s.rooms.map(String).includes("4242")) failures.push(`fetchSockets on ${cl.label(i)}: ${s.id} has rooms ${show(s.rooms)}`);
          if (cl.kinds[i] !== "node") continue;
          // a Node server selects by the number
          t0 = Date.now();
          res = await emitAck(cl.ctls[i].socket, "fetch", { to: [4242], timeout: 2000 });
          got = res.sockets.map((s) => s.id).sort();
          if (res.err || show(got) !== show(ids())) failures.push(`fetchSockets(to 4242) on ${cl.label(i)} (${Date.now() - t0} ms): err ${show(res.err)}, got ${show(got)}, want ${show(ids())}`);
          // and broadcasts to it
          const token = "num-" + rand();
          await emitAck(cl.ctls[i].socket, "broadcast", { event: "bc", to: [4242] }, token);
          await cl.barrier(i);
          await delay(20);
          for (const c of made) {
            const k = c.received.filter((r) => r[0] === "bc" && r[1] === token).length;
            if (k !== 1) failures.push(`broadcast to the number 4242 from ${cl.label(i)}: the socket on ${cl.label(c.node)} got it ${k} times`);
          }
          // and makes them join a number
          const room = 7000 + i;
          await emitAck(cl.ctls[i].socket, "join", { to: [4242], rooms: [room] });
          for (let k = 0; k < n; k++) {
            let state;
            try {
              await cl.until(async () => {
                const r = await emitAck(cl.ctls[k].socket, "fetch", { to: ids(), timeout: 2000 });
                state = r.sockets.filter((s) => s.rooms.map(String).includes(String(room))).map((s) => s.id).sort();
                return show(state) === show(ids()) || `in ${room}: ${show(state)} (err ${show(r.err)})`;
              }, `socketsJoin(${room})`, 1500);
            } catch {
              failures.push(`socketsJoin(to 4242, the number ${room}) from ${cl.label(i)}, seen from ${cl.label(k)}: ${show(state)} in ${room}, want ${show(ids())}`);
            }
          }
        }
      } finally {
        for (const c of made) {
          c.live = false;
          c.socket.disconnect();
        }
      }
      assertNoFailures(failures);
    });

    test("a broadcast in another namespace (/aux) reaches its sockets on every server, and no other", async () => {
      const failures = [];
      const n = cl.apps.length;
      const aux = [];
      for (let k = 0; k < n; k++) {
        for (const t of ["polling", "websocket"]) {
          const socket = ioClient(cl.apps[k].url + "/aux", { forceNew: true, reconnection: false, transports: [t], timeout: T });
          const c = { node: k, t, socket, received: [] };
          socket.onAny((event, ...args) => c.received.push([event, ...args]));
          aux.push(c);
        }
      }
      try {
        await Promise.all(aux.map((c) => connected(c.socket)));
        for (let i = 0; i < n; i++) {
          const token = "aux-" + rand();
          await emitAck(cl.ctls[i].socket, "broadcast", { event: "bc", nsp: "/aux" }, token, Buffer.from("aux"));
          await withTimeout(
            (async () => {
              while (aux.some((c) => !c.received.some((r) => r[1] === token))) await delay(5);
            })(),
            T,
            `the /aux broadcast from ${cl.label(i)}`,
          ).catch((err) => failures.push(err.message));
          await cl.barrier(i);
          for (const c of aux) {
            const got = c.received.filter((r) => r[0] === "bc" && r[1] === token);
            if (got.length !== 1 || !Buffer.from("aux").equals(normalizeBinary(got[0][2]))) failures.push(`/aux broadcast from ${cl.label(i)}: ${c.t} socket on ${cl.label(c.node)} got ${show(got)}`);
          }
          failures.push(...cl.verify("bc", token, new Set(), `/aux broadcast from ${cl.label(i)} (at "/" sockets)`));
        }
      } finally {
        for (const c of aux) c.socket.disconnect();
      }
      assertNoFailures(failures);
    });

    test("disconnectSockets issued on one server disconnects the sockets of every server", async () => {
      const failures = [];
      const n = cl.apps.length;
      for (let i = 0; i < n; i++) {
        for (const close of [false, true]) {
          const room = `victims-${i}-${close}-${rand(4)}`;
          // on every server: two victims (one multiplexed with /aux) and a survivor
          const made = [];
          for (let k = 0; k < n; k++) {
            for (const [t, rooms] of [
              ["polling", [room]],
              ["websocket", [room, "spared"]],
              ["websocket", [room]],
            ]) {
              const m = new Manager(cl.apps[k].url, { forceNew: true, reconnection: false, transports: [t], timeout: T });
              const c = { server: k, rooms, transport: t, main: m.socket("/", { auth: { rooms } }), aux: m.socket("/aux"), reasons: [] };
              c.main.on("disconnect", (r) => c.reasons.push(["/", r]));
              c.alive = new Promise((resolve) => c.main.on("alive", resolve));
              c.aux.on("disconnect", (r) => c.reasons.push(["/aux", r]));
              made.push(c);
              cl.extra.add({ live: true, rooms: new Set(rooms), node: k, close: () => m.engine?.close() });
            }
          }
          await Promise.all(made.flatMap((c) => [connected(c.main), connected(c.aux)]));
          for (const c of made) c.id = c.main.id;
          await cl.roomSubscriptions();
          assert.equal(await emitAck(cl.ctls[i].socket, "disconnect-sockets", { to: [room], except: ["spared"], close }), true);
          const victims = made.filter((c) => !c.rooms.includes("spared"));
          const spared = made.filter((c) => c.rooms.includes("spared"));
          await Promise.all(
            victims.map((c) =>
              withTimeout(
                (async () => {
                  while (c.main.connected || (close && c.aux.connected)) await delay(5);
                })(),
                T,
                `the disconnection of a victim on ${cl.label(c.server)} (close=${close}, from ${cl.label(i)})`,
              ).catch((err) => failures.push(err.message)),
            ),
          );
          for (const c of victims) {
            const where = `disconnectSockets(close=${close}) from ${cl.label(i)}: ${c.transport} victim on ${cl.label(c.server)}`;
            const main = c.reasons.find((r) => r[0] === "/");
            if (!main || main[1] !== "io server disconnect") failures.push(`${where}: "/" reasons ${show(c.reasons)}`);
            if (!close && !c.aux.connected) failures.push(`${where}: /aux disconnected (${show(c.reasons)}) though close=false`);
            const log = await cl.apps[c.server]
              .waitLog((o) => o.event === "disconnect" && o.id === c.id, T, "the disconnect log line")
              .catch(() => null);
            if (!log) failures.push(`${where}: no disconnect log line`);
            else if (log.reason !== "server namespace disconnect") failures.push(`${where}: server-side reason ${show(log.reason)}`);
          }
          // the survivors still receive broadcasts
          const token = "alive-" + rand();
          await emitAck(cl.ctls[i].socket, "broadcast", { event: "alive", to: [room] }, token);
          await cl.barrier(i);
          for (const c of spared) {
            if (!c.main.connected) failures.push(`disconnectSockets(close=${close}) from ${cl.label(i)}: spared socket on ${cl.label(c.server)} disconnected ${show(c.reasons)}`);
          }
          await withTimeout(
            Promise.all(spared.map((c) => c.alive)),
            T,
            "the survivors' broadcast",
          ).catch((err) => failures.push(`disconnectSockets(close=${close}) from ${cl.label(i)}: ${err.message}`));
          for (const c of made) c.main.io.engine?.close();
          for (const e of cl.extra) if (e.rooms.has(room)) e.live = false;
          await cl.roomSubscriptions([room, "spared"]);
        }
      }
      assertNoFailures(failures);
    });

    test("no event arrived twice or late", async () => {
      for (let i = 0; i < cl.apps.length; i++) await cl.barrier(i);
      const failures = [];
      for (const [c, event, token, want, label] of cl.checks) {
        if (!c.live) continue;
        const got = c.got(event, token).length;
        if (got !== want) failures.push(`${label}: ${c.name} now has it ${got} times, want ${want}`);
      }
      assertNoFailures(failures);
    });
  });
}

clusterSuite("sharded", ["go", "node"]);
clusterSuite("classic", ["go", "node"]);
clusterSuite("sharded", ["go", "node", "go"]);
clusterSuite("classic", ["node", "go", "node"]);
clusterSuite("sharded", ["node", "go"], "static");
clusterSuite("sharded", ["go", "node"], "dynamic-private");
clusterSuite("streams", ["go", "node"]);
clusterSuite("streams", ["node", "go", "go"]);
