// Raw Engine.IO / Socket.IO protocol tests (ws + fetch, no socket.io-client),
// for situations the official client never produces.
//
// Servers (one per describe block):
//  - "heartbeat": PING_INTERVAL=300, PING_TIMEOUT=200, CONNECT_TIMEOUT=1000
//    (ping timeout cases; the OPEN packet announces these values)
//  - "keep-alive": PING_INTERVAL=300, PING_TIMEOUT=1500 (pongs keep a session up)
//  - "connect timeout": CONNECT_TIMEOUT=1000
//  - everything else: default timers, so that a late pong on a loaded machine
//    can never turn a protocol-violation case into a "ping timeout".
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { useServer, delay, withTimeout } from "../lib/harness.js";
import { RawWs, pollingHandshake, pollGet, pollPost, parseSio, reconstruct } from "../lib/raw.js";

const SESSION_UNKNOWN = { code: 1, message: "Session ID unknown" };
// a server-initiated websocket close is a close frame without status code
const WS_SERVER_CLOSE = 1005;

const openRaw = [];
after(() => openRaw.forEach((c) => c.close()));

/** Raw-client helpers bound to the server of a useServer() context. */
function rawHelpers(ctx) {
  const ws = (opts) => {
    const c = new RawWs(ctx.server, opts);
    openRaw.push(c);
    return c;
  };

  /** Connects a raw ws client to "/", consumes "hello"; resolves [client, sid]. */
  async function wsConnected(opts) {
    const c = ws(opts);
    const sid = await c.connectNamespace("/");
    const hello = parseSio(await c.next());
    assert.deepEqual(hello.data, ["hello", { id: sid, nsp: "/", auth: {} }]);
    return [c, sid];
  }

  /** Polling session connected to "/" with "hello" consumed; resolves { esid, sid }. */
  async function pollingConnected() {
    const h = await pollingHandshake(ctx.server);
    assert.deepEqual(await pollPost(ctx.server, h.sid, "40"), { status: 200, body: "ok" });
    const packets = [];
    while (packets.length < 2) {
      const r = await pollGet(ctx.server, h.sid);
      assert.equal(r.status, 200);
      for (const p of r.packets) {
        if (p === "2") await pollPost(ctx.server, h.sid, "3");
        else packets.push(p);
      }
    }
    const connectPkt = parseSio(packets[0]);
    assert.equal(connectPkt.type, 0);
    const sid = connectPkt.data.sid;
    assert.deepEqual(parseSio(packets[1]).data, ["hello", { id: sid, nsp: "/", auth: {} }]);
    return { esid: h.sid, sid };
  }

  return { ws, wsConnected, pollingConnected };
}

