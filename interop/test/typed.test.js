// Typed handlers as apps use them: an event with only an ack, two
// arguments and an ack, and an ack asked of a handler that has no answer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, emitAck } from "../lib/harness.js";

describe("typed", () => {
  const ctx = useServer();

  describeModes("typed", (mode) => {
    it("an event with only an ack", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "get-state"), [{ ok: true, id: socket.id }]);
      assert.deepEqual(await socket.timeout(3000).emitWithAck("get-state"), { ok: true, id: socket.id });
    });

    it("two arguments and an ack", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "say", "lobby", "hi"), ["lobby: hi"]);
      assert.deepEqual(await emitAck(socket, "say", "lobby", ""), [{ error: "empty message" }]);
      assert.deepEqual(await emitAck(socket, "say", "lobby", 5), [{ error: "invalid arguments" }]);
    });

    it("an ack asked of a handler with no answer", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "note", 7), []);
      assert.deepEqual(await emitAck(socket, "note", "x"), [{ error: "invalid arguments" }]);
    });
  });
});
