// maxHttpBufferSize (MAX_HTTP_BUFFER_SIZE=1000000): large payloads accepted,
// oversized client payloads rejected with a transport-specific close.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { useServer, describeModes, connect, emitAck, once, MODES, normalizeBinary } from "../lib/harness.js";

describe("limits", () => {
  const ctx = useServer({ env: { MAX_HTTP_BUFFER_SIZE: 1000000 } });

  describeModes("limits", (mode) => {
    it("a ~900 KB string is accepted (echo-ack)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const s = "a".repeat(899_000) + "😀 end";
      const [got] = await emitAck(socket, "echo-ack", s);
      assert.equal(got.length, s.length);
      assert.ok(got === s);
      assert.equal(socket.connected, true);
    });

    it("a 600 KB Buffer is accepted (echo-ack)", async () => {
      // (over polling binary is base64-encoded: 600 KB -> 800 KB of body)
      const { socket } = await connect(ctx.server, "/", { mode });
      const buf = randomBytes(600 * 1024);
      const [got] = await emitAck(socket, "echo-ack", buf);
      assert.deepEqual(normalizeBinary(got), buf);
    });

    it("server->client payloads are not limited by maxHttpBufferSize (big-ack 2 MB)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      const [got] = await emitAck(socket, "big-ack", 2_000_000);
      assert.equal(got.length, 2_000_000);
      assert.ok(/^x+$/.test(got));
    });

    it("a 1.2 MB payload closes the connection; other clients are unaffected", async () => {
      const bystanders = [];
      for (const m of MODES) bystanders.push((await connect(ctx.server, "/", { mode: m })).socket);
      const { socket } = await connect(ctx.server, "/", { mode });
      const id = socket.id;
      const transport = socket.io.engine.transport.name;
      const d = once(socket, "disconnect", 10000);
      socket.emit("echo", "y".repeat(1_200_000));
      const [reason, details] = await d;
      const serverReason = await ctx.server.disconnectReason(id, 10000);
      if (transport === "polling") {
        // the POST is answered with HTTP 413; the client then closes the session
        assert.equal(reason, "transport error");
        assert.equal(details.description, 413);
        assert.equal(serverReason, "transport close");
      } else {
        // the websocket is closed by the server with code 1009 (message too big)
        assert.equal(reason, "transport close");
        assert.equal(details.context.code, 1009);
        assert.equal(serverReason, "transport error");
      }
      for (const b of bystanders) {
        assert.equal(b.connected, true);
        assert.deepEqual(await emitAck(b, "echo-ack", "bystander ok"), ["bystander ok"]);
        assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === b.id), false);
      }
    });
  });
});
