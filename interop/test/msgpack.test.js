// The msgpack parser: the official socket.io-client configured with
// socket.io-msgpack-parser 3.0.2 against a server started with PARSER=msgpack
// (the official one with the same parser, or ours with msgpackparser).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import msgpackParser from "socket.io-msgpack-parser";
import {
  useServer,
  describeModes,
  connect,
  connectError,
  createManager,
  ready,
  emitAck,
  recorder,
  once,
  uid,
  normalizeBinary,
} from "../lib/harness.js";
import { RawWs } from "../lib/raw.js";

const b1 = Buffer.from([0, 1, 2, 3, 254, 255]);
const b2 = Buffer.from("binary ✓ 😀", "utf8");
const big = randomBytes(100 * 1024);

const CASES = [
  ["text only", () => ["a", 1, 2.5, -3, true, null, { k: [1, { x: "y" }] }, "é€😀"]],
  ["a top-level Buffer", () => [b1]],
  ["nested Buffers", () => [{ a: b1, list: [b2, { deep: b1 }] }, [[b2]]]],
  ["an empty Buffer", () => [Buffer.alloc(0)]],
  ["a 100 KB Buffer", () => [big]],
  ["large integers", () => [4294967296, -2147483649, 9007199254740991]],
];

const withParser = (mode, extra = {}) => ({ mode, parser: msgpackParser, ...extra });

describe("msgpack parser", () => {
  const ctx = useServer({ env: { PARSER: "msgpack" } });

  describeModes("msgpack", (mode) => {
    it("connects; every Socket.IO packet is one binary message", async () => {
      const socket = (await connect(ctx.server, "/", withParser(mode))).socket;
      const kinds = [];
      socket.io.engine.on("packet", (p) => {
        if (p.type === "message") kinds.push(typeof p.data === "string" ? "text" : "binary");
      });
      assert.deepEqual(normalizeBinary(await emitAck(socket, "echo-ack", "x", b1)), ["x", b1]);
      assert.ok(kinds.length >= 1 && kinds.every((k) => k === "binary"), `messages: ${kinds}`);
    });

    for (const [label, make] of CASES) {
      it(`echo: ${label}`, async () => {
        const args = make();
        const { socket } = await connect(ctx.server, "/", withParser(mode));
        const rec = recorder(socket, "echo");
        socket.emit("echo", ...args);
        assert.deepEqual(normalizeBinary(await rec.next()), args);
      });

      it(`echo-ack: ${label}`, async () => {
        const args = make();
        const { socket } = await connect(ctx.server, "/", withParser(mode));
        assert.deepEqual(normalizeBinary(await emitAck(socket, "echo-ack", ...args)), args);
      });
    }

    it("binary in a server->client ack (ask)", async () => {
      const { socket } = await connect(ctx.server, "/", withParser(mode));
      socket.on("question", (arg, cb) => cb({ raw: Buffer.concat([normalizeBinary(arg.data), b2]) }));
      const [res] = await emitAck(socket, "ask", { data: b1, label: "q" });
      assert.deepEqual(normalizeBinary(res), { ok: true, answer: { raw: Buffer.concat([b1, b2]) } });
    });

    it("a broadcast reaches every client", async () => {
      const a = (await connect(ctx.server, "/", withParser(mode))).socket;
      const b = (await connect(ctx.server, "/", withParser(mode))).socket;
      const ra = recorder(a, "all-event");
      const rb = recorder(b, "all-event");
      a.emit("emit-all", "hi", b1);
      assert.deepEqual(normalizeBinary(await ra.next()), ["hi", b1]);
      assert.deepEqual(normalizeBinary(await rb.next()), ["hi", b1]);
    });

    it("namespaces on one connection; connect_error from a middleware and for an unknown namespace", async () => {
      const manager = createManager(ctx.server, withParser(mode));
      const dyn = `/dyn-${uid()}`.toLowerCase();
      const root = manager.socket("/");
      const custom = manager.socket("/custom", { auth: { who: "custom" } });
      const d = manager.socket(dyn);
      assert.deepEqual(await ready(custom, mode), { id: custom.id, nsp: "/custom", auth: { who: "custom" } });
      await ready(root, mode);
      assert.deepEqual(await ready(d, mode), { id: d.id, nsp: dyn, auth: {} });
      assert.deepEqual(await emitAck(custom, "echo-ack", "in custom"), ["in custom"]);

      const refused = await connectError(ctx.server, "/admin", withParser(mode, { auth: { role: "guest" } }));
      assert.equal(refused.err.message, "forbidden");
      assert.deepEqual(refused.err.data, { role: "guest" });
      const unknown = await connectError(ctx.server, "/nowhere", withParser(mode));
      assert.equal(unknown.err.message, "Invalid namespace");
    });

    it('disconnects: client "client namespace disconnect", server "io server disconnect"', async () => {
      const a = (await connect(ctx.server, "/", withParser(mode))).socket;
      const id = a.id;
      a.disconnect();
      assert.equal(await ctx.server.disconnectReason(id), "client namespace disconnect");
      const b = (await connect(ctx.server, "/", withParser(mode))).socket;
      const gone = once(b, "disconnect");
      b.emit("disconnect-me", false);
      assert.equal((await gone)[0], "io server disconnect");
    });
  });

  describe("invalid packets close the connection", () => {
    const encode = (packet) => new msgpackParser.Encoder().encode(packet)[0];
    for (const [label, msg] of [
      ["a text message", '42["echo"]'],
      ["a MessagePack array", Buffer.from([0x92, 0x02, 0x02])],
      ["type 5", () => encode({ type: 5, data: ["echo"], nsp: "/" })],
      ["an EVENT whose data is a string", () => encode({ type: 2, data: "echo", nsp: "/" })],
      ["a namespace that is not a string", () => encode({ type: 2, data: ["echo"], nsp: 1 })],
      ["trailing bytes", () => Buffer.concat([encode({ type: 2, data: ["echo"], nsp: "/" }), Buffer.from([0])])],
    ]) {
      it(`${label} -> "forced close", engine closed`, async () => {
        const ws = new RawWs(ctx.server);
        await ws.handshake();
        ws.send(encode({ type: 0, nsp: "/" }));
        const reply = new msgpackParser.Decoder();
        const connected = once(reply, "decoded");
        reply.add(await ws.next());
        const [p] = await connected;
        assert.equal(p.type, 0);
        ws.send(typeof msg === "function" ? msg() : msg);
        await ws.waitClosed();
        assert.equal(await ctx.server.disconnectReason(p.data.sid), "forced close");
      });
    }
  });
});