describe("raw protocol", () => {
  const ctx = useServer();
  const { ws, wsConnected, pollingConnected } = rawHelpers(ctx);

  describe("handshake", () => {
    it("polling OPEN packet carries sid, upgrades, timers and maxPayload", async () => {
      const h = await pollingHandshake(ctx.server);
      assert.equal(typeof h.sid, "string");
      assert.ok(h.sid.length > 0);
      assert.deepEqual(
        { ...h, sid: "x" },
        { sid: "x", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
      );
    });

    it("websocket OPEN packet has no upgrades", async () => {
      const c = ws();
      const h = await c.handshake();
      assert.deepEqual({ ...h, sid: "x" }, { sid: "x", upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
    });

    it("handshake response allows any origin (cors origin *)", async () => {
      const res = await fetch(`${ctx.server.url}/socket.io/?EIO=4&transport=polling`, {
        headers: { origin: "http://example.com" },
      });
      await res.text();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    });

    it("CONNECT to a namespace answers with the socket id; CONNECT to an unknown one with CONNECT_ERROR", async () => {
      const c = ws();
      await c.handshake();
      c.send('40/custom,{"k":"v"}');
      const p = parseSio(await c.next());
      assert.equal(p.type, 0);
      assert.equal(p.nsp, "/custom");
      assert.equal(typeof p.data.sid, "string");
      assert.deepEqual(parseSio(await c.next()).data, ["hello", { id: p.data.sid, nsp: "/custom", auth: { k: "v" } }]);
      c.send("40/nope,");
      assert.deepEqual(parseSio(await c.next()), {
        type: 4,
        attachments: undefined,
        nsp: "/nope",
        id: undefined,
        data: { message: "Invalid namespace" },
      });
    });

    it("middleware errors are CONNECT_ERROR packets with message and data", async () => {
      const c = ws();
      await c.handshake();
      c.send('40{"token":"reject"}');
      const p = parseSio(await c.next());
      assert.equal(p.type, 4);
      assert.equal(p.nsp, "/");
      assert.deepEqual(p.data, { message: "not authorized", data: { code: 4001, reason: "bad token" } });
    });
  });

  describe("http errors", () => {
    const cases = [
      ["unknown sid", "EIO=4&transport=polling&sid=nope", "GET", SESSION_UNKNOWN],
      ["unknown transport", "EIO=4&transport=foo", "GET", { code: 0, message: "Transport unknown" }],
      ["missing transport", "EIO=4", "GET", { code: 0, message: "Transport unknown" }],
      ["EIO=3", "EIO=3&transport=polling", "GET", { code: 5, message: "Unsupported protocol version" }],
      ["missing EIO", "transport=polling", "GET", { code: 5, message: "Unsupported protocol version" }],
      ["websocket transport without upgrade", "EIO=4&transport=websocket", "GET", { code: 3, message: "Bad request" }],
      ["POST without sid", "EIO=4&transport=polling", "POST", { code: 2, message: "Bad handshake method" }],
    ];
    for (const [label, query, method, body] of cases) {
      it(`${label} -> 400 ${JSON.stringify(body)}`, async () => {
        const res = await fetch(`${ctx.server.url}/socket.io/?${query}`, method === "POST" ? { method, body: "40" } : {});
        assert.equal(res.status, 400);
        assert.deepEqual(JSON.parse(await res.text()), body);
      });
    }
  });

  describe("wire format", () => {
    it("event with ack id -> ACK packet with the same id", async () => {
      const [c] = await wsConnected();
      c.send('4217["echo-ack","a",{"b":[1,null]}]');
      assert.deepEqual(parseSio(await c.next()), { type: 3, attachments: undefined, nsp: "/", id: 17, data: ["a", { b: [1, null] }] });
    });

    it("binary event: placeholder + attachment frames, echoed as a BINARY_EVENT", async () => {
      const [c] = await wsConnected();
      c.send('452-["echo",{"_placeholder":true,"num":0},"s",{"k":{"_placeholder":true,"num":1}}]');
      c.send(Buffer.from([1, 2, 3]));
      c.send(Buffer.from([]));
      const p = parseSio(await c.next());
      assert.equal(p.type, 5);
      assert.equal(p.attachments, 2);
      assert.equal(p.nsp, "/");
      assert.equal(p.id, undefined);
      const atts = [await c.next(), await c.next()];
      assert.deepEqual(reconstruct(p.data, atts), ["echo", Buffer.from([1, 2, 3]), "s", { k: Buffer.alloc(0) }]);
    });

    it("binary ack: BINARY_ACK with the same id", async () => {
      const [c] = await wsConnected();
      c.send('452-9["echo-ack",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]');
      c.send(Buffer.from([0xaa]));
      c.send(Buffer.from([0xbb, 0xcc]));
      const p = parseSio(await c.next());
      assert.equal(p.type, 6);
      assert.equal(p.attachments, 2);
      assert.equal(p.nsp, "/");
      assert.equal(p.id, 9);
      const atts = [await c.next(), await c.next()];
      assert.deepEqual(reconstruct(p.data, atts), [Buffer.from([0xbb, 0xcc]), Buffer.from([0xaa])]);
    });

    it("binary event on a namespace carries the namespace", async () => {
      const c = ws();
      const sid = await c.connectNamespace("/custom");
      assert.deepEqual(parseSio(await c.next()).data, ["hello", { id: sid, nsp: "/custom", auth: {} }]);
      c.send('451-/custom,5["echo-ack",{"_placeholder":true,"num":0}]');
      c.send(Buffer.from("zz"));
      const p = parseSio(await c.next());
      assert.deepEqual([p.type, p.attachments, p.nsp, p.id], [6, 1, "/custom", 5]);
      assert.deepEqual(reconstruct(p.data, [await c.next()]), [Buffer.from("zz")]);
    });

    it("a lone surrogate escape survives the round trip", async () => {
      const [c] = await wsConnected();
      c.send('421["echo-ack","\\ud800x"]');
      const frame = await c.next();
      assert.deepEqual(parseSio(frame).data, ["\ud800x"]);
    });

    it("polling payloads carry several packets separated by \\x1e", async () => {
      const { esid } = await pollingConnected();
      assert.deepEqual(await pollPost(ctx.server, esid, ['421["echo-ack",1]', '422["echo-ack",2]']), { status: 200, body: "ok" });
      const got = [];
      while (got.length < 2) {
        const r = await pollGet(ctx.server, esid);
        for (const p of r.packets) {
          if (p === "2") await pollPost(ctx.server, esid, "3");
          else got.push(parseSio(p));
        }
      }
      assert.deepEqual(
        got.map((p) => [p.type, p.id, p.data]),
        [
          [3, 1, [1]],
          [3, 2, [2]],
        ],
      );
    });
  });

  describe("protocol violations", () => {
    it('engine.io garbage ("x") over websocket -> server reason "parse error"', async () => {
      const [c, sid] = await wsConnected();
      c.send("x");
      assert.equal((await c.waitClosed()).code, WS_SERVER_CLOSE);
      assert.equal(await ctx.server.disconnectReason(sid), "parse error");
    });

    it('engine.io garbage ("x") over polling -> server reason "parse error", session gone', async () => {
      const { esid, sid } = await pollingConnected();
      assert.deepEqual(await pollPost(ctx.server, esid, "x"), { status: 200, body: "ok" });
      assert.equal(await ctx.server.disconnectReason(sid), "parse error");
      const r = await pollGet(ctx.server, esid);
      assert.equal(r.status, 400);
      assert.deepEqual(JSON.parse(r.body), SESSION_UNKNOWN);
    });

    // Socket.IO-level violations: the official server closes the whole engine
    // connection; the reason over websocket is "forced close".
    const sioViolations = [
      ["EVENT with an object payload", "42{}"],
      ["EVENT with an empty array", "42[]"],
      ["EVENT with truncated JSON", '42["echo"'],
      ["EVENT with invalid JSON", '42["echo",{"a":]'],
      ["packet type only", "4"],
      ["unknown packet type", "49"],
      ["non-numeric packet type", "4x"],
      ["CONNECT_ERROR sent by a client", "45"],
      ["packet for a namespace that is not connected (/custom)", '42/custom,["echo"]'],
      ["packet for a namespace that requires auth (/admin)", '42/admin,["echo"]'],
      ["DISCONNECT for an unknown namespace", "41/nope,"],
      ["CONNECT twice to /", "40"],
    ];
    for (const [label, packet] of sioViolations) {
      it(`${label} (${JSON.stringify(packet)}) over websocket -> "forced close", engine closed`, async () => {
        const [c, sid] = await wsConnected();
        c.send(packet);
        assert.equal((await c.waitClosed()).code, WS_SERVER_CLOSE);
        assert.equal(await ctx.server.disconnectReason(sid), "forced close");
      });
    }

    it("the same violation over polling (GET pending) -> pending GET gets a CLOSE packet", async () => {
      // Over polling the official server's reason depends on timing: "forced close"
      // when a GET is pending (observed), "forced server close" otherwise.
      for (const packet of ['42/custom,["echo"]', "40", "42{}"]) {
        const { esid, sid } = await pollingConnected();
        const pending = pollGet(ctx.server, esid);
        await delay(50); // let the GET reach the server (no event to await from outside)
        assert.deepEqual(await pollPost(ctx.server, esid, packet), { status: 200, body: "ok" });
        const r = await pending;
        assert.equal(r.status, 200);
        // ["1"] when the GET was parked in time (observed); a GET that arrives
        // after the close was decided gets ["6", "1"] (NOOP + CLOSE)
        assert.equal(r.packets[r.packets.length - 1], "1", `packets ${JSON.stringify(r.packets)}`);
        assert.ok(r.packets.slice(0, -1).every((p) => p === "6"));
        const reason = await ctx.server.disconnectReason(sid);
        assert.ok(["forced close", "forced server close"].includes(reason), `${packet}: reason ${reason}`);
        const after = await pollGet(ctx.server, esid);
        assert.equal(after.status, 400);
        assert.deepEqual(JSON.parse(after.body), SESSION_UNKNOWN);
      }
    });

    it('DISCONNECT from the client -> "client namespace disconnect", engine connection stays open', async () => {
      const [c, sid] = await wsConnected();
      c.send("41");
      assert.equal(await ctx.server.disconnectReason(sid), "client namespace disconnect");
      // the engine connection is still usable: connect again
      c.send("40");
      const p = parseSio(await c.next());
      assert.equal(p.type, 0);
      assert.notEqual(p.data.sid, sid);
    });

    it('two concurrent polling GETs -> second 400, first gets CLOSE, server reason "transport error"', async () => {
      const { esid, sid } = await pollingConnected();
      const first = pollGet(ctx.server, esid);
      await delay(50); // let the first GET be parked on the server (nothing to await)
      const second = pollGet(ctx.server, esid);
      // whichever GET arrives second is rejected with 400 (empty body); the
      // parked one is answered with a CLOSE packet
      const results = (await Promise.all([first, second])).sort((a, b) => a.status - b.status);
      assert.deepEqual(
        results.map((r) => [r.status, r.status === 200 ? r.packets : r.body]),
        [
          [200, ["1"]],
          [400, ""],
        ],
      );
      assert.equal(await ctx.server.disconnectReason(sid), "transport error");
      const again = await pollGet(ctx.server, esid);
      assert.equal(again.status, 400);
      assert.deepEqual(JSON.parse(again.body), SESSION_UNKNOWN);
    });
  });

  describe("limits (MAX_HTTP_BUFFER_SIZE=1000000)", () => {
    it('websocket message above the limit -> close code 1009, server reason "transport error"', async () => {
      const [c, sid] = await wsConnected();
      c.send(`42["echo","${"y".repeat(1_200_000)}"]`);
      assert.equal((await c.waitClosed()).code, 1009);
      assert.equal(await ctx.server.disconnectReason(sid), "transport error");
    });

    it("polling POST above the limit -> HTTP 413 with an empty body; the session stays usable", async () => {
      const { esid, sid } = await pollingConnected();
      assert.deepEqual(await pollPost(ctx.server, esid, `42["echo","${"y".repeat(1_200_000)}"]`), { status: 413, body: "" });
      assert.deepEqual(await pollPost(ctx.server, esid, '421["echo-ack","after 413"]'), { status: 200, body: "ok" });
      const r = await pollGet(ctx.server, esid);
      assert.equal(r.status, 200);
      assert.deepEqual(r.packets.filter((p) => p !== "2").map((p) => parseSio(p).data), [["after 413"]]);
      assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === sid), false);
    });
  });

  describe("ignored packets", () => {
    for (const [label, packet] of [
      ["ACK with an unknown id", '4399["x"]'],
      ["numeric event name", "42[1]"],
      ["unsolicited PONG", "3"],
      ["unknown event", '42["no-such-event",1]'],
    ]) {
      it(`${label} (${JSON.stringify(packet)}) is ignored, the connection stays usable`, async () => {
        const [c, sid] = await wsConnected();
        c.send(packet);
        c.send('427["echo-ack","still"]');
        assert.deepEqual(parseSio(await c.next()), { type: 3, attachments: undefined, nsp: "/", id: 7, data: ["still"] });
        assert.equal(c.closeInfo, undefined);
        assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === sid), false);
      });
    }
  });
});

