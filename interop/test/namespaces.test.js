// Namespaces: multiplexing on one engine connection, dynamic and unknown namespaces.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
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
} from "../lib/harness.js";

describe("namespaces", () => {
  const ctx = useServer();

  describeModes("namespaces", (mode) => {
    it("several namespaces (static, dynamic, with middleware) share one engine connection", async () => {
      const manager = createManager(ctx.server, { mode });
      const dyn = `/dyn-${uid()}`.toLowerCase();
      const sockets = {
        "/": manager.socket("/"),
        "/custom": manager.socket("/custom", { auth: { who: "custom" } }),
        [dyn]: manager.socket(dyn),
        "/admin": manager.socket("/admin", { auth: { role: "admin" } }),
      };
      const hellos = {};
      for (const [nsp, s] of Object.entries(sockets)) {
        hellos[nsp] = await ready(s, mode);
      }
      const engineIds = new Set(Object.values(sockets).map((s) => s.io.engine.id));
      assert.equal(engineIds.size, 1, "one engine connection");
      assert.equal(manager.engine.transport.name, mode.expectTransport);
      const ids = Object.values(sockets).map((s) => s.id);
      assert.equal(new Set(ids).size, ids.length, "distinct socket ids per namespace");
      assert.deepEqual(hellos["/"], { id: sockets["/"].id, nsp: "/", auth: {} });
      assert.deepEqual(hellos["/custom"], { id: sockets["/custom"].id, nsp: "/custom", auth: { who: "custom" } });
      assert.deepEqual(hellos[dyn], { id: sockets[dyn].id, nsp: dyn, auth: {} });
      assert.deepEqual(hellos["/admin"], { id: sockets["/admin"].id, nsp: "/admin", auth: { role: "admin" } });
      for (const [nsp, s] of Object.entries(sockets)) {
        assert.deepEqual(await emitAck(s, "echo-ack", nsp, 1), [nsp, 1]);
        const log = await ctx.server.waitForLog({ event: "connection", id: s.id });
        assert.equal(log.nsp, nsp);
      }
      // events stay in their namespace
      const rRoot = recorder(sockets["/"], "echo");
      const rCustom = recorder(sockets["/custom"], "echo");
      sockets["/custom"].emit("echo", "only custom");
      assert.deepEqual(await rCustom.next(), ["only custom"]);
      sockets["/"].emit("echo", "only root");
      assert.deepEqual(await rRoot.next(), ["only root"]);
      assert.deepEqual(rRoot.events, [["only root"]]);
      assert.deepEqual(rCustom.events, [["only custom"]]);
    });

    it("a dynamic namespace can be joined directly", async () => {
      const nsp = `/dyn-${uid()}`.toLowerCase();
      const { socket, hello } = await connect(ctx.server, nsp, { mode, auth: { x: [1] } });
      assert.deepEqual(hello, { id: socket.id, nsp, auth: { x: [1] } });
      assert.deepEqual(await emitAck(socket, "echo-ack", "dyn"), ["dyn"]);
      const rec = recorder(socket, "echo");
      socket.emit("echo", "dyn", Buffer.from([1]));
      const [s, b] = await rec.next();
      assert.equal(s, "dyn");
      assert.deepEqual(Buffer.from(b), Buffer.from([1]));
    });

    it("only the root namespace has the room handlers", async () => {
      const { socket } = await connect(ctx.server, "/custom", { mode });
      await assert.rejects(socket.timeout(300).emitWithAck("rooms"), { message: "operation has timed out" });
      assert.deepEqual(await emitAck(socket, "echo-ack", "ok"), ["ok"]);
    });

    for (const nsp of ["/nope", "/dyn-UPPER", "/dyn-", "/custom/sub", "/dyn-a_b"]) {
      it(`unknown namespace ${nsp} -> connect_error "Invalid namespace"`, async () => {
        const { socket, err } = await connectError(ctx.server, nsp, { mode });
        assert.equal(err.message, "Invalid namespace");
        assert.equal(err.data, undefined);
        assert.equal(socket.connected, false);
      });
    }

    it("an invalid namespace does not affect the other namespaces of the connection", async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      await ready(root, mode);
      const bad = manager.socket("/does-not-exist");
      const [err] = await once(bad, "connect_error");
      assert.equal(err.message, "Invalid namespace");
      assert.equal(root.connected, true);
      assert.deepEqual(await emitAck(root, "echo-ack", "still"), ["still"]);
      // joining a valid namespace afterwards still works on the same engine
      const custom = manager.socket("/custom");
      const hello = await ready(custom, mode);
      assert.equal(hello.nsp, "/custom");
      assert.equal(custom.io.engine.id, root.io.engine.id);
    });

    it("leaving one namespace keeps the others connected", async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      const custom = manager.socket("/custom");
      await ready(root, mode);
      await ready(custom, mode);
      const customId = custom.id;
      custom.disconnect();
      assert.equal(await ctx.server.disconnectReason(customId), "client namespace disconnect");
      assert.equal(root.connected, true);
      assert.deepEqual(await emitAck(root, "echo-ack", "root alive"), ["root alive"]);
      assert.equal(ctx.server.logs.some((l) => l.event === "disconnect" && l.id === root.id), false);
    });
  });
});
