// Event payloads: JSON values of every kind, unicode, lone surrogates, many
// arguments, ordering, and volatile emits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, emitAck, recorder } from "../lib/harness.js";

/** [label, args] — each entry is sent as the argument list of one event. */
const CASES = [
  ["plain strings", ["hello", "world"]],
  ["empty string", [""]],
  ["escapes and control characters", ['quote " backslash \\ slash / \n\r\t\b\f', "\u0000\u0001\u001e\u001f\u007f", "\u2028\u2029"]],
  ["emoji", ["😀👍🏽🇫🇷👨‍👩‍👧‍👦"]],
  ["CJK", ["漢字 かな カナ 한국어"]],
  ["RTL", ["שלום עולם مرحبا بالعالم"]],
  ["integers", [0, 1, -1, 42, 65535, 2147483647, -2147483648, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]],
  ["floats", [3.14159, -2.5e-7, 0.1 + 0.2, 1.7976931348623157e308, 5e-324, 123456.789]],
  ["large exponent 1e21", [1e21, -1e21, 1.5e300]],
  ["booleans and null", [true, false, null]],
  ["empty containers", [[], {}]],
  [
    "nested objects and arrays",
    [
      {
        a: [1, { b: [null, true, "x", { c: { d: { e: [[[]]] } } }] }],
        "key with space": { "": 0 },
        "ключ": "значение",
        "😀": ["emoji key"],
      },
      [[1, 2], [3, [4, [5, [6]]]], { x: [] }],
    ],
  ],
  ["ten arguments", ["a", 1, true, null, { k: "v" }, [1, 2], -0.5, "", "😀", { deep: { er: [1] } }]],
  ["lone surrogate strings", ["\ud800", "\udc00", "a\ud800b", "\udfff\ud800", "x\ud83d"]],
];

describe("events", () => {
  const ctx = useServer();

  describeModes("events", (mode) => {
    for (const [label, args] of CASES) {
      it(`echo: ${label}`, async () => {
        const { socket } = await connect(ctx.server, "/", { mode });
        const rec = recorder(socket, "echo");
        socket.emit("echo", ...args);
        const got = await rec.next();
        assert.deepEqual(got, args);
      });

      it(`echo-ack: ${label}`, async () => {
        const { socket } = await connect(ctx.server, "/", { mode });
        const got = await emitAck(socket, "echo-ack", ...args);
        assert.deepEqual(got, args);
      });
    }

    it("a lone surrogate comes back identical (===) via echo and echo-ack", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const lone = "\ud800";
      const rec = recorder(socket, "echo");
      socket.emit("echo", lone, { k: lone });
      const [a, b] = await rec.next();
      assert.ok(a === lone, `echo returned ${JSON.stringify(a)}`);
      assert.ok(b.k === lone);
      assert.equal(a.length, 1);
      assert.equal(a.charCodeAt(0), 0xd800);
      const [c] = await emitAck(socket, "echo-ack", lone);
      assert.ok(c === lone, `echo-ack returned ${JSON.stringify(c)}`);
    });

    it("negative zero travels as JSON 0", async () => {
      // JSON has no -0: JSON.stringify(-0) === "0", so the server receives 0.
      const { socket } = await connect(ctx.server, "/", { mode });
      const [z] = await emitAck(socket, "echo-ack", -0);
      assert.ok(Object.is(z, 0), `expected +0, got ${Object.is(z, -0) ? "-0" : z}`);
    });

    it("echo with no arguments emits the event with no arguments", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const rec = recorder(socket, "echo");
      socket.emit("echo");
      assert.deepEqual(await rec.next(), []);
    });

    it("undefined arguments are sent as null (JSON)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "echo-ack", 1, undefined, 2), [1, null, 2]);
    });

    it("preserves the order of 50 consecutive events", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const rec = recorder(socket, "echo");
      for (let i = 0; i < 50; i++) socket.emit("echo", i, `n${i}`);
      for (let i = 0; i < 50; i++) assert.deepEqual(await rec.next(), [i, `n${i}`]);
    });

    it("an unknown event is ignored and the connection stays usable", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      socket.emit("no-such-event", 1, 2, 3);
      assert.deepEqual(await emitAck(socket, "echo-ack", "still here"), ["still here"]);
      assert.equal(socket.connected, true);
    });

    if (mode.name !== "polling") {
      // Over polling a volatile packet is dropped when no GET is pending, so
      // delivery is only deterministic over websocket.
      it("volatile emit arrives over websocket", async () => {
        const { socket } = await connect(ctx.server, "/", { mode });
        assert.equal(socket.io.engine.transport.name, "websocket");
        const rec = recorder(socket, "volatile-event");
        socket.emit("volatile", "v", { n: 1 });
        assert.deepEqual(await rec.next(), ["v", { n: 1 }]);
      });
    }
  });
});