describe("raw protocol: heartbeat", () => {
  const ctx = useServer({ env: { PING_INTERVAL: 300, PING_TIMEOUT: 200, CONNECT_TIMEOUT: 1000 } });
  const { ws, wsConnected, pollingConnected } = rawHelpers(ctx);

  it("the OPEN packet announces PING_INTERVAL / PING_TIMEOUT", async () => {
    const h = await pollingHandshake(ctx.server);
    assert.deepEqual(
      { ...h, sid: "x" },
      { sid: "x", upgrades: ["websocket"], pingInterval: 300, pingTimeout: 200, maxPayload: 1000000 },
    );
    const c = ws();
    assert.deepEqual({ ...(await c.handshake()), sid: "x" }, { sid: "x", upgrades: [], pingInterval: 300, pingTimeout: 200, maxPayload: 1000000 });
  });

  it('no pong -> connection closed, server reason "ping timeout"', async () => {
    const [c, sid] = await wsConnected({ autoPong: false });
    const t0 = Date.now();
    const closed = await c.waitClosed(5000);
    const elapsed = Date.now() - t0;
    assert.equal(closed.code, WS_SERVER_CLOSE);
    assert.ok(c.pings >= 1);
    assert.ok(elapsed >= 300 && elapsed < 4000, `closed after ${elapsed} ms (expected ~500)`);
    assert.equal(await ctx.server.disconnectReason(sid), "ping timeout");
  });

  it('polling: no pong -> the session is gone, server reason "ping timeout"', async () => {
    const { esid, sid } = await pollingConnected();
    // wait for the server to give up without ever answering a ping
    assert.equal(await ctx.server.disconnectReason(sid, 6000), "ping timeout");
    const r = await pollGet(ctx.server, esid);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), SESSION_UNKNOWN);
  });
});

