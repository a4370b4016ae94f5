// Namespace middlewares: connect_error with message and data.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { useServer, describeModes, connect, connectError, createManager, ready, emitAck, once } from "../lib/harness.js";

describe("middleware", () => {
  const ctx = useServer();

  describeModes("middleware", (mode) => {
    it('"/" rejects token "reject" with message and data', async () => {
      const { socket, err } = await connectError(ctx.server, "/", { mode, auth: { token: "reject" } });
      assert.ok(err instanceof Error);
      assert.equal(err.message, "not authorized");
      assert.deepEqual(err.data, { code: 4001, reason: "bad token" });
      assert.equal(socket.connected, false);
      assert.equal(socket.id, undefined);
    });

    it('"/" accepts any other token', async () => {
      const { socket, hello } = await connect(ctx.server, "/", { mode, auth: { token: "good" } });
      assert.deepEqual(hello, { id: socket.id, nsp: "/", auth: { token: "good" } });
    });

    it('"/admin" without a role -> "forbidden" with data {role: null}', async () => {
      const { err } = await connectError(ctx.server, "/admin", { mode });
      assert.equal(err.message, "forbidden");
      assert.deepEqual(err.data, { role: null });
    });

    it('"/admin" with a wrong role -> "forbidden" with the given role', async () => {
      const { err } = await connectError(ctx.server, "/admin", { mode, auth: { role: "user" } });
      assert.equal(err.message, "forbidden");
      assert.deepEqual(err.data, { role: "user" });
      const { err: err2 } = await connectError(ctx.server, "/admin", { mode, auth: { role: { nested: ["x", 1] } } });
      assert.equal(err2.message, "forbidden");
      assert.deepEqual(err2.data, { role: { nested: ["x", 1] } });
    });

    it('"/admin" with role "admin" connects', async () => {
      const { socket, hello } = await connect(ctx.server, "/admin", { mode, auth: { role: "admin", extra: "😀" } });
      assert.deepEqual(hello, { id: socket.id, nsp: "/admin", auth: { role: "admin", extra: "😀" } });
      assert.deepEqual(await emitAck(socket, "echo-ack", "admin echo"), ["admin echo"]);
    });

    it("a rejected namespace does not break the other namespaces of the connection", async () => {
      const manager = createManager(ctx.server, { mode });
      const root = manager.socket("/");
      await ready(root, mode);
      const admin = manager.socket("/admin", { auth: { role: "guest" } });
      const [err] = await once(admin, "connect_error");
      assert.equal(err.message, "forbidden");
      assert.deepEqual(err.data, { role: "guest" });
      assert.equal(root.connected, true);
      assert.deepEqual(await emitAck(root, "echo-ack", 1), [1]);
    });

    it("no connection log line is printed for a rejected socket", async () => {
      const before = ctx.server.logs.filter((l) => l.event === "connection").length;
      await connectError(ctx.server, "/", { mode, auth: { token: "reject" } });
      // a successful connection afterwards proves the log stream has caught up
      const { socket } = await connect(ctx.server, "/", { mode });
      await ctx.server.waitForLog({ event: "connection", id: socket.id });
      const after = ctx.server.logs.filter((l) => l.event === "connection").length;
      assert.equal(after - before, 1);
    });
  });
});
