// Binary payloads (Socket.IO BINARY_EVENT / BINARY_ACK with attachments).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { useServer, describeModes, connect, emitAck, recorder, normalizeBinary } from "../lib/harness.js";

const b1 = Buffer.from([0, 1, 2, 3, 254, 255]);
const b2 = Buffer.from("binary ✓ 😀", "utf8");
const b3 = Buffer.from([0x1e, 0x62, 0x34, 0x00]); // record separator, 'b', '4': framing look-alikes
const empty = Buffer.alloc(0);
const big = randomBytes(100 * 1024);

const CASES = [
  ["a top-level Buffer", () => [b1]],
  ["several Buffers", () => [b1, b2, b3]],
  ["nested Buffers in objects and arrays", () => [{ a: b1, list: [b2, { deep: b3 }], s: "str", n: 1 }, [[b3], { x: [b1, b2] }]]],
  ["an empty Buffer", () => [empty]],
  ["a 100 KB Buffer", () => [big]],
  ["Buffers mixed with other values", () => ["before", b1, 42, null, [b2, "mid"], { k: b3, t: true }, "after"]],
  ["the same Buffer twice", () => [b1, { again: b1 }]],
  ["an object that looks like a placeholder next to a Buffer", () => [{ _placeholder: "nope", num: "0" }, b2]],
];

function assertSameBinary(actual, expected) {
  assert.deepEqual(normalizeBinary(actual), expected);
}

describe("binary", () => {
  const ctx = useServer();

  describeModes("binary", (mode) => {
    for (const [label, make] of CASES) {
      it(`echo: ${label}`, async () => {
        const args = make();
        const { socket } = await connect(ctx.server, "/", { mode });
        const rec = recorder(socket, "echo");
        socket.emit("echo", ...args);
        assertSameBinary(await rec.next(), args);
      });

      it(`echo-ack: ${label}`, async () => {
        const args = make();
        const { socket } = await connect(ctx.server, "/", { mode });
        assertSameBinary(await emitAck(socket, "echo-ack", ...args), args);
      });
    }

    it("received binary is delivered as a binary object (Buffer/ArrayBuffer)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const [x] = await emitAck(socket, "echo-ack", b1);
      assert.ok(Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x), `got ${typeof x}`);
      assert.equal(normalizeBinary(x).length, b1.length);
    });

    it("binary in a server->client ack (ask)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const seen = [];
      socket.on("question", (arg, cb) => {
        seen.push(arg);
        cb({ raw: Buffer.concat([normalizeBinary(arg.data), b2]), list: [b3, empty] });
      });
      const [res] = await emitAck(socket, "ask", { data: b1, label: "q" });
      assert.equal(seen.length, 1);
      assertSameBinary(seen[0], { data: b1, label: "q" });
      assertSameBinary(res, { ok: true, answer: { raw: Buffer.concat([b1, b2]), list: [b3, empty] } });
    });

    it("a 100 KB Buffer in a server->client ack", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      socket.on("question", (arg, cb) => cb(big));
      const [res] = await emitAck(socket, "ask", null);
      assertSameBinary(res, { ok: true, answer: big });
    });

    it("binary and text events interleave in order", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const rec = recorder(socket, "echo");
      const sent = [];
      for (let i = 0; i < 20; i++) {
        const args = i % 2 ? [i, Buffer.from([i, i + 1])] : [i, `t${i}`];
        sent.push(args);
        socket.emit("echo", ...args);
      }
      for (const args of sent) assertSameBinary(await rec.next(), args);
    });
  });
});