describe("raw protocol: keep-alive", () => {
  const ctx = useServer({ env: { PING_INTERVAL: 300, PING_TIMEOUT: 1500 } });
  const { wsConnected } = rawHelpers(ctx);

  it("answering pings keeps the session alive across several ping intervals", async () => {
    const [c, sid] = await wsConnected();
    await c.waitPings(4); // > 1 s with PING_INTERVAL=300
    assert.ok(c.handshakeData.pingInterval === 300);
    c.send('421["echo-ack","alive"]');
    assert.deepEqual(parseSio(await c.next()).data, ["alive"]);
    assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === sid), false);
  });
});

describe("raw protocol: connect timeout", () => {
  // default (long) heartbeat: a slow pong on a loaded machine cannot be
  // mistaken for the connect timeout
  const ct = useServer({ env: { CONNECT_TIMEOUT: 1000 } });
  const { ws: ctWs } = rawHelpers(ct);

  it("websocket: no CONNECT within CONNECT_TIMEOUT -> engine connection closed", async () => {
    const c = ctWs();
    await c.handshake();
    const t0 = Date.now();
    const closed = await c.waitClosed(6000);
    const elapsed = Date.now() - t0;
    assert.equal(closed.code, WS_SERVER_CLOSE);
    assert.ok(elapsed >= 800 && elapsed < 4000, `closed after ${elapsed} ms (CONNECT_TIMEOUT=1000)`);
    assert.equal(ct.server.logs.filter((l) => l.event === "connection").length, 0);
  });

  it("polling: no CONNECT within CONNECT_TIMEOUT -> the pending GET receives CLOSE, then the sid is unknown", async () => {
    const h = await pollingHandshake(ct.server);
    const t0 = Date.now();
    const r = await withTimeout(pollGet(ct.server, h.sid), 6000, "long-poll");
    const elapsed = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.deepEqual(r.packets, ["1"]);
    assert.ok(elapsed >= 800 && elapsed < 4000, `closed after ${elapsed} ms (CONNECT_TIMEOUT=1000)`);
    const again = await pollGet(ct.server, h.sid);
    assert.equal(again.status, 400);
    assert.deepEqual(JSON.parse(again.body), SESSION_UNKNOWN);
  });

  it("a CONNECT in time cancels the connect timeout", async () => {
    const c = ctWs();
    const sid = await c.connectNamespace("/");
    assert.deepEqual(parseSio(await c.next()).data, ["hello", { id: sid, nsp: "/", auth: {} }]);
    await delay(1500); // > CONNECT_TIMEOUT: nothing to await but time
    c.send('421["echo-ack","still"]');
    assert.deepEqual(parseSio(await c.next()).data, ["still"]);
    assert.equal(c.closeInfo, undefined);
    assert.equal(ct.server.logs.some((l) => l.event === "disconnect" && l.id === sid), false);
  });
});
