// Connection, handshake auth, socket id, transports (polling / websocket / upgrade).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, createClient, ready, emitAck, once } from "../lib/harness.js";

describe("connect", () => {
  const ctx = useServer();

  describeModes("connect", (mode) => {
    it("connects without auth: hello carries id, nsp and an empty auth object", async () => {
      const { socket, hello } = await connect(ctx.server, "/", { mode });
      assert.equal(socket.connected, true);
      assert.equal(typeof socket.id, "string");
      assert.ok(socket.id.length > 0);
      assert.deepEqual(hello, { id: socket.id, nsp: "/", auth: {} });
      assert.equal(socket.io.engine.transport.name, mode.expectTransport);
      const log = await ctx.server.waitForLog({ event: "connection", id: socket.id });
      assert.deepEqual(log, { event: "connection", nsp: "/", id: socket.id, recovered: false });
    });

    it("echoes the handshake auth exactly (nested objects, unicode, numbers)", async () => {
      const auth = {
        token: "abc",
        user: { name: "Zoë 😀 漢字 שלום", roles: ["a", "b"], meta: { n: 1.5, neg: -3, ok: true, none: null } },
        empty: {},
        list: [[], [1, [2, [3]]]],
      };
      const { socket, hello } = await connect(ctx.server, "/", { mode, auth });
      assert.equal(hello.id, socket.id);
      assert.equal(hello.nsp, "/");
      assert.deepEqual(hello.auth, auth);
    });

    it("gives every connection a distinct id and keeps the engine id separate from the socket id", async () => {
      const a = await connect(ctx.server, "/", { mode });
      const b = await connect(ctx.server, "/", { mode });
      assert.notEqual(a.socket.id, b.socket.id);
      assert.notEqual(a.socket.io.engine.id, b.socket.io.engine.id);
      // Socket.IO v5 protocol: the namespace socket id is not the engine session id
      assert.notEqual(a.socket.id, a.socket.io.engine.id);
      assert.equal(typeof a.socket.io.engine.id, "string");
    });

    it("is usable right after connect (round trip)", async () => {
      const { socket } = await connect(ctx.server, "/", { mode });
      assert.deepEqual(await emitAck(socket, "echo-ack", "ping"), ["ping"]);
    });

    if (mode.upgrade) {
      it("starts on polling and upgrades to websocket", async () => {
        const socket = createClient(ctx.server, "/", { mode });
        const engine = socket.io.engine;
        assert.equal(engine.transport.name, "polling");
        const upgraded = once(engine, "upgrade");
        await ready(socket, mode);
        const [transport] = await upgraded;
        assert.equal(transport.name, "websocket");
        assert.equal(socket.io.engine.transport.name, "websocket");
        // still functional after the upgrade
        assert.deepEqual(await emitAck(socket, "echo-ack", { after: "upgrade" }), [{ after: "upgrade" }]);
      });
    }
  });
});
